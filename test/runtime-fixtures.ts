/** Shared fixtures of the runtime tests: three small extensions and a handler factory. */
import { z } from 'zod';
import { defineExtension, defineHandler } from '../src/runtime/extension.js';
import { createLambdaHandler, type BundledExtension, type LambdaHandlerOptions } from '../src/runtime/handler.js';
import { createMemorySecretFetcher } from '../src/runtime/secrets/memory.js';
import type { LocalTable } from '../src/testing/dynalite.js';
import { apiGatewayEvent as kitApiGatewayEvent, functionUrlEvent as kitFunctionUrlEvent, type TestEventOptions } from '../src/testing/events.js';
import { TEST_AUDIENCE, TEST_ISSUER } from '../src/testing/index.js';
import type { HttpEventV2 } from '../src/runtime/http.js';
import type { TenantAuth } from '../src/contract/auth.js';

export const CANARY = 'canary-VALUE-7b1e0c9d';
export const JSON_CANARY = 'json-canary-55aa11ff';
export const WEBHOOK_SECRET = 'whsec_c292ZXJlaWduLXRlc3Qtd2ViaG9vay1rZXk=';

export const orders = defineExtension({
  name: 'orders',
  version: '1.2.0',
  description: 'Orders API',
  routes: [
    { method: 'GET', path: '/orders/{id}', handler: 'get-order', summary: 'Read one order', response: z.object({ id: z.string(), total: z.number() }) },
    { method: 'GET', path: '/orders/latest', handler: 'get-order#latest' },
    {
      method: 'POST', path: '/orders', handler: 'create-order',
      request: { body: z.object({ id: z.string().min(1), total: z.number().positive() }), query: z.object({ dryRun: z.enum(['true', 'false']).optional() }) },
    },
    { method: 'DELETE', path: '/orders/{id}', handler: 'get-order#remove' },
    { method: 'GET', path: '/boom', handler: 'boom' },
    { method: 'GET', path: '/secret', handler: 'boom#secret' },
    { method: 'GET', path: '/undeclared', handler: 'boom#undeclared' },
    { method: 'GET', path: '/echo', handler: 'boom#echo' },
  ],
  secrets: [
    { key: 'api_key', description: 'API key' },
    { key: 'json_key', description: 'From a JSON secret' },
  ],
});

export const orderHandlers: Record<string, Record<string, unknown>> = {
  'get-order': {
    handler: defineHandler<unknown, unknown>(async (request, ctx) => {
      const item = await ctx.db.get('order', request.params.id ?? '');
      return item ? { id: request.params.id, total: item.total } : { status: 404, body: { message: 'no such order' } };
    }),
    latest: defineHandler(async () => ({ id: 'latest', total: 0 })),
    remove: defineHandler(async (request, ctx) => {
      await ctx.db.delete('order', request.params.id ?? '');
      return undefined;
    }),
  },
  'create-order': {
    default: defineHandler<{ id: string; total: number }>(async (request, ctx) => {
      const key = await ctx.secrets.get('api_key');
      ctx.log.info('creating order', { id: request.body.id, auth: `Bearer ${key}`, query: request.query });
      ctx.metrics.count('OrdersCreated');
      if ((request.query as Record<string, string>).dryRun !== 'true') {
        await ctx.db.put({ pk: 'order', sk: request.body.id, total: request.body.total });
      }
      return { status: 201, headers: { Location: `/orders/orders/${request.body.id}` }, body: request.body };
    }),
  },
  boom: {
    handler: defineHandler(async () => {
      throw new Error(`exploded at /srv/app.js with ${CANARY}`);
    }),
    secret: defineHandler(async (_request, ctx) => {
      const value = await ctx.secrets.get('json_key');
      ctx.log.warn(`got ${value}`, { value, list: [value, { again: value }] });
      return { length: value.length };
    }),
    undeclared: defineHandler(async (_request, ctx) => ctx.secrets.get('not_declared')),
    echo: defineHandler(async (request) => ({ query: request.query, headers: { cookie: request.headers.cookie ?? null }, body: request.body ?? null })),
  },
};

export const billing = defineExtension({
  name: 'billing',
  version: '0.1.0',
  description: 'Billing',
  routes: [{ method: 'GET', path: '/invoices', handler: 'invoices' }],
});

export const broken: BundledExtension = {
  name: 'broken',
  load: async () => {
    throw new Error('SyntaxError in broken/extension.ts');
  },
};

export function bundled(): BundledExtension[] {
  return [
    { name: 'orders', load: async () => ({ manifest: orders, handlers: orderHandlers }) },
    { name: 'billing', load: async () => ({ manifest: billing, handlers: { invoices: { handler: async () => [{ id: 'inv-1' }] } } }) },
    broken,
  ];
}

export interface RuntimeFixtureOptions {
  table: LocalTable;
  generationFile?: string;
  env?: Record<string, string>;
  tenantConfig?: Record<string, unknown>;
  now?: () => number;
  extensions?: BundledExtension[];
}

export function tenantConfig(overrides: Record<string, unknown> = {}) {
  return {
    extensions: ['orders', 'billing', 'broken'],
    secrets: {
      'orders.api_key': 'ssm:/dev/tenants/acme/orders/api_key',
      'orders.json_key': 'secretsmanager:dev/tenants/acme/orders:token',
    },
    config: {},
    webhookSecret: 'ssm:/dev/tenants/acme/_sovereign/webhook_secret',
    auth: FIXTURE_AUTH,
    ...overrides,
  };
}

/** The caller rules of the fixture's tenant: one issuer shared by tenants, the tenant in `tenant_id`. */
export const FIXTURE_AUTH: TenantAuth = { issuers: [TEST_ISSUER], audiences: [TEST_AUDIENCE], tenantClaim: 'tenant_id', apiKeys: true };

/** Claims of a valid token of tenant `acme` as API Gateway's JWT authorizer passes them on. */
export function acmeClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { iss: TEST_ISSUER, aud: TEST_AUDIENCE, sub: 'user-1', tenant_id: 'acme', iat: now, exp: now + 3600, ...overrides };
}

/**
 * The testing kit's event builders with a JWT caller of `acme` (verified by API Gateway's
 * authorizer) unless the options give `jwt` (claims) themselves; `jwt: undefined` sends none.
 */
export function apiGatewayEvent(method: string, path: string, options: TestEventOptions = {}): HttpEventV2 {
  return kitApiGatewayEvent(method, path, 'jwt' in options ? options : { ...options, jwt: acmeClaims() });
}

export function functionUrlEvent(method: string, path: string, options: TestEventOptions = {}): HttpEventV2 {
  return kitFunctionUrlEvent(method, path, 'jwt' in options ? options : { ...options, jwt: acmeClaims() });
}

export function makeRuntime(options: RuntimeFixtureOptions) {
  const lines: string[] = [];
  const backend = createMemorySecretFetcher({
    'ssm:/dev/tenants/acme/orders/api_key': CANARY,
    'secretsmanager:dev/tenants/acme/orders': JSON.stringify({ token: JSON_CANARY, other: 'x' }),
    'ssm:/dev/tenants/acme/_sovereign/webhook_secret': WEBHOOK_SECRET,
  });
  const handlerOptions: LambdaHandlerOptions = {
    env: {
      SOVEREIGN_TENANT: 'acme',
      SOVEREIGN_STAGE: 'dev',
      SOVEREIGN_TIER: 'premium',
      SOVEREIGN_TABLE: options.table.name,
      SOVEREIGN_ARTIFACT: 'sha256:0f0e',
      SOVEREIGN_TENANT_CONFIG: JSON.stringify(options.tenantConfig ?? tenantConfig()),
      SOVEREIGN_GENERATION_SOURCE: options.generationFile ? `file:${options.generationFile}` : 'dynamodb',
      ...options.env,
    },
    secretBackend: backend,
    aws: { documentClient: options.table.client },
    write: (line) => lines.push(line),
    ...(options.now ? { now: options.now } : {}),
  };
  const handler = createLambdaHandler(options.extensions ?? bundled(), handlerOptions);
  return { handler, lines, backend };
}
