/**
 * Keeps one tenant's process alive: starts the host script with only that tenant's environment,
 * waits for it to serve, restarts it with backoff when it dies, and stops it cleanly.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, statSync, truncateSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostMessage } from './protocol.js';

export type TenantProcessStatus = 'building' | 'starting' | 'running' | 'crashed' | 'stopping' | 'stopped' | 'failed';

/** Everything a tenant's process is started with. */
export interface TenantLaunch {
  tenant: string;
  tier: string;
  /** The artifact's unpacked `index.mjs`. */
  entry: string;
  /** SHA-256 of the artifact. */
  artifact: string;
  /** The tenant's data folder (`.sovereign/data/<tenant>`). */
  dataDir: string;
  /** Where the process's stdout/stderr (the runtime's JSON lines) go. */
  logFile: string;
  /** The complete environment of the process (nothing else is inherited). */
  env: Record<string, string>;
  /** Node options of the process (the file-system permissions that confine it). */
  execArgv?: string[];
  /** The Node executable (default: the one running `sovereign dev`). */
  execPath?: string;
}

/** What a supervisor reports; the dev server turns these into event lines and the live view. */
export type SupervisorEvent =
  | { kind: 'started'; tenant: string; pid: number; port: number; artifact: string; tookMs: number }
  | { kind: 'crashed'; tenant: string; code: number | null; signal: string | null; restartInMs: number; reason?: string }
  | { kind: 'stopped'; tenant: string };

/** Restart delays after consecutive crashes; a process that ran a while starts over at the first. */
export const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 10_000];
const STABLE_MS = 10_000;
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 3000;
/** A log file past this size is truncated when its process (re)starts. */
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

export class TenantProcess {
  status: TenantProcessStatus = 'stopped';
  pid: number | null = null;
  /** Loopback port of the invocation endpoint while running. */
  port: number | null = null;
  /** Loopback port of the gateway's framed invocation channel while running. */
  channelPort: number | null = null;
  dynamoPort: number | null = null;
  restarts = 0;
  /** When a crashed process will be started again (epoch ms). */
  restartAt: number | null = null;
  private child: ChildProcess | undefined;
  private crashes = 0;
  private startedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private wanted = false;
  private generation = 0;

  constructor(
    public launch: TenantLaunch,
    private readonly onEvent: (event: SupervisorEvent) => void,
    private readonly hostScript = hostScriptPath(),
  ) {}

  get tenant(): string {
    return this.launch.tenant;
  }

  /** Starts the process and resolves once it serves (or rejects when it cannot start). */
  async start(): Promise<void> {
    this.wanted = true;
    this.clearTimer();
    await this.spawn();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.restartAt = null;
  }

  private openLog(): number {
    mkdirSync(dirname(this.launch.logFile), { recursive: true });
    try {
      if (statSync(this.launch.logFile).size > MAX_LOG_BYTES) truncateSync(this.launch.logFile, 0);
    } catch {
      // no log yet
    }
    return openSync(this.launch.logFile, 'a', 0o600);
  }

  private spawn(): Promise<void> {
    const generation = ++this.generation;
    this.status = 'starting';
    this.port = null;
    this.channelPort = null;
    mkdirSync(this.launch.dataDir, { recursive: true });
    const logFd = this.openLog();
    let child: ChildProcess;
    try {
      child = fork(this.hostScript, [], {
        env: this.launch.env,
        execArgv: this.launch.execArgv ?? [],
        ...(this.launch.execPath ? { execPath: this.launch.execPath } : {}),
        stdio: ['ignore', logFd, logFd, 'ipc'],
        serialization: 'json',
      });
    } finally {
      closeSync(logFd);
    }
    this.child = child;
    this.pid = child.pid ?? null;
    this.startedAt = Date.now();
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(readyTimer);
        if (error) reject(error);
        else resolve();
      };
      const readyTimer = setTimeout(() => {
        settle(new Error(`tenant ${this.tenant} did not start within ${READY_TIMEOUT_MS / 1000} s`));
        child.kill('SIGKILL');
      }, READY_TIMEOUT_MS);
      let fatal: string | undefined;
      child.on('message', (message: HostMessage) => {
        if (generation !== this.generation) return;
        if (message.type === 'ready') {
          this.status = 'running';
          this.port = message.port;
          this.channelPort = message.channelPort;
          this.dynamoPort = message.dynamoPort;
          this.onEvent({ kind: 'started', tenant: this.tenant, pid: child.pid!, port: message.port, artifact: this.launch.artifact, tookMs: Date.now() - this.startedAt });
          settle();
        } else if (message.type === 'fatal') {
          fatal = message.message;
        }
      });
      child.on('error', (error) => {
        if (generation === this.generation) fatal ??= error.message;
      });
      child.on('exit', (code, signal) => {
        if (this.child === child) this.child = undefined;
        if (generation !== this.generation) return;
        this.port = null;
        this.channelPort = null;
        this.pid = null;
        if (!this.wanted) {
          this.status = 'stopped';
          settle(new Error(`tenant ${this.tenant} was stopped`));
          return;
        }
        if (Date.now() - this.startedAt >= STABLE_MS) this.crashes = 0;
        const delay = BACKOFF_MS[Math.min(this.crashes, BACKOFF_MS.length - 1)]!;
        this.crashes += 1;
        this.restarts += 1;
        this.status = 'crashed';
        this.restartAt = Date.now() + delay;
        this.onEvent({ kind: 'crashed', tenant: this.tenant, code, signal, restartInMs: delay, ...(fatal ? { reason: fatal } : {}) });
        settle(new Error(`tenant ${this.tenant} exited (${signal ?? `code ${code}`})${fatal ? `: ${fatal}` : ''}`));
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.restartAt = null;
          if (this.wanted && generation === this.generation) this.spawn().catch(() => undefined);
        }, delay);
      });
    });
  }

  /** Stops the process: SIGTERM, then SIGKILL after a grace period. Resolves once it exited. */
  async stop(): Promise<void> {
    this.wanted = false;
    this.clearTimer();
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.status = 'stopped';
      this.port = null;
      this.channelPort = null;
      this.pid = null;
      return;
    }
    this.status = 'stopping';
    this.port = null;
    this.channelPort = null;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
    this.status = 'stopped';
    this.pid = null;
    this.onEvent({ kind: 'stopped', tenant: this.tenant });
  }

  /** Stops, takes the new launch and starts again (an artifact or configuration change). */
  async replace(launch: TenantLaunch): Promise<void> {
    await this.stop();
    this.launch = launch;
    this.crashes = 0;
    await this.start();
  }

  /** Kills without grace (used when the dev server itself is going down hard). */
  killNow(): void {
    this.wanted = false;
    this.clearTimer();
    this.child?.kill('SIGKILL');
  }
}
