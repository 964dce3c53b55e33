/**
 * `createLambdaHandler`: the tenant's Lambda entry. At cold start it reads the environment
 * contract (`config.ts`), loads the enabled extensions (one failing never takes the others down)
 * and reads the generation marker; then it serves the runtime endpoints and the extensions' routes.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { formatSecretMapping } from '../contract/secret-mapping.js';
import { loadRuntimeConfig, type RuntimeConfig } from './config.js';
import { createExtensionScope, createRouteContext, type ExtensionScope } from './context.js';
import { lazyDocumentClient, type DocumentClientProvider } from './db.js';
import { RuntimeConfigError, RuntimeError, UndeclaredSecretError } from './errors.js';
import type { ExtensionManifest, HttpMethod, RouteContext, RouteDefinition, RouteHandler, RouteRequest, RouteResult } from './extension.js';
import { generationReaderFor, GenerationWatcher, type GenerationReader } from './generation-reader.js';
import { json, normaliseEvent, problem, type HttpEventV2, type HttpResultV2, type IncomingRequest, type LambdaContextLike } from './http.js';
import { formatLogLine, stdoutWriter, type LineWriter, type LogLevel } from './log.js';
import type { PaginateDeps } from './paginate.js';
import { Redactor } from './redact.js';
import { RuntimeMetrics } from './runtime-metrics.js';
import { Router } from './router.js';
// Static: every aws cold start needs it (a chunk of its own would cost a module load), and it loads the SDK lazily.
import { createAwsSecretBackend } from './secrets/aws.js';
import type { SecretBackend } from './secrets/backend.js';
import { SecretResolver, statusOf, type ReferenceStatus } from './secrets/resolver.js';
import type { ReplayGuard } from './webhook.js';

/** What the artifact builder hands the runtime for each extension bundled into the artifact. */
export interface BundledExtension {
  name: string;
  /** Imports the manifest and the handler modules; may throw (the extension is then reported failed). */
  load(): Promise<{
    manifest: ExtensionManifest<any>;
    /** Handler file name (without extension) → module namespace. */
    handlers: Record<string, Record<string, unknown>>;
  }>;
}

export interface LambdaHandlerOptions {
  /** Environment to read instead of `process.env`. */
  env?: Record<string, string | undefined>;
  /** Secret store instead of the one `SOVEREIGN_SECRETS_BACKEND` selects. */
  secretBackend?: SecretBackend;
  /** AWS SDK clients to use instead of lazily created ones. */
  aws?: { ssm?: SSMClient; secretsManager?: SecretsManagerClient; documentClient?: DynamoDBDocumentClient };
  /** Generation marker reader instead of the one `SOVEREIGN_GENERATION_SOURCE` selects. */
  generationReader?: GenerationReader;
  /** Where log and EMF lines go (default stdout). */
  write?: LineWriter;
  /** Clock for caches and webhooks (default `Date.now`). */
  now?: () => number;
  /** `fetch` and sleep used by `ctx.paginate()`. */
  paginate?: PaginateDeps;
}

export type LambdaHandler = (event: HttpEventV2, context?: LambdaContextLike) => Promise<HttpResultV2>;

/** A handler with its runtime exposed (tests, the test kit and benchmarks inspect it). */
export interface RuntimeHandler extends LambdaHandler {
  runtime: Promise<TenantRuntime | undefined>;
}

interface ExtensionState {
  name: string;
  status: 'ok' | 'failed';
  error?: string;
  manifest?: ExtensionManifest<any>;
  scope?: ExtensionScope;
}

interface RouteEntry {
  extension: ExtensionState;
  route: RouteDefinition;
  handler: RouteHandler<any, any, any>;
  key: string;
}

const HEALTH = '/_sovereign/health';
const OPENAPI = '/_sovereign/openapi.json';
const ROTATION = '/_sovereign/webhooks/rotation';
const RUNTIME_ROUTES: Record<string, string | undefined> = Object.assign(Object.create(null) as Record<string, string>, {
  [HEALTH]: 'GET',
  [OPENAPI]: 'GET',
  [ROTATION]: 'POST',
});

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
  /** Created with the webhook module on the first rotation notice. */
  private replay: ReplayGuard | undefined;
  private readonly startedAt: number;
  private readonly documentClient: DocumentClientProvider;
  private readonly paginateDeps: PaginateDeps;
  private openapi: string | undefined;
  private readonly failedStatus = new Map<string, { status: ReferenceStatus; at: number }>();
  /** Whether some enabled extension failed to load (its routes answer 503). */
  private anyFailed = false;

  constructor(config: RuntimeConfig, backend: SecretBackend, options: LambdaHandlerOptions) {
    this.config = config;
    this.write = options.write ?? stdoutWriter;
    this.clock = new RequestClock(options.now ?? Date.now);
    this.now = this.clock.now;
    this.startedAt = this.now();
    this.metrics = new RuntimeMetrics(config.tenant, config.stage, this.write, () => this.cacheTraffic(), this.startedAt);
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
        onError: (key, error) => this.log('warn', 'secret backend failed; serving the cached value', { key, error: describe(error) }),
      },
    });
    this.watcher = new GenerationWatcher({
      read: options.generationReader ?? generationReaderFor(config.generationSource, config.table, this.documentClient),
      intervalMs: config.generationIntervalMs,
      now: this.now,
      onChange: (changed, marker) => {
        const dropped = this.resolver.invalidate(changed);
        this.failedStatus.clear();
        this.log('info', 'secrets generation changed', {
          generation: marker.generation,
          references: changed === 'all' ? 'all' : changed.length,
          invalidated: dropped,
          suspended: marker.suspended,
        });
      },
      onError: (error) => this.log('warn', 'reading the generation marker failed', { error: describe(error) }),
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
    const byName = new Map(bundled.map((b) => [b.name, b]));
    const enabled = this.config.tenantConfig.extensions;
    await Promise.all([
      this.watcher.refresh(),
      ...enabled.map(async (name) => {
        const state: ExtensionState = { name, status: 'failed' };
        this.extensions.set(name, state);
        const entry = byName.get(name);
        if (entry === undefined) {
          state.error = 'not in the deployed artifact';
        } else {
          try {
            await this.register(state, entry);
            state.status = 'ok';
          } catch (error) {
            state.error = this.redactor.redactString(describe(error));
          }
        }
        if (state.status === 'failed') {
          this.anyFailed = true;
          this.log('error', 'extension failed to load', { extension: name, error: state.error });
        }
      }),
    ]);
  }

  private async register(state: ExtensionState, entry: BundledExtension): Promise<void> {
    const { manifest, handlers } = await entry.load();
    if (!manifest || typeof manifest !== 'object' || !Array.isArray(manifest.routes)) throw new Error('the module has no extension manifest');
    if (manifest.name !== state.name) throw new Error(`the manifest is named "${manifest.name}", expected "${state.name}"`);
    let config: unknown = this.config.tenantConfig.config[state.name] ?? {};
    if (manifest.config) {
      // Parsed once per cold start: zod's compiled fast path would cost more to generate than it saves.
      const parsed = manifest.config.safeParse(config, { jitless: true });
      if (!parsed.success) {
        throw new Error(`tenant config does not match the extension's schema: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
      }
      config = parsed.data;
    }
    const entries: Array<[RouteDefinition, RouteEntry]> = manifest.routes.map((route) => {
      const [file, exportName = 'handler'] = route.handler.split('#') as [string, string?];
      const module = handlers[file];
      if (!module) throw new Error(`handler file handlers/${file} of ${route.method} ${route.path} is not in the artifact`);
      const fn = module[exportName] ?? (exportName === 'handler' ? module.default : undefined);
      if (typeof fn !== 'function') throw new Error(`handlers/${file} has no function export "${exportName}"`);
      return [route, { extension: state, route, handler: fn as RouteHandler, key: `${route.method} ${route.path}` }];
    });
    state.manifest = manifest;
    state.scope = createExtensionScope({
      tenant: { id: this.config.tenant, stage: this.config.stage, tier: this.config.tier },
      extension: state.name,
      config,
      declaredSecrets: (manifest.secrets ?? []).map((s) => s.key),
      references: this.config.tenantConfig.secrets,
      resolver: this.resolver,
      table: this.config.table,
      documentClient: this.documentClient,
      redactor: this.redactor,
      write: this.write,
      logLevel: this.config.logLevel,
      paginateDeps: this.paginateDeps,
    });
    for (const [route, value] of entries) {
      this.router.add(route.method, `/${state.name}${route.path === '/' ? '' : route.path}`, value);
    }
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

  /** The request's unexpected failure as a logged 500. */
  internalError(error: unknown, request: IncomingRequest): HttpResultV2 {
    this.metrics.error();
    this.log('error', 'request failed', { error: describe(error) }, request.requestId);
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
    if (path.startsWith('/_sovereign/')) return this.runtimeEndpoint(request);
    if (this.watcher.suspended || this.anyFailed) {
      const refused = this.refusal(request);
      if (refused !== undefined) return refused;
    }
    const found = this.router.match(request.method, path);
    if (found !== undefined) return this.invoke(found.value, found.params, request);
    return this.unmatched(request);
  }

  private runtimeEndpoint(request: IncomingRequest): Promise<HttpResultV2> | HttpResultV2 {
    const path = request.path;
    const runtimeMethod = RUNTIME_ROUTES[path];
    if (runtimeMethod === undefined) return problem(404, 'not-found', request, `no runtime endpoint ${path}`);
    if (request.method !== runtimeMethod) {
      return problem(405, 'method-not-allowed', request, `${path} accepts ${runtimeMethod}`, {}, { allow: runtimeMethod });
    }
    if (path === HEALTH) return this.settled(this.health(request), request);
    if (path === OPENAPI) return this.settled(this.openApi(request), request);
    return this.settled(this.rotation(request), request);
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
    let body: unknown;
    let query: unknown;
    // A request without a body to a route without schemas (most GETs) has nothing to parse.
    if (request.body !== '' || route.request !== undefined) {
      const input = parseInput(route, request);
      if ('statusCode' in input) return input;
      ({ body, query } = input);
    }
    const ctx = createRouteContext(entry.extension.scope as ExtensionScope, entry.key, request.requestId);
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
    const fields = { route: entry.key, error: describe(error), ...(error instanceof Error && error.stack ? { stack: error.stack } : {}) };
    ctx.log.error('handler failed', fields);
    if (error instanceof RuntimeError && error.status === 503 && !(error instanceof UndeclaredSecretError)) {
      return problem(503, 'dependency-unavailable', request, 'a secret or service the route needs is unavailable; retry later', {}, { 'retry-after': '5' });
    }
    return problem(500, 'handler-failed', request, 'the route handler failed; the request id identifies it in the logs');
  }

  /** Cache lookups made by health's own reference checks (not tenant traffic). */
  private healthLookups = { hits: 0, misses: 0 };

  /** Cumulative cache lookups of route traffic: health's own checks are subtracted, so a health poller does not count. */
  private cacheTraffic(): { hits: number; misses: number } {
    const stats = this.resolver.cache.stats;
    return { hits: stats.hits - this.healthLookups.hits, misses: stats.misses - this.healthLookups.misses };
  }

  private async health(request: IncomingRequest): Promise<HttpResultV2> {
    const stats = this.resolver.cache.stats;
    const { hits, misses } = this.cacheTraffic();
    const { staleServed, evictions } = stats;
    const lookups = hits + misses;
    const secretCache = { hits, misses, staleServed, evictions, hitRate: lookups === 0 ? null : Math.round((hits / lookups) * 1000) / 1000 };
    const references = this.config.tenantConfig.secrets;
    const checks: Array<Promise<{ key: string; reference: string | null; status: ReferenceStatus | 'unset'; required?: boolean }>> = [];
    for (const state of this.extensions.values()) {
      for (const declared of state.manifest?.secrets ?? []) {
        const key = formatSecretMapping({ extension: state.name, key: declared.key });
        const reference = references[key];
        checks.push(
          reference === undefined
            ? Promise.resolve({ key, reference: null, status: 'unset' as const, required: declared.required ?? true })
            : this.referenceStatus(reference).then((status) => ({ key, reference, status })),
        );
      }
    }
    const webhook = this.config.tenantConfig.webhookSecret;
    const [secrets, webhookStatus] = await Promise.all([Promise.all(checks), this.referenceStatus(webhook)]);
    // `stats` is live: whatever it gained since the subtraction above came from these checks.
    this.healthLookups = { hits: stats.hits - hits, misses: stats.misses - misses };
    const extensions = [...this.extensions.values()].map((s) => ({
      name: s.name,
      status: s.status,
      ...(s.manifest ? { version: s.manifest.version } : {}),
      ...(s.error ? { error: s.error } : {}),
    }));
    const degraded =
      extensions.some((e) => e.status === 'failed') ||
      secrets.some((s) => s.status !== 'ok' && !(s.status === 'unset' && s.required === false)) ||
      webhookStatus !== 'ok';
    const marker = this.watcher.marker;
    const body = {
      status: this.watcher.suspended ? 'suspended' : degraded ? 'degraded' : 'ok',
      tenant: this.config.tenant,
      stage: this.config.stage,
      tier: this.config.tier,
      artifact: this.config.artifact,
      suspended: this.watcher.suspended,
      generation: marker?.generation ?? null,
      uptimeSeconds: Math.round((this.now() - this.startedAt) / 1000),
      extensions,
      secrets: secrets.map(({ key, reference, status }) => ({ key, reference, status })),
      webhookSecret: { reference: webhook, status: webhookStatus },
      secretCache,
    };
    return json(200, body, request.requestId, { 'cache-control': 'no-store' });
  }

  /**
   * A reference's status for health. Failures are remembered for 10 s, so a health poller cannot
   * turn a missing or denied reference into a stream of backend calls (values are cached anyway).
   */
  private async referenceStatus(reference: string): Promise<ReferenceStatus> {
    const now = this.now();
    const failed = this.failedStatus.get(reference);
    if (failed !== undefined && now - failed.at < 10_000) return failed.status;
    const status = await this.resolver.status(reference);
    if (status === 'ok') this.failedStatus.delete(reference);
    else {
      if (this.failedStatus.size > 1000) this.failedStatus.clear();
      this.failedStatus.set(reference, { status, at: now });
    }
    return status;
  }

  private async openApi(request: IncomingRequest): Promise<HttpResultV2> {
    if (this.openapi === undefined) {
      const { buildOpenApiDocument } = await import('./openapi.js');
      const manifests = [...this.extensions.values()].flatMap((s) => (s.status === 'ok' && s.manifest ? [s.manifest] : []));
      this.openapi = JSON.stringify(
        buildOpenApiDocument(manifests, { tenant: this.config.tenant, stage: this.config.stage, version: this.config.artifact }),
      );
    }
    return { statusCode: 200, headers: { 'content-type': 'application/json', 'x-request-id': request.requestId }, body: this.openapi, isBase64Encoded: false };
  }

  private async rotation(request: IncomingRequest): Promise<HttpResultV2> {
    // Loaded on the first notice: it needs node:crypto, which costs milliseconds at cold start.
    const { ReplayGuard, verifyWebhook, WebhookVerificationError, MAX_WEBHOOK_BODY_BYTES } = await import('./webhook.js');
    if (request.bodyBytes > MAX_WEBHOOK_BODY_BYTES) {
      return problem(413, 'webhook-too-large', request, `the body is larger than ${MAX_WEBHOOK_BODY_BYTES} bytes`);
    }
    let secret: string;
    try {
      secret = await this.resolver.resolve(this.config.tenantConfig.webhookSecret);
    } catch (error) {
      this.log('error', 'the webhook secret cannot be resolved', { status: statusOf(error), error: describe(error) }, request.requestId);
      this.metrics.error();
      return problem(503, 'webhook-secret-unavailable', request, 'the webhook signing secret is unavailable');
    }
    let id: string;
    try {
      ({ id } = verifyWebhook({ secret, headers: request.headers, body: request.body, bodyBytes: request.bodyBytes, now: this.now(), replay: (this.replay ??= new ReplayGuard()) }));
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      const status = { 'missing-header': 400, 'bad-timestamp': 400, 'too-large': 413, replayed: 409 }[error.reason as string] ?? 401;
      this.log('warn', 'rotation webhook refused', { reason: error.reason, sourceIp: request.sourceIp }, request.requestId);
      return problem(status, `webhook-${error.reason}`, request, error.message);
    }
    let notice: unknown;
    try {
      notice = JSON.parse(request.body);
    } catch {
      return problem(400, 'invalid-json', request, 'the body is not valid JSON');
    }
    const n = notice as { tenant?: unknown; references?: unknown; generation?: unknown };
    if (typeof n !== 'object' || n === null || typeof n.tenant !== 'string' || !Array.isArray(n.references) || !n.references.every((r) => typeof r === 'string') ||
        (n.generation !== undefined && typeof n.generation !== 'number')) {
      return problem(400, 'validation-failed', request, 'the body must be { tenant: string, references: string[], generation?: number }');
    }
    if (n.tenant !== this.config.tenant) return problem(403, 'wrong-tenant', request, `this runtime serves tenant "${this.config.tenant}"`);
    const invalid = (n.references as string[]).filter((reference) => {
      try {
        this.resolver.reference(reference);
        return false;
      } catch {
        return true;
      }
    });
    if (invalid.length > 0) return problem(400, 'invalid-reference', request, `${invalid.length} reference(s) are not valid secret references`);
    const invalidated = this.resolver.invalidate(n.references as string[]);
    this.failedStatus.clear();
    const receivedAt = new Date(this.now()).toISOString();
    this.log('info', 'rotation notice', { webhookId: id, references: n.references, invalidated, generation: n.generation ?? null }, request.requestId);
    return json(200, { invalidated, receivedAt }, request.requestId);
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

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * The tenant's Lambda handler for API Gateway HTTP API (payload 2.0) and Function URL events.
 * Cold start happens when this is called (module initialisation of the artifact); a bad
 * configuration is logged once and every request then answers 500 `runtime-misconfigured`.
 */
export function createLambdaHandler(extensions: BundledExtension[], options: LambdaHandlerOptions = {}): RuntimeHandler {
  const write = options.write ?? stdoutWriter;
  let config: RuntimeConfig | undefined;
  let failure: RuntimeConfigError | undefined;
  try {
    config = loadRuntimeConfig(options.env ?? process.env);
  } catch (error) {
    failure = error instanceof RuntimeConfigError ? error : new RuntimeConfigError([describe(error)], { cause: error });
    write(JSON.stringify({
      time: new Date().toISOString(),
      level: 'error',
      tenant: (options.env ?? process.env).SOVEREIGN_TENANT ?? null,
      stage: (options.env ?? process.env).SOVEREIGN_STAGE ?? null,
      extension: null,
      requestId: null,
      message: 'runtime misconfigured: every request will answer 500',
      fields: { problems: failure.problems },
    }));
  }

  const runtime: Promise<TenantRuntime | undefined> = config === undefined
    ? Promise.resolve(undefined)
    : (async () => {
        const cfg = config as RuntimeConfig;
        // The backend's module loads while the extensions do; the runtime serves once both are ready.
        const backend = options.secretBackend === undefined ? selectBackend(cfg, options) : Promise.resolve(options.secretBackend);
        const instance = new TenantRuntime(cfg, deferredBackend(backend), options);
        await Promise.all([backend, instance.init(extensions)]);
        instance.log('info', 'cold start complete', {
          artifact: cfg.artifact,
          extensions: [...instance.extensions.values()].map((e) => `${e.name}:${e.status}`),
        });
        return instance;
      })();
  // Never an unhandled rejection at init: the first request reports it.
  runtime.catch(() => undefined);

  let ready: TenantRuntime | undefined;
  const serve = (instance: TenantRuntime, request: IncomingRequest): Promise<HttpResultV2> => {
    let result: Promise<HttpResultV2> | HttpResultV2;
    try {
      result = instance.handle(request);
    } catch (error) {
      result = instance.internalError(error, request);
    }
    return result instanceof Promise ? result : Promise.resolve(result);
  };
  const start = async (request: IncomingRequest): Promise<HttpResultV2> => {
    let instance: TenantRuntime | undefined;
    try {
      instance = await runtime;
    } catch (error) {
      write(JSON.stringify({ time: new Date().toISOString(), level: 'error', message: 'runtime failed to start', requestId: request.requestId, fields: { error: describe(error) } }));
      return problem(500, 'runtime-failed', request, 'the tenant runtime failed to start');
    }
    if (instance === undefined) return problem(500, 'runtime-misconfigured', request, 'the tenant runtime is misconfigured');
    ready = instance;
    return serve(instance, request);
  };
  // Not `async`: a warm request's promise is the route's own, handed back without another hop.
  const handler = ((event: HttpEventV2, context?: LambdaContextLike) => {
    const request = normaliseEvent(event, context, requestIdFallback);
    if (ready !== undefined) return serve(ready, request);
    if (failure) return Promise.resolve(problem(500, 'runtime-misconfigured', request, 'the tenant runtime is misconfigured; see the cold-start log line'));
    return start(request);
  }) as RuntimeHandler;
  handler.runtime = runtime;
  return handler;
}

/** A backend that forwards to `ready` once it settles (nothing is fetched before the runtime serves). */
function deferredBackend(ready: Promise<SecretBackend>): SecretBackend {
  let backend: SecretBackend | undefined;
  ready.then((selected) => (backend = selected), () => undefined);
  return {
    get name() {
      return backend?.name ?? 'pending';
    },
    fetch: (reference) => (backend === undefined ? ready.then((selected) => selected.fetch(reference)) : backend.fetch(reference)),
  };
}

/**
 * A request id when neither the event nor the Lambda context carries one (both always do on AWS).
 * The global Web Crypto loads on first use; importing node:crypto would cost every cold start.
 */
function requestIdFallback(): string {
  return globalThis.crypto.randomUUID();
}

async function selectBackend(config: RuntimeConfig, options: LambdaHandlerOptions): Promise<SecretBackend> {
  if (config.secretsBackend.kind === 'vault') {
    const { createVaultSecretBackend } = await import('./secrets/vault-backend.js');
    return createVaultSecretBackend({ path: config.secretsBackend.path, keyFile: config.secretsBackend.keyFile, tenant: config.tenant });
  }
  return createAwsSecretBackend({ ssm: options.aws?.ssm, secretsManager: options.aws?.secretsManager });
}
