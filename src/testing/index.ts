/**
 * `sovereign-cli/testing`: the test kit for extension authors. A real route context over a real
 * (dynalite) DynamoDB table, secrets served from memory through the runtime's real resolver and
 * redactor, captured log lines, and `invoke()` to run a request through the real router.
 *
 * @example
 * const t = await createTestContext({ extension: 'avalara', manifest, handlers: { ping }, secrets: { license_key: 'x' } });
 * const res = await t.invoke('GET', '/avalara/ping');
 * expect(res.status).toBe(200);
 * await t.close();
 */
import type { CallerIdentity, ExtensionManifest, RouteContext } from '../runtime/extension.js';
import type { TenantAuth } from '../contract/auth.js';
import { createExtensionScope, createRouteContext } from '../runtime/context.js';
import { lazyDocumentClient } from '../runtime/db.js';
import { initialGenerationMarker, nextGeneration, type GenerationMarker } from '../contract/generation.js';
import { runtimeEnvironment } from '../contract/runtime-environment.js';
import { formatSecretMapping } from '../contract/secret-mapping.js';
import { webhookSecretReference } from '../contract/tenant-runtime-config.js';
import { API_KEYS_GENERATION_REFERENCE } from '../contract/auth.js';
import { createLambdaHandler, type RuntimeHandler } from '../runtime/handler.js';
import type { HttpResultV2 } from '../runtime/http.js';
import { Redactor } from '../runtime/redact.js';
import { createMemorySecretFetcher, type MemorySecretFetcher } from '../runtime/secrets/memory.js';
import { SecretResolver } from '../runtime/secrets/resolver.js';
import { apiGatewayEvent, type TestEventOptions } from './events.js';
import { scheduledEvent, withoutScheduleSettings } from '../contract/schedules.js';
import type { ScheduleRunResult } from '../runtime/schedule.js';
import { startLocalTable, type LocalTable } from './dynalite.js';

export { apiGatewayEvent, functionUrlEvent, type TestEventOptions } from './events.js';
export { startLocalTable, type LocalTable } from './dynalite.js';
export { createMemorySecretFetcher, type MemorySecretFetcher } from '../runtime/secrets/memory.js';
export type { ScheduleRunResult } from '../runtime/schedule.js';

export interface TestContextOptions {
  /** Tenant id (default `acme`). */
  tenant?: string;
  /** Stage (default `test`). */
  stage?: string;
  tier?: 'basic' | 'standard' | 'premium';
  /** The extension under test. */
  extension: string;
  /** Secret values by key (`license_key`), served from memory. */
  secrets?: Record<string, string>;
  /** The tenant's settings for the extension (parsed with the manifest's config schema when there is one). */
  config?: unknown;
  /** The manifest: declared secret keys and config schema apply as in production; required by `invoke`. */
  manifest?: ExtensionManifest<any>;
  /** Handler modules by file name (`{ ping: await import('../handlers/ping.js') }`); required by `invoke`. */
  handlers?: Record<string, Record<string, unknown>>;
  /** `fetch` used by `ctx.paginate()` (default the global one). */
  fetch?: typeof fetch;
  /** `ctx.identity` of the kit's `ctx` (default a JWT caller of the tenant, see {@link testCallerIdentity}). */
  identity?: CallerIdentity;
}

/** The issuer the kit's tenant trusts; `invoke`'s default caller has a token of it. */
export const TEST_ISSUER = 'https://issuer.test.sovereign.invalid/';
/** The audience of the kit's tokens. */
export const TEST_AUDIENCE = 'sovereign-test';

/**
 * Who calls in `invoke`:
 * - `{ jwt: { … } }` (the default, with no claims given): a token API Gateway's JWT authorizer
 *   verified; the claims given are merged over a valid token of the tenant (issuer, audience,
 *   `tenant_id`, `sub: test-user`, an hour to expiry), `scopes` set its `scope` claim;
 * - `{ apiKey }`: a key from `createApiKey` (or any string: the real check runs);
 * - `'anonymous'`: no credentials (what a caller on the internet without any sends).
 */
export type TestCaller = 'anonymous' | { jwt?: Record<string, unknown>; scopes?: string[] } | { apiKey: string };

export interface TestInvokeOptions extends TestEventOptions {
  caller?: TestCaller;
}

/** `ctx.identity` of a JWT caller of `tenant` (what `createTestContext` gives its `ctx` by default). */
export function testCallerIdentity(tenant: string, scopes: string[] = []): CallerIdentity {
  return {
    kind: 'jwt',
    subject: 'test-user',
    scopes,
    claims: { iss: TEST_ISSUER, aud: TEST_AUDIENCE, sub: 'test-user', tenant_id: tenant, ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}) },
  };
}

export interface TestResponse {
  status: number;
  headers: Record<string, string>;
  /** The body parsed as JSON when it is JSON, else the text. */
  body: any;
  text: string;
}

export interface TestContext {
  /** A route context as a handler receives it (requestId `test-request`). */
  ctx: RouteContext<any>;
  /** The dynalite-backed tenant table. */
  table: LocalTable;
  /** Every log and metric line written so far (JSON strings, secrets masked). */
  logs: string[];
  /** `logs` parsed. */
  logEntries(): Array<Record<string, any>>;
  /** The in-memory secret store (change a value, count backend calls). */
  secretStore: MemorySecretFetcher;
  /** The reference the kit assigned to a secret key. */
  referenceOf(key: string): string;
  /**
   * Sends a request through the real runtime — caller check, router, handler (needs `manifest`
   * and `handlers`). The caller is a JWT caller of the tenant unless `options.caller` says otherwise.
   */
  invoke(method: string, path: string, options?: TestInvokeOptions): Promise<TestResponse>;
  /**
   * Runs one of the extension's schedules through the real runtime, with the event EventBridge
   * Scheduler sends (the manifest's payload unless `options.payload` is given). A schedule turned
   * off (`enabled: false`, or `_schedules` in `config`) is refused as in production.
   */
  runSchedule(schedule: string, options?: { payload?: unknown }): Promise<ScheduleRunResult>;
  /** Hands any event to the tenant's Lambda handler as Lambda would, and returns its answer. */
  invokeEvent(event: unknown): Promise<unknown>;
  /** Stores an API key for the tenant as `sovereign tenant keys create` does; returns the key. */
  createApiKey(options?: { name?: string; scopes?: string[]; expiresAt?: string | null }): Promise<string>;
  /** Suspends or resumes the tenant as the generation marker would. */
  setSuspended(suspended: boolean): void;
  close(): Promise<void>;
}

/** Creates a route context, a real table and, on demand, a runtime serving the extension. */
export async function createTestContext(options: TestContextOptions): Promise<TestContext> {
  const tenant = options.tenant ?? 'acme';
  const stage = options.stage ?? 'test';
  const tier = options.tier ?? 'standard';
  const table = await startLocalTable(`sovereign-${stage}-${tenant}`);
  const logs: string[] = [];
  const write = (line: string) => {
    logs.push(line);
  };
  const referenceOf = (key: string) => `ssm:/${stage}/tenants/${tenant}/${options.extension}/${key}`;
  const webhookReference = webhookSecretReference(stage, tenant);
  const secretStore = createMemorySecretFetcher({ [webhookReference]: 'whsec_dGVzdC13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5' });
  const references: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.secrets ?? {})) {
    secretStore.set(referenceOf(key), value);
    references[formatSecretMapping({ extension: options.extension, key })] = referenceOf(key);
  }

  let config: unknown = withoutScheduleSettings(options.config ?? {});
  if (options.manifest?.config) config = options.manifest.config.parse(config);
  const redactor = new Redactor();
  const resolver = new SecretResolver({ backend: secretStore, redactor });
  const scope = createExtensionScope({
    tenant: { id: tenant, stage, tier },
    extension: options.extension,
    config,
    declaredSecrets: options.manifest ? (options.manifest.secrets ?? []).map((s) => s.key) : Object.keys(options.secrets ?? {}),
    references,
    resolver,
    table: table.name,
    documentClient: lazyDocumentClient(table.client),
    redactor,
    write,
    logLevel: 'debug',
    paginateDeps: options.fetch ? { fetch: options.fetch } : {},
  });
  const ctx = createRouteContext(scope, 'test', 'test-request', options.identity ?? testCallerIdentity(tenant));
  const auth: TenantAuth = { issuers: [TEST_ISSUER], audiences: [TEST_AUDIENCE], tenantClaim: 'tenant_id', apiKeys: true };

  let marker: GenerationMarker = initialGenerationMarker();
  let handler: RuntimeHandler | undefined;
  const runtimeHandler = () => {
    if (!options.manifest || !options.handlers) {
      throw new TypeError('invoke() needs the `manifest` and `handlers` options of createTestContext');
    }
    const manifest = options.manifest;
    const handlers = options.handlers;
    handler ??= createLambdaHandler([{ name: options.extension, load: async () => ({ manifest, handlers }) }], {
      // The secret store and the marker below replace what the backend and source would select.
      env: runtimeEnvironment({
        tenant,
        stage,
        tier,
        table: table.name,
        artifact: 'test',
        tenantConfig: {
          extensions: [options.extension],
          secrets: references,
          config: { [options.extension]: options.config ?? {} },
          webhookSecret: webhookReference,
          auth,
        },
        secretsBackend: { kind: 'aws' },
        generationSource: { kind: 'dynamodb' },
        tuning: { SOVEREIGN_LOG_LEVEL: 'debug', SOVEREIGN_GENERATION_INTERVAL_MS: '0' },
      }),
      secretBackend: secretStore,
      aws: { documentClient: table.client },
      generationReader: async () => marker,
      write,
      ...(options.fetch ? { paginate: { fetch: options.fetch } } : {}),
    });
    return handler;
  };

  return {
    ctx,
    table,
    logs,
    logEntries: () => logs.map((line) => JSON.parse(line) as Record<string, any>),
    secretStore,
    referenceOf,
    async invoke(method, path, invokeOptions = {}) {
      const { caller = {}, ...eventOptions } = invokeOptions;
      const event = apiGatewayEvent(method, path, { ...eventOptions, ...callerEvent(caller, tenant, eventOptions.headers) });
      const result: HttpResultV2 = await runtimeHandler()(event, {});
      let body: unknown = result.body;
      if (/json/.test(result.headers['content-type'] ?? '') && result.body !== '') body = JSON.parse(result.body);
      return { status: result.statusCode, headers: result.headers, body, text: result.body };
    },
    runSchedule(schedule, runOptions = {}) {
      return runtimeHandler()(scheduledEvent(options.extension, schedule, runOptions.payload), { awsRequestId: `test-schedule-${schedule}` });
    },
    invokeEvent(event) {
      return (runtimeHandler() as unknown as (e: unknown, c: object) => Promise<unknown>)(event, {});
    },
    async createApiKey(keyOptions = {}) {
      const [{ apiKeyItem }, { generateApiKey, hashApiKey }, { PutCommand }] = await Promise.all([
        import('../contract/api-keys.js'), import('../runtime/key-material.js'), import('@aws-sdk/lib-dynamodb'),
      ]);
      const { key, id } = generateApiKey(stage);
      const record = {
        id,
        name: keyOptions.name ?? `test-${id.slice(4, 10)}`,
        hash: hashApiKey(key),
        scopes: keyOptions.scopes ?? [],
        createdAt: new Date().toISOString(),
        createdBy: 'sovereign-cli/testing',
        expiresAt: keyOptions.expiresAt ?? null,
      };
      await table.client.send(new PutCommand({ TableName: table.name, Item: apiKeyItem(record) }));
      // A key change moves the marker, as the CLI's does: cached lookups are dropped.
      marker = nextGeneration(marker, { references: [API_KEYS_GENERATION_REFERENCE] });
      return key;
    },
    setSuspended(suspended) {
      marker = nextGeneration(marker, { suspended });
    },
    async close() {
      await table.close();
    },
  };
}

/** The event options that present `caller`. */
function callerEvent(caller: TestCaller, tenant: string, headers: Record<string, string> = {}): TestEventOptions {
  if (caller === 'anonymous') return {};
  if ('apiKey' in caller) return { headers: { ...headers, 'x-api-key': caller.apiKey } };
  const now = Math.floor(Date.now() / 1000);
  const scopes = caller.scopes ?? [];
  return {
    jwt: {
      iss: TEST_ISSUER,
      aud: TEST_AUDIENCE,
      sub: 'test-user',
      tenant_id: tenant,
      iat: now,
      exp: now + 3600,
      ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
      ...caller.jwt,
    },
  };
}
