/**
 * Request handling: the tenant runtime that serves each request, with the hot path (an extension
 * route) kept to a few calls that inline: the generation check, routing, the handler and its
 * answer. Sovereign's own endpoints are `endpoints.ts`; what runs before the first request is
 * `cold-start.ts`.
 */
import type { RuntimeConfig } from './config.js';
import { ANONYMOUS, createRouteContext, type ExtensionScope } from './context.js';
import { Authenticator, isIdentity, type AuthOutcome } from './auth.js';
import { NO_JWT_AUTH } from '../contract/tenant-runtime-config.js';
import { loadExtensions, type BundledExtension, type ExtensionState, type LambdaHandlerOptions, type RouteEntry } from './cold-start.js';
import { lazyDocumentClient, type DocumentClientProvider } from './db.js';
import { RuntimeEndpoints } from './endpoints.js';
import { RUNTIME_PATHS } from '../contract/runtime-paths.js';
import { describeError, RuntimeError, UndeclaredSecretError } from './errors.js';
import type { CallerIdentity, HttpMethod, RouteContext, RouteDefinition, RouteRequest, RouteResult } from './extension.js';
import { generationReaderFor, GenerationWatcher } from './generation-reader.js';
import { json, problem, type HttpResultV2, type IncomingRequest } from './http.js';
import { formatLogLine, stdoutWriter, type LineWriter, type LogLevel } from './log.js';
import type { PaginateDeps } from './paginate.js';
import { Redactor } from './redact.js';
import { RuntimeMetrics } from './runtime-metrics.js';
import { Router } from './router.js';
import type { ScheduledEvent } from '../contract/schedules.js';
import { runScheduledEvent, type ScheduleRunResult } from './schedule.js';
import type { SecretFetcher } from './secrets/fetcher.js';
import { SecretResolver } from './secrets/resolver.js';

/** One tenant's runtime: its configuration, secrets, generation marker, extensions and router. */
export class TenantRuntime {
  readonly config: RuntimeConfig;
  readonly resolver: SecretResolver;
  readonly redactor = new Redactor();
  readonly watcher: GenerationWatcher;
  readonly extensions = new Map<string, ExtensionState>();
  private readonly router = new Router<RouteEntry>();
  private readonly write: LineWriter;
  private readonly now: () => number;
  private readonly clock: RequestClock;
  /** Requests, 5xx answers and cache lookups per tenant, as EMF. */
  readonly metrics: RuntimeMetrics;
  /** `/_sovereign/` health, OpenAPI and rotation webhook. */
  private readonly endpoints: RuntimeEndpoints;
  private readonly startedAt: number;
  private readonly documentClient: DocumentClientProvider;
  private readonly paginateDeps: PaginateDeps;
  /** Whether some enabled extension failed to load (its routes answer 503). */
  private anyFailed = false;
  /** Who is calling: every `required` route's check (`auth.ts`). */
  readonly authenticator: Authenticator;

  constructor(config: RuntimeConfig, backend: SecretFetcher, options: LambdaHandlerOptions) {
    this.config = config;
    this.write = options.write ?? stdoutWriter;
    this.clock = new RequestClock(options.now ?? Date.now);
    this.now = this.clock.now;
    this.startedAt = this.now();
    this.metrics = new RuntimeMetrics(config.tenant, config.stage, this.write, () => this.endpoints.cacheTraffic(), this.startedAt);
    this.paginateDeps = options.paginate ?? {};
    this.documentClient = lazyDocumentClient(options.aws?.documentClient);
    this.resolver = new SecretResolver({
      backend,
      redactor: this.redactor,
      cache: {
        ttlMs: config.secretTtlMs,
        maxEntries: config.secretCacheMax,
        maxStaleMs: config.secretMaxStaleMs,
        now: this.now,
        onError: (key, error) => this.log('warn', 'secret backend failed; serving the cached value', { key, error: describeError(error) }),
      },
    });
    this.watcher = new GenerationWatcher({
      read: options.generationReader ?? generationReaderFor(config.generationSource, config.table, this.documentClient),
      intervalMs: config.generationIntervalMs,
      now: this.now,
      onChange: (changed, marker) => {
        this.authenticator.generationChanged(changed);
        const dropped = this.resolver.invalidate(changed);
        this.endpoints.forgetFailures();
        this.log('info', 'secrets generation changed', {
          generation: marker.generation,
          references: changed === 'all' ? 'all' : changed.length,
          invalidated: dropped,
          suspended: marker.suspended,
        });
      },
      onError: (error) => this.log('warn', 'reading the generation marker failed', { error: describeError(error) }),
    });
    this.authenticator = new Authenticator(config.tenant, config.tenantConfig.auth ?? NO_JWT_AUTH, {
      stage: config.stage,
      table: config.table,
      source: config.apiKeySource,
      documentClient: this.documentClient,
      now: this.now,
      onUsageError: (error) => this.log('debug', 'recording an API key\'s last use failed', { error: describeError(error) }),
    });
    this.endpoints = new RuntimeEndpoints({
      config,
      resolver: this.resolver,
      watcher: this.watcher,
      extensions: this.extensions,
      metrics: this.metrics,
      now: this.now,
      startedAt: this.startedAt,
      log: (level, message, fields, requestId) => this.log(level, message, fields, requestId),
      internalError: (error, request) => this.internalError(error, request),
    });
  }

  /** One runtime log line (no extension, no request). */
  log(level: LogLevel, message: string, fields?: Record<string, unknown>, requestId?: string): void {
    const order = { debug: 10, info: 20, warn: 30, error: 40 };
    if (order[level] < order[this.config.logLevel]) return;
    this.write(formatLogLine(this.redactor, { tenant: this.config.tenant, stage: this.config.stage, requestId }, level, message, fields));
  }

  /** Loads the bundled extensions the tenant enabled and reads the generation marker. */
  async init(bundled: BundledExtension[]): Promise<void> {
    await Promise.all([
      this.watcher.refresh(),
      ...loadExtensions(bundled, {
        config: this.config,
        redactor: this.redactor,
        scope: {
          tenant: { id: this.config.tenant, stage: this.config.stage, tier: this.config.tier },
          references: this.config.tenantConfig.secrets,
          resolver: this.resolver,
          table: this.config.table,
          documentClient: this.documentClient,
          redactor: this.redactor,
          write: this.write,
          logLevel: this.config.logLevel,
          paginateDeps: this.paginateDeps,
        },
        states: this.extensions,
        mount: (method, path, entry) => this.router.add(method, path, entry),
        failed: (state) => {
          this.anyFailed = true;
          this.log('error', 'extension failed to load', { extension: state.name, error: state.error });
        },
      }),
    ]);
  }

  /**
   * Serves one request. A returned promise never rejects (failures become problem responses);
   * only a synchronous throw can escape, which the Lambda entry maps to 500.
   */
  handle(request: IncomingRequest): Promise<HttpResultV2> | HttpResultV2 {
    // The synchronous part of a request (the generation check, routing, the handler up to its first
    // `await`, which is where a cached secret is read) shares one clock reading.
    const now = this.clock.pin();
    try {
      this.metrics.request(now);
      if (this.watcher.due()) return this.settled(this.watcher.check().then(() => this.route(request)), request);
      return this.route(request);
    } finally {
      this.clock.release();
    }
  }

  /** Runs the schedule a scheduled event names (after the generation check: a suspended tenant runs none). */
  async runSchedule(event: ScheduledEvent, requestId: string): Promise<ScheduleRunResult> {
    if (this.watcher.due()) await this.watcher.check().catch(() => undefined);
    return runScheduledEvent(event, requestId, {
      extensions: this.extensions,
      suspended: this.watcher.suspended,
      now: this.now,
      log: (level, message, fields) => this.log(level, message, fields, requestId),
    });
  }

  /** The request's unexpected failure as a logged 500. */
  internalError(error: unknown, request: IncomingRequest): HttpResultV2 {
    this.metrics.error();
    this.log('error', 'request failed', { error: describeError(error) }, request.requestId);
    return problem(500, 'internal-error', request, 'the runtime failed to handle the request');
  }

  private settled(pending: Promise<HttpResultV2>, request: IncomingRequest): Promise<HttpResultV2> {
    return pending.then(undefined, (error: unknown) => this.internalError(error, request));
  }

  /**
   * The hot path: an extension route. Everything rarer (runtime endpoints, a suspended tenant, a
   * failed extension, no match) is a call of its own, which keeps this small enough to inline.
   */
  private route(request: IncomingRequest): Promise<HttpResultV2> | HttpResultV2 {
    const path = request.path;
    if (path.startsWith('/_sovereign/')) return path === RUNTIME_PATHS.openapi ? this.authenticated(request, undefined, () => this.endpoints.serve(request)) : this.endpoints.serve(request);
    if (this.watcher.suspended || this.anyFailed) {
      const refused = this.refusal(request);
      if (refused !== undefined) return refused;
    }
    const found = this.router.match(request.method, path);
    if (found !== undefined) return this.invoke(found.value, found.params, request);
    return this.unmatched(request);
  }

  /** The 403 of a suspended tenant or the 503 of an extension that failed to load, if either applies. */
  private refusal(request: IncomingRequest): HttpResultV2 | undefined {
    if (this.watcher.suspended) return problem(403, 'tenant-suspended', request, `tenant "${this.config.tenant}" is suspended`);
    const path = request.path;
    const slash = path.indexOf('/', 1);
    const first = slash === -1 ? path.slice(1) : path.slice(1, slash);
    if (this.extensions.get(first)?.status === 'failed') {
      this.metrics.error();
      return problem(503, 'extension-unavailable', request, `extension "${first}" failed to load`);
    }
    return undefined;
  }

  /** 405 with `Allow` when the path exists with other methods, else 404. */
  private unmatched(request: IncomingRequest): HttpResultV2 {
    const { method, path } = request;
    const missing = this.router.lookup(method, path);
    if (missing.kind === 'method-not-allowed') {
      return problem(405, 'method-not-allowed', request, `${path} accepts ${missing.allow.join(', ')}`, {}, { allow: missing.allow.join(', ') });
    }
    return problem(404, 'not-found', request, `no route ${method} ${path}`);
  }

  /**
   * Runs the route's handler. Never rejects: a failure becomes a problem response here, so the
   * Lambda entry can hand the promise straight back without another `await`. A handler that
   * answers synchronously gets a synchronous response (no promise at all).
   */
  private invoke(entry: RouteEntry, params: Record<string, string>, request: IncomingRequest): Promise<HttpResultV2> | HttpResultV2 {
    const { route } = entry;
    if (route.auth === 'public') return this.run(entry, params, request, ANONYMOUS);
    const outcome = this.authenticator.authenticate(request, route.scopes, this.now());
    if (outcome instanceof Promise) return this.settled(outcome.then((settled) => (isIdentity(settled) ? this.run(entry, params, request, settled) : this.refused(settled, request))), request);
    return isIdentity(outcome) ? this.run(entry, params, request, outcome) : this.refused(outcome, request);
  }

  /** Runs `next` with the caller, or answers the 401/403 that refuses it. */
  private authenticated(
    request: IncomingRequest,
    scopes: readonly string[] | undefined,
    next: (identity: CallerIdentity) => Promise<HttpResultV2> | HttpResultV2,
  ): Promise<HttpResultV2> | HttpResultV2 {
    const outcome = this.authenticator.authenticate(request, scopes, this.now());
    if (!(outcome instanceof Promise)) return isIdentity(outcome) ? next(outcome) : this.refused(outcome, request);
    return this.settled(outcome.then((settled: AuthOutcome) => (isIdentity(settled) ? next(settled) : this.refused(settled, request))), request);
  }

  /** A refused caller, logged (without its credential) so an operator sees who knocks. */
  private refused(response: HttpResultV2, request: IncomingRequest): HttpResultV2 {
    this.log('info', 'caller refused', { status: response.statusCode, method: request.method, path: request.path, sourceIp: request.sourceIp }, request.requestId);
    return response;
  }

  /** The route's handler with its caller. */
  private run(entry: RouteEntry, params: Record<string, string>, request: IncomingRequest, identity: CallerIdentity): Promise<HttpResultV2> | HttpResultV2 {
    const { route } = entry;
    let body: unknown;
    let query: unknown;
    // A request without a body to a route without schemas (most GETs) has nothing to parse.
    if (request.body !== '' || route.request !== undefined) {
      const input = parseInput(route, request);
      if ('statusCode' in input) return input;
      ({ body, query } = input);
    }
    const ctx = createRouteContext(entry.extension.scope as ExtensionScope, entry.key, request.requestId, identity);
    let result: RouteResult | PromiseLike<RouteResult>;
    try {
      result = entry.handler(new HandlerRequest(route.method, request, params, body, query), ctx);
    } catch (error) {
      return this.handlerFailed(error, entry, ctx, request);
    }
    if (isThenable(result)) {
      const failed = (error: unknown) => this.handlerFailed(error, entry, ctx, request);
      return (result instanceof Promise ? result : Promise.resolve(result)).then((value: RouteResult) => {
        try {
          return this.counted(toResponse(value, request.requestId));
        } catch (error) {
          return failed(error);
        }
      }, failed);
    }
    try {
      return this.counted(toResponse(result, request.requestId));
    } catch (error) {
      return this.handlerFailed(error, entry, ctx, request);
    }
  }

  /** A handler's own answer, counted when it is a 5xx. */
  private counted(response: HttpResultV2): HttpResultV2 {
    if (response.statusCode >= 500) this.metrics.error();
    return response;
  }

  private handlerFailed(error: unknown, entry: RouteEntry, ctx: RouteContext, request: IncomingRequest): HttpResultV2 {
    this.metrics.error();
    const fields = { route: entry.key, error: describeError(error), ...(error instanceof Error && error.stack ? { stack: error.stack } : {}) };
    ctx.log.error('handler failed', fields);
    if (error instanceof RuntimeError && error.status === 503 && !(error instanceof UndeclaredSecretError)) {
      return problem(503, 'dependency-unavailable', request, 'a secret or service the route needs is unavailable; retry later', {}, { 'retry-after': '5' });
    }
    return problem(500, 'handler-failed', request, 'the route handler failed; the request id identifies it in the logs');
  }

}

/**
 * The request a route handler receives. `headers` and `query` are read from the event on first
 * use (most handlers never touch them); `toJSON` gives every field.
 */
class HandlerRequest implements RouteRequest<unknown, Record<string, string>> {
  readonly #request: IncomingRequest;
  readonly #query: unknown;

  constructor(readonly method: HttpMethod, request: IncomingRequest, readonly params: Record<string, string>, readonly body: unknown, query: unknown) {
    this.#request = request;
    this.#query = query;
  }

  get path(): string {
    return this.#request.path;
  }

  get headers(): Record<string, string> {
    return this.#request.headers;
  }

  get query(): Record<string, string> {
    return (this.#query ?? this.#request.query) as Record<string, string>;
  }

  toJSON(): RouteRequest<unknown, Record<string, string>> {
    const { method, path, params, query, headers, body } = this;
    return { method, path, params, query, headers, body };
  }
}

/** The request's body and query as the route's handler gets them, or the 400 that refuses them. */
function parseInput(route: RouteDefinition, request: IncomingRequest): HttpResultV2 | { body: unknown; query: unknown } {
  let body: unknown;
  if (request.body !== '') {
    const type = request.headers['content-type'] ?? '';
    if (route.request?.body || /[/+]json\b/i.test(type) || type === '') {
      try {
        body = JSON.parse(request.body);
      } catch {
        if (route.request?.body || /json/i.test(type)) return problem(400, 'invalid-json', request, 'the request body is not valid JSON');
        body = request.body;
      }
    } else {
      body = request.body;
    }
  }
  if (route.request?.body) {
    const parsed = route.request.body.safeParse(body);
    if (!parsed.success) return problem(400, 'validation-failed', request, 'the request body does not match the schema', { issues: issuesOf(parsed.error, 'body') });
    body = parsed.data;
  }
  let query: unknown;
  if (route.request?.query) {
    const parsed = route.request.query.safeParse(request.query);
    if (!parsed.success) return problem(400, 'validation-failed', request, 'the query string does not match the schema', { issues: issuesOf(parsed.error, 'query') });
    query = parsed.data;
  }
  return { body, query };
}

function issuesOf(error: { issues: Array<{ path: PropertyKey[]; message: string; code: string }> }, where: 'body' | 'query') {
  return error.issues.map((issue) => ({ in: where, path: issue.path.map(String).join('.'), code: issue.code, message: issue.message }));
}

function isFullResult(value: unknown): value is { status: number; headers?: Record<string, string>; body?: unknown } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  if (typeof v.status !== 'number' || !Number.isInteger(v.status) || v.status < 100 || v.status > 599) return false;
  return Object.keys(v).every((k) => k === 'status' || k === 'headers' || k === 'body');
}

function toResponse(result: RouteResult, requestId: string): HttpResultV2 {
  if (isFullResult(result)) {
    const headers: Record<string, string> = { 'x-request-id': requestId };
    for (const [name, value] of Object.entries(result.headers ?? {})) headers[name.toLowerCase()] = value;
    if (result.body === undefined) return { statusCode: result.status, headers, body: '', isBase64Encoded: false };
    if (typeof result.body === 'string') {
      headers['content-type'] ??= 'text/plain; charset=utf-8';
      return { statusCode: result.status, headers, body: result.body, isBase64Encoded: false };
    }
    headers['content-type'] ??= 'application/json';
    return { statusCode: result.status, headers, body: JSON.stringify(result.body), isBase64Encoded: false };
  }
  if (result === undefined) return { statusCode: 204, headers: { 'x-request-id': requestId }, body: '', isBase64Encoded: false };
  return json(200, result, requestId);
}

/**
 * A millisecond clock that can be pinned for a stretch of synchronous work, so the code on a
 * request's hot path reads the time once (a clock read costs tens of nanoseconds on some hosts).
 */
class RequestClock {
  private pinned: number | undefined;

  constructor(private readonly source: () => number) {}

  readonly now = (): number => this.pinned ?? this.source();

  pin(): number {
    return (this.pinned = this.source());
  }

  release(): void {
    this.pinned = undefined;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
