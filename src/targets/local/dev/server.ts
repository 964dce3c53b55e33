/**
 * `sovereign dev`: each tenant's function behind one loopback gateway, its execution environments
 * started on demand and stopped when idle (`supervisor.ts`), kept in step with the project while
 * it runs (tenants created or destroyed, extensions edited).
 *
 * While it runs, `.sovereign/dev.json` tells other commands where it is ({@link DevStateFile});
 * it is written atomically on every change and removed on shutdown.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { conflict, ExitCode, notFound, UserError } from '../../../errors.js';
import { writeFileAtomic } from '../../../fs/atomic.js';
import type { Project } from '../../../project.js';
import type { TenantRecord } from '../../../state/registry.js';
import { listTenants, readTenant } from '../registry.js';
import { Gateway, SERVED, type GatewayRoute, type GatewayTenant } from './gateway.js';
import { chooseTenantNode, launchFingerprint, prepareLaunch, tenantDataPaths, tenantRuntimeConfig, type BuiltArtifact, type TenantNode } from './launch.js';
import { ArtifactBuilds, BuildsClosedError } from './builds.js';
import { DataPlane, dataTenantFor, type TenantCredentials } from './data-plane.js';
import { OFFLINE_ACCOUNT, OFFLINE_REGION } from '../../../isolation/inputs.js';
import { DEV_ISSUER_PATH, devIssuer, type AuthSettings, type TenantAuth } from '../../../contract/auth.js';
import { STAGE } from '../../../contract/names.js';
import { JwtAuthorizer, RouteTable, configuredJwksUri, issuerKeys, type IssuerKeys } from './authorizer.js';
import { isAlive, readDevState, type DevStateFile } from './state-file.js';
import { secretCacheFromHealth } from './stats.js';
import { TenantFunction, type FunctionEvent } from './supervisor.js';
import { bucketForTier, type TokenBucket } from './throttle.js';
import { DevScheduler, devSchedulerClock, type DevSchedule } from './scheduler.js';
import { DevConsole } from './console/routes.js';
import type { ConsoleTenant } from './console/data.js';

/** An event line of the dev server (`tenant acme started pid=…`). */
export interface DevEvent {
  kind: string;
  fields: Record<string, unknown>;
}

export interface DevServerOptions {
  project: Project;
  /** Gateway port; 0 picks a free one. */
  port: number;
  /** Only these tenants (default: every provisioning, active or suspended tenant, and new ones as they appear). */
  tenants?: string[];
  /** Extra gateway routes (e.g. the billing webhook). */
  routes?: GatewayRoute[];
  /** Apply tier throttling (default true). */
  throttle?: boolean;
  /** Watch `.sovereign/tenants/` and the extensions folder (default true). */
  watch?: boolean;
  onEvent?: (event: DevEvent) => void;
  /** Environment the tenant processes' tuning variables are read from (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** An execution environment idle this long is stopped (default {@link DEFAULT_IDLE_MS}). */
  idleMs?: number;
  /** Keep one environment per tenant running even when idle (and start it with `dev`). */
  warm?: boolean;
}

/** How long an idle execution environment is kept (Lambda keeps them minutes, not promised). */
export const DEFAULT_IDLE_MS = 5 * 60_000;
/** Environments `--warm` starts at once. */
const WARM_STARTS = 2;
/** How often idle environments are looked for. */
const REAP_MS = 1000;

/**
 * Statuses of a registered tenant whose process `dev` runs. `dev` builds from the working tree, so
 * a tenant can be tried before its first deploy (`provisioning`).
 */
const RUNNABLE = new Set(['provisioning', 'active', 'suspended']);
const POLL_MS = 400;
const HEALTH_POLL_MS = 5000;

interface Entry {
  record: TenantRecord;
  fingerprint: string;
  process: TenantFunction | undefined;
  /** Status before the function exists (building, failed). */
  status: string;
  bucket: TokenBucket;
  /** A rebuild is under way; changes queue behind it. */
  busy: Promise<void>;
  extensions: string[];
  logFile: string;
  /** The routes of the artifact the process runs (set just before it starts it). */
  routes: RouteTable | undefined;
  auth: TenantAuth;
  /** Environments that crashed or timed out. */
  restarts: number;
  /** Its DynamoDB credentials, issued once and kept across restarts; revoked when it goes. */
  credentials?: TenantCredentials;
  /** The schedules dev fires for it (from the artifact its process runs). */
  schedules: DevSchedule[];
}

/**
 * Signature of a folder tree: every file's path, size and mtime. Read asynchronously (the thread
 * pool does the syscalls), so a poll never stalls the gateway's event loop.
 */
async function treeSignature(dir: string): Promise<string> {
  const parts: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(d)).sort();
    } catch {
      return;
    }
    const stats = await Promise.all(
      names
        .filter((name) => name !== 'node_modules' && !name.startsWith('.'))
        .map(async (name) => {
          const path = join(d, name);
          try {
            return { path, stat: await stat(path) };
          } catch {
            return undefined; // removed while walking
          }
        }),
    );
    for (const entry of stats) {
      if (entry === undefined) continue;
      if (entry.stat.isDirectory()) await walk(entry.path);
      else parts.push(`${relative(dir, entry.path)}:${entry.stat.size}:${entry.stat.mtimeMs}`);
    }
  };
  await walk(dir);
  return parts.join('|');
}

/** The gateway's port could not be bound: the user's environment, said as such (exit 4 when taken). */
function portRefused(error: unknown, port: number): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return conflict(`port ${port} on 127.0.0.1 is already in use by another process`, `stop that process, or pick another port with --port <n> (--port 0 picks a free one; "dev": { "port": … } in sovereign.config.json sets the default)`);
  }
  if (code === 'EACCES') {
    return new UserError(`port ${port} needs privileges this user does not have`, { exitCode: ExitCode.denied, hint: 'use a port above 1023 with --port <n> (--port 0 picks a free one)', cause: error });
  }
  return error;
}

/** Runs `task` every `ms` after the previous run finished (never two at once); returns a stop function. */
function every(ms: number, task: () => Promise<void>): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      task().catch(() => undefined).finally(schedule);
    }, ms);
    timer.unref();
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

export class DevServer {
  readonly gateway: Gateway;
  /** Every tenant's DynamoDB, signed and checked against the tenant's own policy. */
  readonly dataPlane: DataPlane;
  private readonly entries = new Map<string, Entry>();
  /** Stops the periodic polls. */
  private pollers: Array<() => void> = [];
  private stopping = false;
  private tenantSignature = '';
  private extensionSignatures = new Map<string, string>();
  private stateWrite: NodeJS.Timeout | undefined;
  private readonly startedAt = new Date();
  /** The dev issuer's JWKS document and the keys of every issuer, from {@link DevServer.start}. */
  private devJwks: { keys: Array<Record<string, unknown>> } = { keys: [] };
  private issuerKeys: IssuerKeys | undefined;
  /** Fires the running tenants' schedules (`scheduler.ts`). */
  readonly scheduler: DevScheduler;
  /** Every tenant's artifact, built once per distinct input (see builds.ts). */
  readonly builds = new ArtifactBuilds<BuiltArtifact>();
  /** The Node tenant processes run on, chosen in {@link DevServer.start}. */
  node: TenantNode | undefined;
  /**
   * The credential of dev's own endpoints (`/_sovereign/dev/*`): made here, written only into
   * `dev.json` (mode 0600), which no tenant process may read.
   */
  private readonly devToken = randomBytes(32).toString('base64url');
  /** The read-only console at `/_sovereign/console`, opened with a token of its own (see `console/guard.ts`). */
  readonly console: DevConsole;

  constructor(private readonly options: DevServerOptions) {
    this.console = new DevConsole({
      token: randomBytes(32).toString('base64url'),
      port: () => this.port,
      source: { project: options.project, tenants: () => this.consoleTenants() },
    });
    this.dataPlane = new DataPlane({
      region: options.project.config.region ?? OFFLINE_REGION,
      account: OFFLINE_ACCOUNT,
      onDenied: (denied) => this.emit('data denied', denied),
    });
    this.gateway = new Gateway({
      port: options.port,
      devToken: this.devToken,
      console: this.console,
      throttle: options.throttle,
      routes: [...(options.routes ?? []), ...this.devIssuerRoutes()],
      authorizer: new JwtAuthorizer({ keys: (issuer) => this.issuerKeys?.(issuer) }),
      tenant: (id) => this.gatewayTenant(id),
      tenants: () => [...this.entries.keys()].sort().map((id) => this.gatewayTenant(id)!),
    });
    this.scheduler = new DevScheduler({
      // Suspended in the registry: no schedule fires, whatever the tenant's own (writable) marker says.
      tenants: () => [...this.entries].filter(([id, entry]) => entry.record.status !== 'suspended' && SERVED.has(this.gatewayTenant(id)?.status ?? '')).map(([id, entry]) => ({ id, schedules: entry.schedules })),
      invoke: (id, event) => this.gateway.invokeEvent(this.gatewayTenant(id)!, event),
      emit: (kind, fields) => this.emit(kind, fields),
      clock: devSchedulerClock(options.env ?? process.env),
    });
  }

  get project(): Project {
    return this.options.project;
  }

  get port(): number {
    return this.gateway.port;
  }

  /**
   * The dev issuer's discovery document and JWKS on the gateway's own host: one issuer per stage
   * (`?stage=`, default the project's stage), one key for all of them.
   */
  private devIssuerRoutes(): GatewayRoute[] {
    return [
      {
        method: 'GET',
        path: `${DEV_ISSUER_PATH}/.well-known/openid-configuration`,
        maxBodyBytes: 0,
        handler: ({ query, headers }) => {
          const stage = query.get('stage') ?? this.project.config.stage ?? 'dev';
          if (!STAGE.test(stage)) return { statusCode: 404, body: { message: `"${stage.slice(0, 12)}" is not a stage name` } };
          const base = `http://${headers.host ?? `localhost:${this.port}`}${DEV_ISSUER_PATH}`;
          return {
            statusCode: 200,
            body: { issuer: devIssuer(this.project.config.project, stage), jwks_uri: `${base}/jwks.json`, id_token_signing_alg_values_supported: ['RS256'], subject_types_supported: ['public'], response_types_supported: ['token'] },
          };
        },
      },
      { method: 'GET', path: `${DEV_ISSUER_PATH}/jwks.json`, maxBodyBytes: 0, handler: () => ({ statusCode: 200, body: this.devJwks }) },
    ];
  }

  private emit(kind: string, fields: Record<string, unknown> = {}): void {
    this.options.onEvent?.({ kind, fields });
  }

  private gatewayTenant(id: string): GatewayTenant | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    const p = entry.process;
    // While a rebuild runs (or after one failed) the previous artifact keeps serving.
    const status = p ? p.status : entry.status;
    return {
      id,
      status,
      suspended: entry.record.status === 'suspended',
      pids: p?.pids ?? [],
      restarts: entry.restarts,
      invoke: (eventJson, options) => (p ? p.invoke(eventJson, options) : Promise.resolve({ kind: 'failed', message: `tenant "${id}" has no artifact` })),
      bucket: entry.bucket,
      logFile: entry.logFile,
      routes: entry.routes,
      auth: entry.auth,
    };
  }

  /** The served tenants as the console shows them. */
  private consoleTenants(): ConsoleTenant[] {
    return this.tenantIds().map((id) => {
      const entry = this.entries.get(id)!;
      const t = this.gatewayTenant(id)!;
      return { record: entry.record, process: t.status, environments: t.pids.length, restarts: t.restarts, stats: this.gateway.statsFor(id), logFile: entry.logFile };
    });
  }

  /** Tenant ids served now, sorted. */
  tenantIds(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** The functions, for the view and tests. */
  process(id: string): TenantFunction | undefined {
    return this.entries.get(id)?.process;
  }

  /** The status the gateway sees for each tenant. */
  statuses(): Array<ReturnType<DevServer['gatewayTenant']> & object> {
    return this.tenantIds().map((id) => this.gatewayTenant(id)!);
  }

  private wanted(record: TenantRecord): boolean {
    if (!RUNNABLE.has(record.status)) return false;
    return this.options.tenants === undefined || this.options.tenants.includes(record.id);
  }

  /** Starts the gateway and every tenant; resolves once each tenant is running or has failed. */
  async start(): Promise<void> {
    this.node = chooseTenantNode(this.project, this.options.env ?? process.env);
    const records = listTenants(this.project.paths.tenants);
    for (const id of this.options.tenants ?? []) {
      if (!records.some((r) => r.id === id)) throw notFound(`tenant "${id}" does not exist`, 'list tenants with `sovereign tenant list`');
    }
    const previous = readDevState(this.project.paths.devState);
    if (previous && previous.pid !== process.pid && isAlive(previous.pid)) {
      throw conflict(`sovereign dev is already running for this project (pid ${previous.pid}, port ${previous.port})`, `stop it first, or use its gateway at http://localhost:${previous.port}/`);
    }
    await this.loadIssuers();
    if (this.stopping) return;
    await this.dataPlane.listen();
    try {
      await this.gateway.listen();
    } catch (error) {
      throw portRefused(error, this.options.port);
    }
    // stop() ran while the gateway was opening: it closed nothing yet.
    if (this.stopping) return void (await this.gateway.close());
    this.writeState();
    this.tenantSignature = await this.readTenantSignature();
    await Promise.all(records.filter((r) => this.wanted(r)).map((r) => this.addTenant(r)));
    if (this.stopping) return;
    // Current before anyone is told the server is ready.
    this.writeState();
    if (this.options.watch !== false) {
      for (const name of await this.extensionNames()) this.extensionSignatures.set(name, await treeSignature(join(this.project.paths.extensions, name)));
      this.pollers.push(every(POLL_MS, () => this.pollTenants()));
      this.pollers.push(every(POLL_MS * 2, () => this.pollExtensions()));
    }
    this.pollers.push(every(HEALTH_POLL_MS, () => this.pollHealth()));
    this.pollers.push(every(REAP_MS, async () => this.reap()));
    this.scheduler.start();
  }

  /** Stops the environments idle for longer than the idle time. */
  private reap(): void {
    for (const entry of this.entries.values()) entry.process?.reap();
  }

  /** The dev issuer's key (created on first use) and the keys of the issuers the config names. */
  private async loadIssuers(): Promise<void> {
    const { loadOrCreateDevIssuerKey, devJwks } = await import('../../../auth/dev-issuer.js');
    this.devJwks = await devJwks(loadOrCreateDevIssuerKey(this.project.paths.keys));
    const settings = this.project.config.auth as AuthSettings | undefined;
    const prefix = devIssuer(this.project.config.project, '');
    const jwksUri = configuredJwksUri(settings, () => this.entries.keys());
    this.issuerKeys = await issuerKeys({ dev: { isDevIssuer: (issuer) => issuer.startsWith(prefix), jwks: this.devJwks }, jwksUri });
  }

  private onFunctionEvent(event: FunctionEvent): void {
    const entry = this.entries.get(event.tenant);
    if (event.kind === 'started') {
      const record = entry?.record;
      const confined = (entry?.process?.launch.execArgv?.length ?? 0) > 0;
      const deployed = record?.deploys?.filter((d) => d.target === 'local' && d.outcome === 'success').at(-1)?.artifact;
      this.emit('environment started', {
        tenant: event.tenant,
        pid: event.pid,
        init: `${event.initMs}ms`,
        environments: event.environments,
        artifact: event.artifact.slice(0, 12),
        deployed: deployed === undefined ? 'never' : deployed === event.artifact ? 'same' : 'differs',
        confined: confined ? 'yes' : 'no',
      });
    } else if (event.kind === 'init-failed') {
      this.emit('environment failed', { tenant: event.tenant, reason: event.reason });
    } else if (!this.stopping) {
      if (event.reason === 'crash' || event.reason === 'timeout') {
        if (entry) entry.restarts += 1;
        this.emit(event.reason === 'crash' ? 'environment crashed' : 'environment timed out', { tenant: event.tenant, pid: event.pid, code: event.code ?? undefined, signal: event.signal ?? undefined });
      } else this.emit('environment stopped', { tenant: event.tenant, pid: event.pid, reason: event.reason });
    }
    this.scheduleStateWrite();
  }

  private async addTenant(record: TenantRecord): Promise<void> {
    const entry: Entry = {
      record,
      fingerprint: launchFingerprint(this.project, record),
      process: undefined,
      status: 'building',
      bucket: bucketForTier(record.tier),
      busy: Promise.resolve(),
      extensions: [...record.extensions],
      logFile: tenantDataPaths(this.project, record.id).log,
      routes: undefined,
      auth: this.callerRules(record),
      restarts: 0,
      schedules: [],
    };
    this.entries.set(record.id, entry);
    entry.busy = this.launch(entry);
    await entry.busy;
  }

  /** Builds the tenant's artifact and gives its function the new launch (environments start on demand). */
  private async launch(entry: Entry): Promise<void> {
    const id = entry.record.id;
    const previous = entry.process?.launch;
    entry.status = 'building';
    let launch;
    try {
      if (this.stopping) return;
      entry.credentials ??= this.dataPlane.issueCredentials(id);
      launch = await prepareLaunch(this.project, entry.record, this.options.env, { builds: this.builds, node: this.node, data: { endpoint: this.dataPlane.endpoint, credentials: entry.credentials } });
      // The policy of the extensions just built, before an environment that runs them starts.
      this.dataPlane.register(dataTenantFor(this.project, entry.record, launch.extensions, { account: OFFLINE_ACCOUNT, region: this.project.config.region ?? OFFLINE_REGION }));
    } catch (error) {
      if (error instanceof BuildsClosedError || this.stopping) return;
      entry.status = entry.process ? 'running' : 'failed';
      this.emit('tenant failed', { tenant: id, reason: (error as Error).message.split('\n')[0] });
      this.scheduleStateWrite();
      return;
    }
    if (this.stopping || this.entries.get(id) !== entry) return;
    // Before an environment runs the new artifact: a route it made public is refused for a moment
    // rather than one it made private passing unverified.
    entry.routes = new RouteTable(launch.routes);
    entry.schedules = launch.schedules;
    const options = { idleMs: this.options.idleMs ?? DEFAULT_IDLE_MS, warm: this.options.warm ?? false };
    if (!entry.process) {
      entry.process = new TenantFunction(launch, options, (e) => this.onFunctionEvent(e));
      this.emit('tenant ready', { tenant: id, artifact: launch.artifact.slice(0, 12), concurrency: launch.concurrency, memory: `${launch.memoryMb}MB`, timeout: `${launch.timeoutMs / 1000}s` });
      entry.status = 'running';
      if (options.warm) await this.warmStart(entry.process);
    } else if (launch.artifact !== previous?.artifact || JSON.stringify(launch.env) !== JSON.stringify(previous.env) || launch.concurrency !== previous.concurrency) {
      this.emit('tenant updated', { tenant: id, artifact: launch.artifact.slice(0, 12) });
      entry.status = 'running';
      await entry.process.replace(launch);
    } else entry.status = 'running';
    this.scheduleStateWrite();
  }

  /** The tenant's caller rules, as its runtime gets them under `dev` (the dev issuer trusted too). */
  private callerRules(record: TenantRecord): TenantAuth {
    return tenantRuntimeConfig(this.project, record, { dev: true }).auth!;
  }

  private async removeTenant(id: string, reason: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.gateway.stats.delete(id);
    await entry.busy.catch(() => undefined);
    await entry.process?.stop();
    await this.dataPlane.removeTenant(id);
    this.emit('tenant removed', { tenant: id, reason });
    this.scheduleStateWrite();
  }

  private async readTenantSignature(): Promise<string> {
    const dir = this.project.paths.tenants;
    try {
      const names = (await readdir(dir)).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
      const stats = await Promise.all(names.map((n) => stat(join(dir, n))));
      return names.map((n, i) => `${n}:${stats[i]!.size}:${stats[i]!.mtimeMs}`).join('|');
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync(dir) ? '' : this.tenantSignature;
    }
  }

  /** Reacts to `tenant create`/`destroy` and to changes of a tenant's record. */
  private async pollTenants(): Promise<void> {
    if (this.stopping) return;
    const signature = await this.readTenantSignature();
    if (this.stopping || signature === this.tenantSignature) return;
    this.tenantSignature = signature;
    let records: TenantRecord[];
    try {
      records = listTenants(this.project.paths.tenants);
    } catch {
      return; // a record half-written by another command; the next poll sees it whole
    }
    const seen = new Set<string>();
    for (const record of records) {
      if (!this.wanted(record)) continue;
      seen.add(record.id);
      const entry = this.entries.get(record.id);
      if (!entry) {
        this.emit('tenant added', { tenant: record.id });
        void this.addTenant(record);
        continue;
      }
      const fingerprint = launchFingerprint(this.project, record);
      if (record.tier !== entry.record.tier) entry.bucket = bucketForTier(record.tier);
      entry.record = record;
      // Kept when unchanged: verified tokens are remembered per rules object.
      const auth = this.callerRules(record);
      if (JSON.stringify(auth) !== JSON.stringify(entry.auth)) entry.auth = auth;
      entry.extensions = [...record.extensions];
      if (fingerprint !== entry.fingerprint) {
        entry.fingerprint = fingerprint;
        entry.busy = entry.busy.then(() => this.launch(entry));
      }
    }
    for (const id of [...this.entries.keys()]) {
      if (!seen.has(id)) {
        const record = readTenant(this.project.paths.tenants, id);
        void this.removeTenant(id, record ? `status ${record.status}` : 'destroyed');
      }
    }
  }

  private async extensionNames(): Promise<string[]> {
    try {
      const entries = await readdir(this.project.paths.extensions, { withFileTypes: true });
      return entries.filter((e) => !e.name.startsWith('.') && e.isDirectory()).map((e) => e.name);
    } catch {
      return [];
    }
  }

  /** Rebuilds and restarts only the tenants that run an edited extension. */
  private async pollExtensions(): Promise<void> {
    if (this.stopping) return;
    const changed: string[] = [];
    const names = new Set(await this.extensionNames());
    for (const name of names) {
      const signature = await treeSignature(join(this.project.paths.extensions, name));
      if (this.stopping) return;
      if (this.extensionSignatures.get(name) !== signature) {
        // A folder that appears counts too: a tenant that failed for want of it starts now.
        changed.push(name);
        this.extensionSignatures.set(name, signature);
      }
    }
    if (changed.length === 0) return;
    for (const name of changed) {
      const tenants = [...this.entries.values()].filter((e) => e.extensions.includes(name));
      this.emit('extension changed', { extension: name, tenants: tenants.map((e) => e.record.id).join(',') || '-' });
      for (const entry of tenants) entry.busy = entry.busy.then(() => this.launch(entry));
    }
  }

  /**
   * Reads the health of each tenant with an idle environment for the secret cache figures, outside
   * the gateway's counters (never starting an environment, nor keeping one alive).
   */
  private async pollHealth(): Promise<void> {
    if (this.stopping) return;
    await Promise.all(
      [...this.entries.keys()].map(async (id) => {
        const tenant = this.gatewayTenant(id);
        if (tenant === undefined || tenant.pids.length === 0) return;
        try {
          const answer = await this.gateway.request(tenant, 'GET', '/_sovereign/health');
          if (answer.statusCode !== 200) return;
          const cache = secretCacheFromHealth(JSON.parse(answer.body.toString()));
          if (cache) this.gateway.statsFor(id).secretCache = cache;
        } catch {
          // a tenant busy or restarting; next round
        }
      }),
    );
  }

  /** `.sovereign/dev.json` as it is now. */
  state(): DevStateFile {
    const tenants: DevStateFile['tenants'] = {};
    for (const id of this.tenantIds()) {
      const entry = this.entries.get(id)!;
      const t = this.gatewayTenant(id)!;
      tenants[id] = { pid: t.pids[0] ?? null, pids: t.pids, status: t.status, artifact: entry.process?.launch.artifact ?? null };
    }
    return { pid: process.pid, port: this.port, startedAt: this.startedAt.toISOString(), token: this.devToken, consoleToken: this.console.token, tenants };
  }

  private scheduleStateWrite(): void {
    if (this.stopping || this.stateWrite) return;
    this.stateWrite = setTimeout(() => {
      this.stateWrite = undefined;
      if (!this.stopping) this.writeState();
    }, 50);
  }

  private writeState(): void {
    if (this.stopping) return;
    try {
      // It holds the credential of dev's own endpoints: readable by this user only.
      writeFileAtomic(this.project.paths.devState, `${JSON.stringify(this.state(), null, 2)}\n`, { mode: 0o600 });
    } catch {
      // the state folder vanished; the next change writes again
    }
  }

  /**
   * Stops every tenant process and esbuild, closes the gateway and removes `dev.json`. Safe at any
   * moment, also while {@link DevServer.start} is still building and starting tenants: nothing
   * builds or spawns once it was called, and what already runs is stopped (SIGTERM, then SIGKILL
   * after the supervisor's grace period).
   */
  stop(): Promise<void> {
    // Every caller waits for the one stop (a signal handler starts it, the command awaits it).
    this.stopped ??= this.stopNow();
    return this.stopped;
  }

  private stopped: Promise<void> | undefined;

  /** `--warm` starts: {@link WARM_STARTS} at a time (a fleet's cold starts at once would fight for the cores). */
  private warming = 0;
  private readonly warmWaiting: Array<() => void> = [];

  private async warmStart(fn: TenantFunction): Promise<void> {
    while (this.warming >= WARM_STARTS) await new Promise<void>((resolve) => this.warmWaiting.push(resolve));
    if (this.stopping) {
      // Stopping: none of the waiting starts happens; each passes the word on.
      this.warmWaiting.shift()?.();
      return;
    }
    this.warming += 1;
    try {
      await fn.prewarm();
    } finally {
      this.warming -= 1;
      this.warmWaiting.shift()?.();
    }
  }

  private async stopNow(): Promise<void> {
    this.stopping = true;
    for (const stop of this.pollers) stop();
    this.scheduler.stop();
    if (this.stateWrite) clearTimeout(this.stateWrite);
    const builds = this.builds.close();
    // A restart under way when this began may spawn once more; the second round stops that one.
    for (let round = 0; round < 2; round += 1) await Promise.all([...this.entries.values()].map(async (entry) => entry.process?.stop()));
    await builds;
    await this.dataPlane.close();
    await this.gateway.close();
    const current = readDevState(this.project.paths.devState);
    if (!current || current.pid === process.pid) rmSync(this.project.paths.devState, { force: true });
  }

  /** Last resort when the dev process itself is exiting: kill every child at once. */
  killAll(): void {
    for (const entry of this.entries.values()) entry.process?.killNow();
  }
}

/**
 * Calls `onExit` once when the process that started this one goes away (`sovereign dev &` from a
 * shell that is then killed): the parent's death reparents this process, so `process.ppid`
 * changes. Checked every `ms`; a process whose parent is already init (pid 1) has no launcher to
 * watch. Returns a stop function.
 */
export function onParentExit(onExit: () => void, ms = 500): () => void {
  const parent = process.ppid;
  if (parent <= 1) return () => undefined;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onExit();
  }, ms);
  timer.unref();
  return () => clearInterval(timer);
}

/** Starts a dev server; the caller stops it. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const server = new DevServer(options);
  try {
    await server.start();
  } catch (error) {
    await server.stop().catch(() => undefined);
    throw error;
  }
  return server;
}
