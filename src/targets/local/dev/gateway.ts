/**
 * The `dev` gateway: the local stand-in for each tenant's HTTP API. It listens on loopback only,
 * routes `http://<tenant>.localhost:<port>/…` and `http://localhost:<port>/t/<tenant>/…` to the
 * tenant's own process as the payload 2.0 event API Gateway would send, throttles each tenant with
 * its tier's token bucket, and turns the function's result back into HTTP.
 *
 * Gateway-level endpoints (on `localhost`, not on a tenant host):
 *
 * | route | what |
 * |---|---|
 * | `GET /_sovereign/dev/stats?minutes=<1–60>` | JSON {@link GatewayStatsDocument}: every tenant's counters, `window` over the last `minutes` (default 15) |
 * | `GET /_sovereign/dev/logs?tenant=<id>&since=<iso or epoch ms>&limit=<n>` | JSON `{ tenant, lines }`: the tenant's runtime log lines (parsed JSON) at or after `since`, the newest `limit` (default 200) |
 * | `POST /_sovereign/dev/invoke` | runs one schedule of a running tenant now (`scheduler-invoke.ts`) |
 * | `GET /_sovereign/console…` | the read-only console (`console/routes.ts`), with checks of its own |
 * | `GatewayOptions.routes` | e.g. `POST /_sovereign/billing/webhook` |
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { fromLambdaResult, gatewayProblem, newRequestId, toApiGatewayEvent, type GatewayResponse } from './event.js';
import type { InvocationResult } from './channel.js';
import type { InvokeOutcome } from './supervisor.js';
import { FairQueue } from './fair.js';
import { MINUTE_SLOTS, TenantStats, type TenantStatsSnapshot } from './stats.js';
import type { TokenBucket } from './throttle.js';
import { discardBody, LAMBDA_PAYLOAD_BYTES, readLimitedBody } from './body.js';
import { ROTATION_WEBHOOK_PATH } from '../../../contract/rotation-webhook.js';
import { parseLogFileLines } from '../../../telemetry/lambda-log.js';
import { MAX_WEBHOOK_BODY_BYTES, ReplayGuard } from '../../../runtime/webhook.js';
import type { JwtAuthorizerContext, TenantAuth } from '../../../contract/auth.js';
import { devEndpointRefusal } from './state-file.js';
import type { AuthDecision, JwtAuthorizer, RouteTable } from './authorizer.js';
import { DEV_INVOKE_MAX_BODY, DEV_INVOKE_PATH, isLoopbackAddress, parseDevInvokeRequest, type DevInvokeAnswer } from './scheduler-invoke.js';
import { isConsolePath } from './console/guard.js';

/** Lambda's synchronous payload limit; API Gateway refuses larger bodies too. */
export const MAX_BODY_BYTES = LAMBDA_PAYLOAD_BYTES;
/** API Gateway's own answer to a body over the limit (not problem+json: the function never sees it). */
const TOO_LARGE_BODY = '{"message":"Request Entity Too Large"}';
/** API Gateway's own answers when its JWT authorizer refuses (the function never runs). */
const AUTHORIZER_REFUSALS = { 401: '{"message":"Unauthorized"}', 403: '{"message":"Forbidden"}' } as const;
/** How long, on average, a connection that was answered 429 is not read from. */
export const THROTTLED_PAUSE_MS = 100;
/** HTTP APIs stop waiting for an integration after 30 s. */
export const INTEGRATION_TIMEOUT_MS = 30_000;

/** What the gateway needs to know of a tenant at request time. */
export interface GatewayTenant {
  id: string;
  /** `running` tenants are served; any other status answers 503. */
  status: string;
  /**
   * Suspended in the registry: extension routes answer 403 here, before the tenant's process is
   * reached, whatever its own (tenant-writable) marker says.
   */
  suspended: boolean;
  /** Pids of the tenant's execution environments now (none while it is scaled to zero). */
  pids: number[];
  /** Environments that exited without being asked to (crashes, timeouts). */
  restarts: number;
  bucket: TokenBucket;
  /** The tenant's runtime log file (JSON lines). */
  logFile: string;
  /**
   * Which routes of the running artifact need a verified caller (from the manifests it was built
   * from); undefined until it is built, and then the tenant answers 503 rather than guess.
   */
  routes: RouteTable | undefined;
  /** The tenant's caller rules (issuers, audiences, API keys), as its runtime holds them. */
  auth: TenantAuth;
  /**
   * Runs one invocation of the tenant's function (`supervisor.ts`): in an idle environment, a new
   * one, or throttled at the tier's concurrency. `background` (dev's own polls) only uses an idle
   * environment, and neither keeps it alive nor writes a REPORT line.
   */
  invoke(eventJson: string, options?: { background?: boolean }): Promise<InvokeOutcome>;
}

/** Statuses whose function is served (environments start on demand). */
export const SERVED: ReadonlySet<string> = new Set(['idle', 'running', 'failed']);

/** Lambda's answer to an invocation beyond the function's reserved concurrency. */
const THROTTLED_BODY = '{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}';

/** A request handed to a gateway route. */
export interface GatewayRouteRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Lower-case header names; repeated headers joined with `,`. */
  headers: Record<string, string>;
  body: Buffer;
}

/** A gateway route's answer; a string or object body is sent as JSON unless `content-type` says otherwise. */
export interface GatewayRouteResponse {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string | Buffer | object;
}

export type GatewayRouteHandler = (request: GatewayRouteRequest) => Promise<GatewayRouteResponse> | GatewayRouteResponse;

export interface GatewayRoute {
  method: string;
  path: string;
  /** Larger bodies are refused with 413 while they stream; the handler never sees them. */
  maxBodyBytes: number;
  handler: GatewayRouteHandler;
}

/** `GET /_sovereign/dev/stats`. */
export interface GatewayStatsDocument {
  pid: number;
  port: number;
  startedAt: string;
  tenants: TenantStatsSnapshot[];
}

export interface GatewayOptions {
  /** 0 picks a free port. */
  port: number;
  /** Looks a tenant up by id at request time; undefined for a tenant that does not exist. */
  tenant(id: string): GatewayTenant | undefined;
  /** Every known tenant, for the stats document. */
  tenants(): GatewayTenant[];
  /** Extra routes for this gateway only. */
  routes?: GatewayRoute[];
  /** Whether to apply the tier's token bucket (default true). */
  throttle?: boolean;
  /** Verifies the callers of every non-public route, as API Gateway's JWT authorizer does. */
  authorizer: JwtAuthorizer;
  /** The bearer token dev's own endpoints (`/_sovereign/dev/*`) require (none: they refuse every caller); see {@link devEndpointRefusal}. */
  devToken?: string;
  /** Answers `/_sovereign/console…` on the gateway's own host (it checks Host and credentials itself). */
  console?: { handle(req: IncomingMessage, res: ServerResponse, path: string, query: string): void };
}

/**
 * Added to every tenant answer served under `localhost:<port>/t/<tenant>/`, where the tenant's pages
 * would share one origin with the console and with every other tenant: the browser gives such a
 * page an opaque origin of its own, so its script cannot read same-origin answers (the console's,
 * another tenant's), send the console's cookie, or register a service worker over the origin.
 * `<tenant>.localhost` hosts are origins of their own and get nothing added.
 */
export const PATH_ROUTE_SANDBOX = 'sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads';

function isLocalName(host: string): boolean {
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || host === '::1';
}

/** Splits a request into tenant and tenant path: by `<tenant>.localhost` host, else by `/t/<tenant>/`. */
export function routeRequest(hostHeader: string | undefined, url: string): { tenant?: string; path: string; query: string } {
  const q = url.indexOf('?');
  const rawPath = q >= 0 ? url.slice(0, q) : url;
  const query = q >= 0 ? url.slice(q + 1) : '';
  const host = (hostHeader ?? '').toLowerCase().replace(/:\d+$/, '');
  const sub = /^([a-z][a-z0-9-]*)\.localhost\.?$/.exec(host);
  if (sub) return { tenant: sub[1]!, path: rawPath || '/', query };
  // Only for a local Host: a page whose name was rebound to 127.0.0.1 must not reach tenants.
  const prefixed = /^\/t\/([^/?]+)(\/.*)?$/.exec(rawPath);
  if (prefixed && (host === '' || isLocalName(host))) return { tenant: prefixed[1]!, path: prefixed[2] ?? '/', query };
  return { path: rawPath || '/', query };
}

/** The function's answer as API Gateway turns it into HTTP. */
function toGatewayResponse(answer: InvocationResult, path: string, requestId: string): GatewayResponse {
  if (answer.functionError) {
    // A result over Lambda's limit never reaches API Gateway: an integration failure.
    if (answer.json.includes('"errorType":"RequestEntityTooLarge"')) {
      return { statusCode: 502, headers: { 'content-type': 'application/json', 'apigw-requestid': requestId, 'x-amz-function-error': 'Unhandled' }, body: answer.json };
    }
    return gatewayProblem(500, 'function-error', 'Internal Server Error', 'the function failed; see its log', path, requestId);
  }
  try {
    return fromLambdaResult(JSON.parse(answer.json) as unknown, requestId);
  } catch {
    return gatewayProblem(502, 'malformed-response', 'Bad Gateway', 'the function returned a result API Gateway cannot use', path, requestId);
  }
}

/** An invocation's outcome as API Gateway answers it. */
function outcomeResponse(outcome: InvokeOutcome, tenant: string, path: string, requestId: string): GatewayResponse {
  switch (outcome.kind) {
    case 'result':
      return toGatewayResponse(outcome.result, path, requestId);
    case 'throttled':
      return { statusCode: 429, headers: { 'content-type': 'application/json', 'apigw-requestid': requestId, 'x-amzn-errortype': 'TooManyRequestsException' }, body: THROTTLED_BODY };
    case 'timeout':
      return gatewayProblem(504, 'function-timeout', 'Gateway Timeout', `tenant "${tenant}"'s function timed out after ${(outcome.timeoutMs / 1000).toFixed(2)} seconds`, path, requestId);
    case 'failed':
      return gatewayProblem(502, 'function-failed', 'Bad Gateway', `tenant "${tenant}"'s function could not run; see its log`, path, requestId, { 'retry-after': '1' });
  }
}

function writeResponse(res: ServerResponse, response: GatewayResponse): void {
  const length = typeof response.body === 'string' ? Buffer.byteLength(response.body) : response.body.length;
  const headers: Record<string, string | string[]> = { ...response.headers, 'content-length': String(length) };
  delete headers['transfer-encoding'];
  delete headers.connection;
  res.writeHead(response.statusCode, headers);
  res.end(response.body);
}

function collectHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    headers[name] = headers[name] === undefined ? req.rawHeaders[i + 1]! : `${headers[name]},${req.rawHeaders[i + 1]!}`;
  }
  return headers;
}

/** Reads the last `maxBytes` of a file as lines (the first, possibly cut, line dropped). */
export function tailLines(file: string, maxBytes = 1024 * 1024): string[] {
  let fd: number | undefined;
  try {
    const size = statSync(file).size;
    const start = Math.max(0, size - maxBytes);
    const buffer = Buffer.alloc(size - start);
    fd = openSync(file, 'r');
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, start + read);
      if (n === 0) break;
      read += n;
    }
    const lines = buffer.subarray(0, read).toString('utf8').split('\n');
    if (start > 0) lines.shift();
    return lines.filter((l) => l.trim() !== '');
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Parses `since`: ISO date, epoch milliseconds, or a duration like `5m`/`30s`/`1h` before now. */
export function parseSince(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const duration = /^(\d+)(ms|s|m|h)$/.exec(value);
  if (duration) return now - Number(duration[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[duration[2] as 'ms' | 's' | 'm' | 'h'];
  if (/^\d+$/.test(value)) return Number(value);
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? undefined : parsed;
}

export class Gateway {
  readonly stats = new Map<string, TenantStats>();
  readonly startedAt = new Date();
  private servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly fair = new FairQueue();
  /** Per tenant: see {@link Gateway.replayGuard}. */
  private readonly replay = new Map<string, ReplayGuard>();
  port = 0;

  constructor(private readonly options: GatewayOptions) {}

  statsFor(tenant: string): TenantStats {
    let stats = this.stats.get(tenant);
    if (!stats) {
      stats = new TenantStats(tenant);
      this.stats.set(tenant, stats);
    }
    return stats;
  }

  /** Listens on 127.0.0.1 (and on ::1 at the same port when the machine has it). */
  async listen(): Promise<number> {
    const primary = this.makeServer();
    this.port = await new Promise<number>((resolve, reject) => {
      primary.once('error', reject);
      primary.listen(this.options.port, '127.0.0.1', () => {
        primary.off('error', reject);
        resolve((primary.address() as AddressInfo).port);
      });
    });
    this.servers.push(primary);
    const secondary = this.makeServer();
    await new Promise<void>((resolve) => {
      secondary.once('error', () => resolve());
      secondary.listen(this.port, '::1', () => {
        this.servers.push(secondary);
        resolve();
      });
    });
    return this.port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    this.servers = [];
  }

  /** The stats document; `window` covers the last `minutes` minutes (default 15, at most 60). */
  statsDocument(minutes?: number): GatewayStatsDocument {
    return {
      pid: process.pid,
      port: this.port,
      startedAt: this.startedAt.toISOString(),
      tenants: this.options.tenants().map((t) => this.statsFor(t.id).snapshot({ status: t.status, pid: t.pids[0] ?? null, restarts: t.restarts, environments: t.pids.length }, Date.now(), minutes)),
    };
  }

  private makeServer(): Server {
    const server = createServer({ noDelay: true }, (req, res) => this.handle(req, res));
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    return server;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const arrived = performance.now();
    const requestId = newRequestId();
    const route = routeRequest(req.headers.host, req.url ?? '/');
    const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');

    if (isConsolePath(route.path)) {
      // Never handed to a tenant's process: a console URL (and its token) sent to a tenant host stops here.
      if (route.tenant !== undefined || !this.options.console) {
        discardBody(req, res, MAX_BODY_BYTES);
        writeResponse(res, gatewayProblem(404, 'console-not-here', 'Not Found', `the console is at http://localhost:${this.port}/_sovereign/console, not on a tenant's host or path`, route.path, requestId));
        return;
      }
      this.options.console.handle(req, res, route.path, route.query);
      return;
    }
    if (route.tenant === undefined) {
      this.handleLocal(req, res, route.path, route.query, requestId, isLocalName(host) || host === '');
      return;
    }
    const tenant = this.options.tenant(route.tenant);
    if (!tenant) {
      discardBody(req, res, MAX_BODY_BYTES);
      writeResponse(res, gatewayProblem(404, 'unknown-tenant', 'Not Found', `there is no tenant "${route.tenant}" on this dev server`, route.path, requestId));
      return;
    }
    const sandbox = !/\.localhost\.?$/.test(host);
    // Everything from here on takes fair turns with the other tenants' work.
    this.fair.run(tenant.id, () => this.serveTenant(req, res, tenant, { ...route, sandbox }, requestId, arrived));
  }

  private serveTenant(req: IncomingMessage, res: ServerResponse, tenant: GatewayTenant, route: { path: string; query: string; sandbox: boolean }, requestId: string, arrived: number): void {
    const stats = this.statsFor(tenant.id);
    const finish = (response: GatewayResponse) => {
      if (route.sandbox) {
        const own = response.headers['content-security-policy'];
        response.headers['content-security-policy'] = own === undefined ? PATH_ROUTE_SANDBOX : [...(Array.isArray(own) ? own : [own]), PATH_ROUTE_SANDBOX];
      }
      writeResponse(res, response);
      stats.record(response.statusCode, performance.now() - arrived);
    };
    if (this.options.throttle !== false) {
      const decision = tenant.bucket.take(arrived);
      if (!decision.allowed) {
        discardBody(req, res, MAX_BODY_BYTES);
        this.holdBack(req.socket, res);
        finish(
          gatewayProblem(429, 'throttled', 'Too Many Requests', `tenant "${tenant.id}" is over its tier's request rate (${tenant.bucket.rate}/s, burst ${tenant.bucket.burst})`, route.path, requestId, {
            'retry-after': String(decision.retryAfterSeconds),
          }),
        );
        return;
      }
    }
    // The registry is out of the tenant's reach; its own marker is not (it lives in its data folder).
    if (tenant.suspended && !route.path.startsWith('/_sovereign/')) {
      discardBody(req, res, MAX_BODY_BYTES);
      finish(gatewayProblem(403, 'tenant-suspended', 'Forbidden', `tenant "${tenant.id}" is suspended`, route.path, requestId));
      return;
    }
    if (!SERVED.has(tenant.status) || tenant.routes === undefined) {
      discardBody(req, res, MAX_BODY_BYTES);
      finish(gatewayProblem(503, 'tenant-unavailable', 'Service Unavailable', `tenant "${tenant.id}" is ${tenant.status}`, route.path, requestId, { 'retry-after': '1' }));
      return;
    }
    req.on('error', () => res.destroy());
    const rule = tenant.routes.required(req.method ?? 'GET', route.path);
    if (rule === undefined) {
      this.forward(req, res, tenant, route, requestId, finish, undefined);
      return;
    }
    const apiKey = req.headers['x-api-key'];
    const decision = this.options.authorizer.authorize(tenant.auth, rule, { authorization: req.headers.authorization, apiKey: typeof apiKey === 'string' ? apiKey : undefined });
    const decided = (verdict: AuthDecision) => {
      if (verdict.kind === 'pass') {
        this.forward(req, res, tenant, route, requestId, finish, verdict.authorizer);
        return;
      }
      discardBody(req, res, MAX_BODY_BYTES);
      finish({
        statusCode: verdict.statusCode,
        headers: { 'content-type': 'application/json', 'apigw-requestid': requestId, 'www-authenticate': verdict.challenge },
        body: AUTHORIZER_REFUSALS[verdict.statusCode],
      });
    };
    if (decision instanceof Promise) decision.then(decided, () => decided({ kind: 'refuse', statusCode: 401, challenge: 'Bearer' }));
    else decided(decision);
  }

  /** The request past throttling, suspension and the authorizer: its body read and handed to the tenant's process. */
  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    tenant: GatewayTenant,
    route: { path: string; query: string },
    requestId: string,
    finish: (response: GatewayResponse) => void,
    authorizer: { jwt: JwtAuthorizerContext } | undefined,
  ): void {
    const rotation = route.path === ROTATION_WEBHOOK_PATH;
    const webhookId = rotation ? req.headers['webhook-id'] : undefined;
    if (typeof webhookId === 'string' && this.replayGuard(tenant.id).has(webhookId, Date.now())) {
      discardBody(req, res, MAX_WEBHOOK_BODY_BYTES);
      finish(gatewayProblem(409, 'webhook-replayed', 'Conflict', `message ${webhookId} was already delivered`, route.path, requestId));
      return;
    }

    readLimitedBody(req, res, rotation ? MAX_WEBHOOK_BODY_BYTES : MAX_BODY_BYTES, (read) => {
      if (!read.ok) {
        finish(
          rotation
            ? gatewayProblem(413, 'webhook-too-large', 'Content Too Large', `the body is larger than ${MAX_WEBHOOK_BODY_BYTES} bytes`, route.path, requestId)
            : { statusCode: 413, headers: { 'content-type': 'application/json', 'apigw-requestid': requestId }, body: TOO_LARGE_BODY },
        );
        return;
      }
      const socket = req.socket;
      const event = toApiGatewayEvent({
        method: req.method ?? 'GET',
        path: route.path,
        query: route.query,
        rawHeaders: req.rawHeaders,
        body: read.body,
        sourceIp: (socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
        protocol: `HTTP/${req.httpVersion}`,
        host: req.headers.host ?? 'localhost',
        port: this.port,
        requestId,
        authorizer,
      });
      // The answer is turned into HTTP on the tenant's next fair turn too.
      tenant.invoke(JSON.stringify(event)).then(
        (outcome) => {
          const response = outcomeResponse(outcome, tenant.id, route.path, requestId);
          if (typeof webhookId === 'string' && response.statusCode >= 200 && response.statusCode < 300) this.replayGuard(tenant.id).remember(webhookId, Date.now());
          this.fair.run(tenant.id, () => finish(response));
        },
        () => finish(gatewayProblem(502, 'bad-gateway', 'Bad Gateway', `tenant "${tenant.id}"'s function did not answer`, route.path, requestId, { 'retry-after': '1' })),
      );
    });
  }

  /**
   * The rotation notices a tenant's runtime accepted (answered 2xx), remembered here rather than
   * only in the tenant's process: a restarted process starts with an empty memory, and a notice
   * replayed to it inside the timestamp window would otherwise be accepted again. Only accepted
   * ids are recorded, so an unsigned request cannot make the gateway refuse a genuine one.
   */
  private replayGuard(tenant: string): ReplayGuard {
    let guard = this.replay.get(tenant);
    if (!guard) {
      guard = new ReplayGuard();
      this.replay.set(tenant, guard);
    }
    return guard;
  }

  /**
   * After a 429, the connection is not read again for {@link THROTTLED_PAUSE_MS}: the refusal
   * stands, and a client hammering past its tier's rate cannot keep this one shared process busy
   * answering it while other tenants wait (in production, API Gateway's own capacity is not shared).
   */
  private holdBack(socket: Socket, res: ServerResponse): void {
    res.once('finish', () => {
      if (socket.destroyed || socket.isPaused()) return;
      socket.pause();
      // Spread over ±50 %: connections refused together must not all come back at once.
      setTimeout(() => {
        if (!socket.destroyed) socket.resume();
      }, THROTTLED_PAUSE_MS * (0.5 + Math.random())).unref();
    });
  }

  /**
   * A request of the dev server's own to a tenant with an idle environment (its health, say),
   * answered as HTTP: the same event as a request through the gateway, without counting in its
   * stats, starting an environment or keeping one alive.
   */
  async request(tenant: GatewayTenant, method: string, path: string): Promise<GatewayResponse> {
    if (!SERVED.has(tenant.status)) throw new Error(`tenant "${tenant.id}" is ${tenant.status}`);
    const requestId = newRequestId();
    const event = toApiGatewayEvent({ method, path, query: '', rawHeaders: ['user-agent', 'sovereign-dev'], body: Buffer.alloc(0), sourceIp: '127.0.0.1', protocol: 'HTTP/1.1', host: 'localhost', port: this.port, requestId });
    return outcomeResponse(await tenant.invoke(JSON.stringify(event), { background: true }), tenant.id, path, requestId);
  }

  /**
   * Invokes the tenant's function with an event of dev's own (a schedule firing, `tenant run`):
   * the function's result, or an error saying why there is none.
   */
  async invokeEvent(tenant: GatewayTenant, event: unknown): Promise<InvocationResult> {
    if (!SERVED.has(tenant.status)) throw new Error(`tenant "${tenant.id}" is ${tenant.status}`);
    const outcome = await tenant.invoke(JSON.stringify(event));
    if (outcome.kind === 'result') return outcome.result;
    if (outcome.kind === 'throttled') throw new Error(`tenant "${tenant.id}" is at its reserved concurrency`);
    if (outcome.kind === 'timeout') throw new Error(`the function timed out after ${outcome.timeoutMs / 1000} s`);
    throw new Error(outcome.message);
  }

  /** `POST /_sovereign/dev/invoke`: loopback connections with the token of dev.json (checked in `handleLocal`, as every dev endpoint). */
  private serveInvoke(req: IncomingMessage, res: ServerResponse, path: string, requestId: string): void {
    const refuse = (status: number, slug: string, title: string, detail: string) => writeResponse(res, gatewayProblem(status, slug, title, detail, path, requestId));
    if (!isLoopbackAddress(req.socket.remoteAddress)) {
      discardBody(req, res, MAX_BODY_BYTES);
      refuse(403, 'not-loopback', 'Forbidden', `${DEV_INVOKE_PATH} answers connections from this machine only`);
      return;
    }
    readLimitedBody(req, res, DEV_INVOKE_MAX_BODY, (read) => {
      if (!read.ok) return refuse(413, 'payload-too-large', 'Content Too Large', `${DEV_INVOKE_PATH} takes bodies of at most ${DEV_INVOKE_MAX_BODY} bytes`);
      const parsed = parseDevInvokeRequest(read.body);
      if (!parsed.ok) return refuse(400, 'invalid-request', 'Bad Request', parsed.problem);
      const tenant = this.options.tenant(parsed.request.tenant);
      if (!tenant) return refuse(404, 'unknown-tenant', 'Not Found', `there is no tenant "${parsed.request.tenant}" on this dev server`);
      if (!SERVED.has(tenant.status)) return refuse(503, 'tenant-unavailable', 'Service Unavailable', `tenant "${tenant.id}" is ${tenant.status}`);
      // From the registry, as for its routes: the tenant's own marker is not the word on it.
      if (tenant.suspended) return refuse(403, 'tenant-suspended', 'Forbidden', `tenant "${tenant.id}" is suspended`);
      this.invokeEvent(tenant, parsed.request.event).then(
        (answer) => {
          const document: DevInvokeAnswer = { tenant: tenant.id, functionError: answer.functionError, result: JSON.parse(answer.json) as unknown };
          writeResponse(res, { statusCode: 200, headers: { 'content-type': 'application/json' }, body: `${JSON.stringify(document)}\n` });
        },
        (error: Error) => refuse(502, 'invocation-failed', 'Bad Gateway', `invoking tenant "${tenant.id}" failed: ${error.message}`),
      );
    });
  }

  private handleLocal(req: IncomingMessage, res: ServerResponse, path: string, query: string, requestId: string, local: boolean): void {
    const method = (req.method ?? 'GET').toUpperCase();
    const params = new URLSearchParams(query);
    const json = (status: number, value: unknown) => writeResponse(res, { statusCode: status, headers: { 'content-type': 'application/json' }, body: `${JSON.stringify(value)}\n` });
    if (!local) {
      discardBody(req, res, MAX_BODY_BYTES);
      writeResponse(res, gatewayProblem(404, 'unknown-host', 'Not Found', `send requests to <tenant>.localhost:${this.port} or localhost:${this.port}/t/<tenant>/`, path, requestId));
      return;
    }
    const refusal = devEndpointRefusal(path, req.headers.authorization, this.options.devToken ?? '');
    if (refusal !== undefined) {
      discardBody(req, res, MAX_BODY_BYTES);
      writeResponse(res, gatewayProblem(401, 'dev-credential', 'Unauthorized', refusal, path, requestId, { 'www-authenticate': 'Bearer realm="sovereign dev"' }));
      return;
    }
    if (method === 'GET' && path === '/_sovereign/dev/stats') {
      discardBody(req, res, MAX_BODY_BYTES);
      const minutes = Number(params.get('minutes') ?? NaN);
      json(200, this.statsDocument(Number.isInteger(minutes) && minutes >= 1 ? Math.min(minutes, MINUTE_SLOTS) : undefined));
      return;
    }
    if (method === 'GET' && path === '/_sovereign/dev/logs') {
      discardBody(req, res, MAX_BODY_BYTES);
      const id = params.get('tenant') ?? '';
      const tenant = this.options.tenant(id);
      if (!tenant) {
        writeResponse(res, gatewayProblem(404, 'unknown-tenant', 'Not Found', `there is no tenant "${id}" on this dev server`, path, requestId));
        return;
      }
      const since = parseSince(params.get('since'));
      const limit = Math.max(1, Math.min(10_000, Number(params.get('limit') ?? 200) || 200));
      const lines: unknown[] = [];
      for (const parsed of parseLogFileLines(tenant.id, tailLines(tenant.logFile)) as Array<Record<string, unknown>>) {
        const emf = (parsed._aws as { Timestamp?: unknown } | undefined)?.Timestamp;
        const time = typeof parsed.time === 'string' ? Date.parse(parsed.time) : typeof emf === 'number' ? emf : NaN;
        if (since !== undefined && !(time >= since)) continue;
        lines.push(parsed);
      }
      json(200, { tenant: tenant.id, lines: lines.slice(-limit) });
      return;
    }
    if (method === 'POST' && path === DEV_INVOKE_PATH) {
      this.serveInvoke(req, res, path, requestId);
      return;
    }
    const route = this.options.routes?.find((r) => r.method === method && r.path === path);
    if (!route) {
      discardBody(req, res, MAX_BODY_BYTES);
      writeResponse(res, gatewayProblem(404, 'not-found', 'Not Found', `nothing at ${method} ${path}; tenants are at <tenant>.localhost:${this.port}/ or localhost:${this.port}/t/<tenant>/`, path, requestId));
      return;
    }
    readLimitedBody(req, res, route.maxBodyBytes, (read) => {
      if (!read.ok) {
        writeResponse(res, gatewayProblem(413, 'payload-too-large', 'Content Too Large', `${method} ${path} takes bodies of at most ${route.maxBodyBytes} bytes`, path, requestId));
        return;
      }
      Promise.resolve()
        .then(() => route.handler({ method, path, query: params, headers: collectHeaders(req), body: read.body }))
        .then((answer) => {
          const headers = { ...(answer.headers ?? {}) };
          let body: Buffer;
          if (Buffer.isBuffer(answer.body)) body = answer.body;
          else if (typeof answer.body === 'string') body = Buffer.from(answer.body);
          else if (answer.body === undefined) body = Buffer.alloc(0);
          else {
            body = Buffer.from(JSON.stringify(answer.body));
            headers['content-type'] ??= 'application/json';
          }
          writeResponse(res, { statusCode: answer.statusCode, headers, body });
        })
        .catch(() => writeResponse(res, gatewayProblem(500, 'route-failed', 'Internal Server Error', `${method} ${path} failed`, path, requestId)));
    });
  }
}
