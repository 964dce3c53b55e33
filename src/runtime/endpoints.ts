/**
 * Sovereign's own endpoints under `/_sovereign/`: health (extensions, secret references, cache
 * figures), the tenant's OpenAPI document, and the rotation webhook that drops cached secrets.
 * None is on an extension route's path: OpenAPI generation (zod) and webhook verification
 * (node:crypto) load on their first request.
 */
import { formatSecretMapping } from '../contract/secret-mapping.js';
import type { RuntimeConfig } from './config.js';
import type { ExtensionState } from './cold-start.js';
import { describeError } from './errors.js';
import type { GenerationWatcher } from './generation-reader.js';
import { json, problem, type HttpResultV2, type IncomingRequest } from './http.js';
import type { LogLevel } from './log.js';
import type { CacheTraffic, RuntimeMetrics } from './runtime-metrics.js';
import { statusOf, type ReferenceStatus, type SecretResolver } from './secrets/resolver.js';
import { RUNTIME_PATHS } from '../contract/runtime-paths.js';
import type { ReplayGuard } from './webhook.js';

const HEALTH = RUNTIME_PATHS.health;
const OPENAPI = RUNTIME_PATHS.openapi;
const ROTATION = RUNTIME_PATHS.rotation;
const RUNTIME_ROUTES: Record<string, string | undefined> = Object.assign(Object.create(null) as Record<string, string>, {
  [HEALTH]: 'GET',
  [OPENAPI]: 'GET',
  [ROTATION]: 'POST',
});

/** What the endpoints read from the runtime that serves them. */
export interface EndpointHost {
  config: RuntimeConfig;
  resolver: SecretResolver;
  watcher: GenerationWatcher;
  extensions: Map<string, ExtensionState>;
  metrics: RuntimeMetrics;
  now: () => number;
  startedAt: number;
  log(level: LogLevel, message: string, fields?: Record<string, unknown>, requestId?: string): void;
  /** The logged 500 of a request that failed unexpectedly. */
  internalError(error: unknown, request: IncomingRequest): HttpResultV2;
}

/** The `/_sovereign/` endpoints of one tenant runtime, with what they remember between requests. */
export class RuntimeEndpoints {
  /** Created with the webhook module on the first rotation notice. */
  private replay: ReplayGuard | undefined;
  private openapi: string | undefined;
  private readonly failedStatus = new Map<string, { status: ReferenceStatus; at: number }>();
  /** Cache lookups made by health's own reference checks (not tenant traffic). */
  private healthLookups = { hits: 0, misses: 0 };

  constructor(private readonly host: EndpointHost) {}

  /** Answers a request whose path starts with `/_sovereign/`. */
  serve(request: IncomingRequest): Promise<HttpResultV2> | HttpResultV2 {
    const path = request.path;
    const runtimeMethod = RUNTIME_ROUTES[path];
    if (runtimeMethod === undefined) return problem(404, 'not-found', request, `no runtime endpoint ${path}`);
    if (request.method !== runtimeMethod) {
      return problem(405, 'method-not-allowed', request, `${path} accepts ${runtimeMethod}`, {}, { allow: runtimeMethod });
    }
    const pending = path === HEALTH ? this.health(request) : path === OPENAPI ? this.openApi(request) : this.rotation(request);
    return pending.then(undefined, (error: unknown) => this.host.internalError(error, request));
  }

  /** Forgets remembered reference failures (the secrets they name may have changed). */
  forgetFailures(): void {
    this.failedStatus.clear();
  }

  /** Cumulative cache lookups of route traffic: health's own checks are subtracted, so a health poller does not count. */
  cacheTraffic(): CacheTraffic {
    const stats = this.host.resolver.cache.stats;
    return { hits: stats.hits - this.healthLookups.hits, misses: stats.misses - this.healthLookups.misses };
  }

  private async health(request: IncomingRequest): Promise<HttpResultV2> {
    const { config, resolver, watcher } = this.host;
    const stats = resolver.cache.stats;
    const { hits, misses } = this.cacheTraffic();
    const { staleServed, evictions } = stats;
    const lookups = hits + misses;
    const secretCache = { hits, misses, staleServed, evictions, hitRate: lookups === 0 ? null : Math.round((hits / lookups) * 1000) / 1000 };
    const references = config.tenantConfig.secrets;
    const checks: Array<Promise<{ key: string; reference: string | null; status: ReferenceStatus | 'unset'; required?: boolean }>> = [];
    for (const state of this.host.extensions.values()) {
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
    const webhook = config.tenantConfig.webhookSecret;
    const [secrets, webhookStatus] = await Promise.all([Promise.all(checks), this.referenceStatus(webhook)]);
    // `stats` is live: whatever it gained since the subtraction above came from these checks.
    this.healthLookups = { hits: stats.hits - hits, misses: stats.misses - misses };
    const extensions = [...this.host.extensions.values()].map((s) => ({
      name: s.name,
      status: s.status,
      ...(s.manifest ? { version: s.manifest.version } : {}),
      ...(s.error ? { error: s.error } : {}),
    }));
    const degraded =
      extensions.some((e) => e.status === 'failed') ||
      secrets.some((s) => s.status !== 'ok' && !(s.status === 'unset' && s.required === false)) ||
      webhookStatus !== 'ok';
    const marker = watcher.marker;
    const body = {
      status: watcher.suspended ? 'suspended' : degraded ? 'degraded' : 'ok',
      tenant: config.tenant,
      stage: config.stage,
      tier: config.tier,
      artifact: config.artifact,
      suspended: watcher.suspended,
      generation: marker?.generation ?? null,
      uptimeSeconds: Math.round((this.host.now() - this.host.startedAt) / 1000),
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
    const now = this.host.now();
    const failed = this.failedStatus.get(reference);
    if (failed !== undefined && now - failed.at < 10_000) return failed.status;
    const status = await this.host.resolver.status(reference);
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
      const { config } = this.host;
      const manifests = [...this.host.extensions.values()].flatMap((s) => (s.status === 'ok' && s.manifest ? [s.manifest] : []));
      this.openapi = JSON.stringify(
        buildOpenApiDocument(manifests, { tenant: config.tenant, stage: config.stage, version: config.artifact, auth: config.tenantConfig.auth }),
      );
    }
    return { statusCode: 200, headers: { 'content-type': 'application/json', 'x-request-id': request.requestId }, body: this.openapi, isBase64Encoded: false };
  }

  private async rotation(request: IncomingRequest): Promise<HttpResultV2> {
    const { config, resolver } = this.host;
    // Loaded on the first notice: it needs node:crypto, which costs milliseconds at cold start.
    const { ReplayGuard, verifyWebhook, WebhookVerificationError, MAX_WEBHOOK_BODY_BYTES } = await import('./webhook.js');
    if (request.bodyBytes > MAX_WEBHOOK_BODY_BYTES) {
      return problem(413, 'webhook-too-large', request, `the body is larger than ${MAX_WEBHOOK_BODY_BYTES} bytes`);
    }
    let secret: string;
    try {
      secret = await resolver.resolve(config.tenantConfig.webhookSecret);
    } catch (error) {
      this.host.log('error', 'the webhook secret cannot be resolved', { status: statusOf(error), error: describeError(error) }, request.requestId);
      this.host.metrics.error();
      return problem(503, 'webhook-secret-unavailable', request, 'the webhook signing secret is unavailable');
    }
    let id: string;
    try {
      ({ id } = verifyWebhook({ secret, headers: request.headers, body: request.body, bodyBytes: request.bodyBytes, now: this.host.now(), replay: (this.replay ??= new ReplayGuard()) }));
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      const status = { 'missing-header': 400, 'bad-timestamp': 400, 'too-large': 413, replayed: 409 }[error.reason as string] ?? 401;
      this.host.log('warn', 'rotation webhook refused', { reason: error.reason, sourceIp: request.sourceIp }, request.requestId);
      return problem(status, `webhook-${error.reason}`, request, error.message);
    }
    let notice: unknown;
    try {
      notice = JSON.parse(request.body);
    } catch {
      return problem(400, 'invalid-json', request, 'the body is not valid JSON');
    }
    const n = notice as { tenant?: unknown; references?: unknown; generation?: unknown; vaultGeneration?: unknown };
    if (typeof n !== 'object' || n === null || typeof n.tenant !== 'string' || !Array.isArray(n.references) || !n.references.every((r) => typeof r === 'string') ||
        (n.generation !== undefined && typeof n.generation !== 'number') || (n.vaultGeneration !== undefined && !Number.isSafeInteger(n.vaultGeneration))) {
      return problem(400, 'validation-failed', request, 'the body must be { tenant: string, references: string[], generation?: number, vaultGeneration?: integer }');
    }
    if (n.tenant !== config.tenant) return problem(403, 'wrong-tenant', request, `this runtime serves tenant "${config.tenant}"`);
    const invalid = (n.references as string[]).filter((reference) => {
      try {
        resolver.reference(reference);
        return false;
      } catch {
        return true;
      }
    });
    if (invalid.length > 0) return problem(400, 'invalid-reference', request, `${invalid.length} reference(s) are not valid secret references`);
    // Signed: the vault this rotation wrote is at least this generation, an older copy is refused.
    if (typeof n.vaultGeneration === 'number') resolver.raiseVaultFloor(n.vaultGeneration);
    const invalidated = resolver.invalidate(n.references as string[]);
    this.failedStatus.clear();
    const receivedAt = new Date(this.host.now()).toISOString();
    this.host.log('info', 'rotation notice', { webhookId: id, references: n.references, invalidated, generation: n.generation ?? null }, request.requestId);
    return json(200, { invalidated, receivedAt }, request.requestId);
  }
}
