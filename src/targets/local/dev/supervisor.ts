/**
 * One tenant's function under `sovereign dev`, run the way Lambda runs it: execution environments
 * (processes of `host.ts`) started on demand, each serving one invocation at a time, as many as
 * traffic needs up to the tier's reserved concurrency; beyond it an invocation is throttled.
 * An environment idle for `idleMs` is stopped (scale to zero; `warm` keeps one). Every invocation
 * writes Lambda's `REPORT` line to the tenant's log; one that runs past the function's timeout
 * ends its environment and writes Lambda's `Task timed out after N seconds` line.
 *
 * The dev process holds the only other end of each environment's pipe (`channel.ts`): an
 * environment listens on nothing, and no environment holds another's pipe.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, statSync, truncateSync, type WriteStream } from 'node:fs';
import type { Socket } from 'node:net';
import { getPriority, setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvokeChannel, type InvocationResult } from './channel.js';
import type { HostMessage } from './protocol.js';

export type TenantFunctionStatus = 'building' | 'idle' | 'running' | 'failed' | 'stopped';

/** Everything an environment of the tenant's function is started with. */
export interface TenantLaunch {
  tenant: string;
  tier: string;
  /** The artifact's unpacked `index.mjs`. */
  entry: string;
  /** SHA-256 of the artifact. */
  artifact: string;
  /** The tenant's data folder (`.sovereign/data/<tenant>`). */
  dataDir: string;
  /** Where the environments' stdout/stderr (the runtime's JSON lines) and the platform's lines go. */
  logFile: string;
  /** The complete environment of the process (nothing else is inherited). */
  env: Record<string, string>;
  /** Node options of the process (the permissions that confine it). */
  execArgv?: string[];
  /** The Node binary environments run on (default: this process's). */
  execPath?: string;
  /** Lambda's MemorySize of the tier: the heap limits and `memoryLimitInMB`. */
  memoryMb: number;
  /** The function's timeout. */
  timeoutMs: number;
  /** The tier's reserved concurrency: environments at most. */
  concurrency: number;
}

export interface FunctionOptions {
  /** An environment idle this long is stopped. */
  idleMs: number;
  /** Keep one environment running even when idle. */
  warm: boolean;
}

/** What an invocation came to. */
export type InvokeOutcome =
  | { kind: 'result'; result: InvocationResult; awsRequestId: string }
  | { kind: 'throttled' }
  | { kind: 'timeout'; awsRequestId: string; timeoutMs: number }
  /** The environment could not start, or exited during the invocation. */
  | { kind: 'failed'; message: string };

/** What the function reports; the dev server turns these into event lines. */
export type FunctionEvent =
  | { kind: 'started'; tenant: string; pid: number; artifact: string; initMs: number; environments: number }
  | { kind: 'init-failed'; tenant: string; reason: string }
  | { kind: 'exited'; tenant: string; pid: number; code: number | null; signal: string | null; reason: 'idle' | 'timeout' | 'crash' | 'replaced' | 'stopped' };

const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 3000;
/** After an environment failed to start, invocations fail at once for this long (no start storm). */
export const INIT_RETRY_MS = 1000;
/** How long a platform line may wait to be written with others. */
export const LOG_FLUSH_MS = 50;
/** A log file past this size is truncated when the function is (re)created. */
const MAX_LOG_BYTES = 64 * 1024 * 1024;

/** The compiled host script; tests running from `src/` use the built one in `dist/`. */
export function hostScriptPath(): string {
  const here = fileURLToPath(import.meta.url);
  const sibling = join(dirname(here), 'host.js');
  if (!here.endsWith('.ts') && existsSync(sibling)) return sibling;
  const built = join(dirname(here), '..', '..', '..', '..', 'dist', 'targets', 'local', 'dev', 'host.js');
  if (existsSync(built)) return built;
  throw new Error(`the tenant host script is missing (looked for ${sibling} and ${built}); build the package first`);
}

/** The heap limits Lambda's Node bootstrap derives from MemorySize: a tenth for the new space, the rest old. */
export function heapArgs(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [`--max-semi-space-size=${Math.max(1, Math.floor(newSpace / 2))}`, `--max-old-space-size=${memoryMb - newSpace}`];
}

/**
 * The CPU priority (nice) of a tenant's environment in slot `slot` (0 for its first): Lambda gives
 * each environment a share of its own, while dev's share one machine. Environment k runs at about
 * 1/(k+1) of the weight of the first (each nice step is 1.25× less weight), so a tenant with many
 * busy environments takes about ln(n) shares of the cores, not n, from tenants with one.
 */
export function environmentNice(slot: number): number {
  return Math.min(19, Math.round(Math.log(slot + 1) / Math.log(1.25)));
}

/** Lambda's `REPORT` line, after the time it was written (CloudWatch shows an event's time beside its text). */
export function reportLine(fields: { awsRequestId: string; durationMs: number; memoryMb: number; maxMemoryMb: number; initMs?: number | undefined; status?: 'timeout' | 'error' }): string {
  const parts = [
    `${new Date().toISOString()} REPORT RequestId: ${fields.awsRequestId}`,
    `Duration: ${fields.durationMs.toFixed(2)} ms`,
    `Billed Duration: ${Math.max(1, Math.ceil(fields.durationMs))} ms`,
    `Memory Size: ${fields.memoryMb} MB`,
    `Max Memory Used: ${fields.maxMemoryMb} MB`,
  ];
  if (fields.initMs !== undefined) parts.push(`Init Duration: ${fields.initMs.toFixed(2)} ms`);
  if (fields.status !== undefined) parts.push(`Status: ${fields.status}`);
  return `${parts.join('\t')}\t\n`;
}

class Environment {
  busy = false;
  /** Its slot among the tenant's environments (the lowest free one when it started): see {@link environmentNice}. */
  slot = 0;
  lastUsedAt = Date.now();
  /** Set once ready: how long its init took (Lambda's `Init Duration`). */
  initMs: number | undefined;
  readonly channel: InvokeChannel;
  readonly ready: Promise<void>;
  exited = false;
  /** Stop once the current invocation is over (a newer artifact or configuration took over). */
  retiring = false;
  /** Whether a REPORT line carried its Init Duration already (only the first one does). */
  initReported = false;

  constructor(
    readonly child: ChildProcess,
    onExit: (code: number | null, signal: string | null) => void,
  ) {
    this.channel = new InvokeChannel(child.stdio[3] as Socket);
    const started = performance.now();
    this.ready = new Promise<void>((resolve, reject) => {
      let fatal: string | undefined;
      const timer = setTimeout(() => {
        reject(new Error(`the environment did not start within ${READY_TIMEOUT_MS / 1000} s`));
        child.kill('SIGKILL');
      }, READY_TIMEOUT_MS);
      child.on('message', (message: HostMessage) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          this.initMs = performance.now() - started;
          resolve();
        } else if (message.type === 'fatal') fatal = message.message;
      });
      child.on('error', (error) => (fatal ??= error.message));
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        this.exited = true;
        this.channel.close();
        reject(new Error(fatal ?? `the environment exited during init (${signal ?? `code ${code}`})`));
        onExit(code, signal);
      });
    });
    this.ready.catch(() => undefined);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves once it exited. */
  stop(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const kill = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
      this.child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      this.child.kill('SIGTERM');
    });
  }
}

export class TenantFunction {
  private readonly environments = new Set<Environment>();
  /** Environments started and not yet ready count against the concurrency too. */
  private stopped = false;
  private initFailure: { at: number; message: string } | undefined;
  private log: WriteStream;
  /** Why each environment exited (set before it is stopped on purpose). */
  private readonly exitReasons = new WeakMap<Environment, 'idle' | 'timeout' | 'replaced' | 'stopped'>();

  constructor(
    public launch: TenantLaunch,
    private readonly options: FunctionOptions,
    private readonly onEvent: (event: FunctionEvent) => void,
    private readonly hostScript = hostScriptPath(),
  ) {
    this.log = this.openLog();
  }

  get tenant(): string {
    return this.launch.tenant;
  }

  /** `idle` with no environment, `running` with one or more, `failed` while starts fail. */
  get status(): TenantFunctionStatus {
    if (this.stopped) return 'stopped';
    if (this.environments.size > 0) return 'running';
    if (this.initFailure !== undefined && Date.now() - this.initFailure.at < INIT_RETRY_MS * 10) return 'failed';
    return 'idle';
  }

  /** Pids of the running environments (oldest first). */
  get pids(): number[] {
    return [...this.environments].filter((e) => !e.exited).map((e) => e.pid);
  }

  private openLog(): WriteStream {
    mkdirSync(dirname(this.launch.logFile), { recursive: true });
    try {
      if (statSync(this.launch.logFile).size > MAX_LOG_BYTES) truncateSync(this.launch.logFile, 0);
    } catch {
      // no log yet
    }
    const stream = createWriteStream(this.launch.logFile, { flags: 'a', mode: 0o600 });
    stream.on('error', () => undefined);
    return stream;
  }

  /** The lowest slot no running environment holds. */
  private freeSlot(): number {
    const taken = new Set([...this.environments].map((e) => e.slot));
    let slot = 0;
    while (taken.has(slot)) slot += 1;
    return slot;
  }

  /** Starts one environment now (`--warm`), resolving once it is ready or has failed. */
  async prewarm(): Promise<void> {
    if (this.stopped || this.environments.size > 0) return;
    await this.spawn(false).ready.catch(() => undefined);
  }

  /**
   * Runs one invocation in an idle environment, a new one, or throttles it. `background` (dev's
   * own polls) only takes an idle environment, and neither keeps it alive nor writes a REPORT line.
   */
  async invoke(eventJson: string, options: { background?: boolean } = {}): Promise<InvokeOutcome> {
    if (this.stopped) return { kind: 'failed', message: 'the function is stopped' };
    let environment = this.idleEnvironment();
    if (options.background) {
      if (environment === undefined) return { kind: 'failed', message: 'no idle environment' };
      return this.run(environment, eventJson, true);
    }
    if (environment === undefined) {
      if (this.environments.size >= this.launch.concurrency) {
        return { kind: 'throttled' };
      }
      const failure = this.initFailure;
      if (failure !== undefined && Date.now() - failure.at < INIT_RETRY_MS) return { kind: 'failed', message: failure.message };
      environment = this.spawn(true);
      try {
        await environment.ready;
      } catch (error) {
        return { kind: 'failed', message: (error as Error).message };
      }
    }
    return this.run(environment, eventJson);
  }

  /** The idle environment in the lowest slot (slots are distinct), so the extra environments go idle and are reaped first. */
  private idleEnvironment(): Environment | undefined {
    let best: Environment | undefined;
    for (const environment of this.environments) {
      if (environment.busy || environment.exited || environment.retiring || environment.initMs === undefined) continue;
      if (best === undefined || environment.slot < best.slot) best = environment;
    }
    if (best !== undefined) best.busy = true;
    return best;
  }

  /**
   * Starts an environment. One started for an invocation is busy from now until that invocation
   * ends; one started ahead (`--warm`) is idle once ready.
   */
  private spawn(forInvocation: boolean): Environment {
    const launch = this.launch;
    mkdirSync(launch.dataDir, { recursive: true });
    const logFd = openSync(launch.logFile, 'a', 0o600);
    let child: ChildProcess;
    try {
      child = fork(this.hostScript, [], {
        env: launch.env,
        execArgv: [...(launch.execArgv ?? []), ...heapArgs(launch.memoryMb)],
        ...(launch.execPath ? { execPath: launch.execPath } : {}),
        stdio: ['ignore', logFd, logFd, 'pipe', 'ipc'],
        serialization: 'json',
      });
    } finally {
      closeSync(logFd);
    }
    const environment: Environment = new Environment(child, (code, signal) => {
      this.environments.delete(environment);
      const reason = this.exitReasons.get(environment) ?? 'crash';
      this.onEvent({ kind: 'exited', tenant: this.tenant, pid: child.pid ?? 0, code, signal, reason });
    });
    environment.slot = this.freeSlot();
    if (environment.slot > 0 && child.pid !== undefined) {
      try {
        // Relative to dev's own priority (it may run under `nice` itself).
        setPriority(child.pid, Math.min(19, getPriority() + environmentNice(environment.slot)));
      } catch {
        // it exited already, or the system refuses: it runs at dev's priority
      }
    }
    this.environments.add(environment);
    environment.busy = forInvocation;
    environment.ready.then(
      () => {
        this.initFailure = undefined;
        if (!forInvocation) environment.lastUsedAt = Date.now();
        this.onEvent({ kind: 'started', tenant: this.tenant, pid: environment.pid, artifact: launch.artifact, initMs: Math.round(environment.initMs ?? 0), environments: this.environments.size });
      },
      (error: Error) => {
        this.initFailure = { at: Date.now(), message: error.message };
        this.onEvent({ kind: 'init-failed', tenant: this.tenant, reason: error.message });
      },
    );
    return environment;
  }

  private async run(environment: Environment, eventJson: string, background = false): Promise<InvokeOutcome> {
    const awsRequestId = randomUUID();
    const lastUsedAt = environment.lastUsedAt;
    const { timeoutMs, memoryMb } = this.launch;
    const initMs = environment.initMs;
    const first = !background && !environment.initReported;
    if (!background) environment.initReported = true;
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    let settled: InvocationResult | 'timeout' | Error;
    try {
      settled = await Promise.race([environment.channel.invoke(awsRequestId, eventJson, timeoutMs), timedOut]);
    } catch (error) {
      settled = error as Error;
    } finally {
      clearTimeout(timer);
    }
    const durationMs = performance.now() - started;
    const init = first ? initMs : undefined;
    if (settled === 'timeout') {
      // Lambda ends an environment whose invocation timed out; the next one starts afresh.
      this.exitReasons.set(environment, 'timeout');
      environment.child.kill('SIGKILL');
      this.write(`${new Date().toISOString()} ${awsRequestId} Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds\n\n`);
      this.write(reportLine({ awsRequestId, durationMs: timeoutMs, memoryMb, maxMemoryMb: 0, initMs: init, status: 'timeout' }));
      return { kind: 'timeout', awsRequestId, timeoutMs };
    }
    if (settled instanceof Error) {
      this.write(`${new Date().toISOString()} ${awsRequestId} Error: Runtime exited without providing a reason\n`);
      this.write(reportLine({ awsRequestId, durationMs, memoryMb, maxMemoryMb: 0, initMs: init, status: 'error' }));
      return { kind: 'failed', message: 'the environment exited during the invocation' };
    }
    if (!background) this.write(reportLine({ awsRequestId, durationMs, memoryMb, maxMemoryMb: Math.round((settled.maxRssKiB ?? 0) / 1024), initMs: init }));
    environment.busy = false;
    environment.lastUsedAt = background ? lastUsedAt : Date.now();
    if (environment.retiring) this.retire(environment, 'replaced');
    return { kind: 'result', result: settled, awsRequestId };
  }


  /**
   * Platform lines are written in batches (a write per invocation would cost the gateway a
   * thread-pool round trip each): at most {@link LOG_FLUSH_MS} later, or once 64 KiB are pending.
   */
  private write(line: string): void {
    this.pending += line;
    if (this.pending.length >= 64 * 1024) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), LOG_FLUSH_MS);
  }

  private pending = '';
  private flushTimer: NodeJS.Timeout | undefined;

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending === '') return;
    this.log.write(this.pending);
    this.pending = '';
  }

  /**
   * Stops environments idle for longer than `idleMs` (keeping one when `warm`); called by the dev
   * server's sweep. Returns how many it stopped.
   */
  reap(now = Date.now()): number {
    const live = [...this.environments].filter((e) => !e.exited && !e.retiring);
    const idle = live.filter((e) => !e.busy && e.initMs !== undefined && now - e.lastUsedAt >= this.options.idleMs);
    // The most recently used stays when one must.
    idle.sort((a, b) => b.lastUsedAt - a.lastUsedAt);
    const keep = this.options.warm && idle.length === live.length ? 1 : 0;
    for (const environment of idle.slice(keep)) this.retire(environment, 'idle');
    return Math.max(0, idle.length - keep);
  }

  private retire(environment: Environment, reason: 'idle' | 'replaced' | 'stopped'): void {
    environment.retiring = true;
    if (environment.busy) return;
    this.exitReasons.set(environment, reason);
    void environment.stop();
  }

  /** Takes a new artifact or configuration: environments finish what they run, then stop; new ones run the new launch. */
  async replace(launch: TenantLaunch): Promise<void> {
    this.launch = launch;
    this.initFailure = undefined;
    if (launch.logFile !== this.log.path) {
      this.flush();
      this.log.end();
      this.log = this.openLog();
    }
    const old = [...this.environments];
    for (const environment of old) this.retire(environment, 'replaced');
    if (this.options.warm) await this.prewarm();
  }

  /** Stops every environment; invocations in flight fail. Safe to call again. */
  async stop(): Promise<void> {
    const first = !this.stopped;
    this.stopped = true;
    await Promise.all(
      [...this.environments].map((environment) => {
        this.exitReasons.set(environment, 'stopped');
        return environment.stop();
      }),
    );
    if (!first) return;
    this.flush();
    await new Promise<void>((resolve) => this.log.end(resolve));
  }

  /** Kills without grace (the dev process itself is going down hard). */
  killNow(): void {
    this.stopped = true;
    for (const environment of this.environments) environment.child.kill('SIGKILL');
  }
}
