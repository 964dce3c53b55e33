import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextGeneration, serializeGenerationMarker } from '../src/contract/generation.js';
import { createLambdaHandler } from '../src/runtime/handler.js';
import { startLocalTable, type LocalTable } from '../src/testing/dynalite.js';
import { CANARY, JSON_CANARY, makeRuntime, tenantConfig, WEBHOOK_SECRET , apiGatewayEvent, functionUrlEvent } from './runtime-fixtures.js';

let table: LocalTable;
let dir: string;
beforeAll(async () => {
  table = await startLocalTable('sovereign-dev-acme');
  dir = mkdtempSync(join(tmpdir(), 'sovereign-runtime-'));
});
afterAll(async () => {
  await table.close();
  rmSync(dir, { recursive: true, force: true });
});

const body = (result: { body: string }) => JSON.parse(result.body) as Record<string, any>;

describe.each([
  ['API Gateway HTTP API v2', apiGatewayEvent],
  ['Lambda Function URL', functionUrlEvent],
])('tenant runtime with %s events', (_name, event) => {
  it('routes by method and path parameters, validates bodies and writes to the prefixed table', async () => {
    const { handler } = makeRuntime({ table });
    const created = await handler(event('POST', '/orders/orders', { body: { id: 'o-1', total: 42 } }), {});
    expect(created.statusCode).toBe(201);
    expect(created.headers.location).toBe('/orders/orders/o-1');
    expect(created.headers['x-request-id']).toBeTruthy();
    const read = await handler(event('GET', '/orders/orders/o-1'), {});
    expect(read.statusCode).toBe(200);
    expect(body(read)).toEqual({ id: 'o-1', total: 42 });
    expect((await table.items()).find((i) => i.sk === 'o-1')).toMatchObject({ pk: 'orders#order' });
    // A literal segment beats a parameter.
    expect(body(await handler(event('GET', '/orders/orders/latest'), {}))).toEqual({ id: 'latest', total: 0 });
    const missing = await handler(event('GET', '/orders/orders/none'), {});
    expect(missing.statusCode).toBe(404);
    const removed = await handler(event('DELETE', '/orders/orders/o-1'), {});
    expect(removed.statusCode).toBe(204);
  });

  it('answers 404 and 405 (with Allow) as problem+json carrying the request id', async () => {
    const { handler } = makeRuntime({ table });
    const notFound = await handler(event('GET', '/orders/nothing-here', { requestId: 'req-404' }), {});
    expect(notFound.statusCode).toBe(404);
    expect(notFound.headers['content-type']).toBe('application/problem+json');
    expect(body(notFound)).toMatchObject({ status: 404, title: 'Not Found', instance: '/orders/nothing-here', requestId: 'req-404' });
    expect(body(notFound).type).toMatch(/^https:\/\//);
    const notAllowed = await handler(event('PUT', '/orders/orders/o-1'), {});
    expect(notAllowed.statusCode).toBe(405);
    expect(notAllowed.headers.allow).toBe('DELETE, GET');
    expect(body(notAllowed).status).toBe(405);
    expect((await handler(event('GET', '/unknown-extension/x'), {})).statusCode).toBe(404);
  });

  it('answers 400 listing every schema issue of body and query', async () => {
    const { handler } = makeRuntime({ table });
    const bad = await handler(event('POST', '/orders/orders', { body: { id: '', total: -1 } }), {});
    expect(bad.statusCode).toBe(400);
    const issues = body(bad).issues as Array<{ path: string; in: string }>;
    expect(issues.map((i) => i.path).sort()).toEqual(['id', 'total']);
    expect(issues.every((i) => i.in === 'body')).toBe(true);
    const badQuery = await handler(event('POST', '/orders/orders', { body: { id: 'q', total: 1 }, query: { dryRun: 'maybe' } }), {});
    expect(badQuery.statusCode).toBe(400);
    expect(body(badQuery).issues[0]).toMatchObject({ in: 'query', path: 'dryRun' });
    const notJson = await handler(event('POST', '/orders/orders', { body: '{"id":', headers: { 'content-type': 'application/json' } }), {});
    expect(notJson.statusCode).toBe(400);
    expect(body(notJson).type).toContain('invalid-json');
  });

  it('decodes base64 bodies, raw query strings and cookies', async () => {
    const { handler } = makeRuntime({ table });
    const result = await handler(event('GET', '/orders/echo', { body: { a: 1 }, base64: true, query: 'x=1&y=two&x=3', cookies: ['s=1', 't=2'] }), {});
    expect(body(result)).toEqual({ query: { x: '1', y: 'two' }, headers: { cookie: 's=1; t=2' }, body: { a: 1 } });
  });

  it('turns a throwing handler into a 500 problem with the request id and no stack or secret', async () => {
    const { handler, lines } = makeRuntime({ table });
    await handler(event('POST', '/orders/orders', { body: { id: 'o-2', total: 1 } }), {}); // hands out CANARY
    const result = await handler(event('GET', '/orders/boom', { requestId: 'req-boom' }), {});
    expect(result.statusCode).toBe(500);
    expect(body(result)).toMatchObject({ status: 500, requestId: 'req-boom' });
    expect(result.body).not.toMatch(/exploded|\/srv\/app\.js|at |stack/);
    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.message === 'handler failed');
    expect(logged).toMatchObject({ level: 'error', tenant: 'acme', stage: 'dev', extension: 'orders', requestId: 'req-boom' });
    expect(lines.join('\n')).not.toContain(CANARY);
    expect(JSON.stringify(logged)).toContain('exploded at /srv/app.js with ***');
  });

  it('masks every resolved secret value in every log line, nested or inside longer strings', async () => {
    const { handler, lines } = makeRuntime({ table });
    expect((await handler(event('POST', '/orders/orders', { body: { id: 'o-3', total: 1 }, query: { dryRun: 'true' } }), {})).statusCode).toBe(201);
    expect((await handler(event('GET', '/orders/secret'), {})).statusCode).toBe(200);
    const all = lines.join('\n');
    expect(all).not.toContain(CANARY);
    expect(all).not.toContain(JSON_CANARY);
    const created = lines.map((l) => JSON.parse(l)).find((l) => l.message === 'creating order');
    expect(created.fields.auth).toBe('Bearer ***');
    const warned = lines.map((l) => JSON.parse(l)).find((l) => l.level === 'warn');
    expect(warned).toMatchObject({ message: 'got ***', fields: { value: '***', list: ['***', { again: '***' }] } });
  });

  it('emits CloudWatch EMF metrics with Tenant, Extension and Route dimensions', async () => {
    const { handler, lines } = makeRuntime({ table });
    await handler(event('POST', '/orders/orders', { body: { id: 'o-4', total: 1 }, query: { dryRun: 'true' } }), {});
    const emf = lines.map((l) => JSON.parse(l)).find((l) => l._aws);
    expect(emf).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: 'Sovereign', Dimensions: [['Tenant', 'Extension', 'Route']], Metrics: [{ Name: 'OrdersCreated', Unit: 'Count' }] }] },
      Tenant: 'acme', Extension: 'orders', Route: 'POST /orders', OrdersCreated: 1,
    });
  });

  it('refuses undeclared secret keys by name', async () => {
    const { handler, lines } = makeRuntime({ table });
    const result = await handler(event('GET', '/orders/undeclared'), {});
    expect(result.statusCode).toBe(500);
    expect(lines.join('\n')).toContain('UndeclaredSecretError: extension \\"orders\\" does not declare the secret key \\"not_declared\\"');
  });
});

describe('faults and runtime endpoints', () => {
  it('reports an extension that failed to load, answers 503 on its routes and keeps serving the others', async () => {
    const { handler, lines } = makeRuntime({ table });
    const failed = await handler(apiGatewayEvent('GET', '/broken/anything'), {});
    expect(failed.statusCode).toBe(503);
    expect(body(failed).detail).toContain('"broken"');
    expect((await handler(apiGatewayEvent('GET', '/billing/invoices'), {})).statusCode).toBe(200);
    const health = body(await handler(apiGatewayEvent('GET', '/_sovereign/health'), {}));
    expect(health.extensions).toEqual([
      { name: 'orders', status: 'ok', version: '1.2.0' },
      { name: 'billing', status: 'ok', version: '0.1.0' },
      { name: 'broken', status: 'failed', error: 'Error: SyntaxError in broken/extension.ts' },
    ]);
    expect(lines.some((l) => l.includes('extension failed to load'))).toBe(true);
  });

  it('health lists tenant, artifact, uptime and reference statuses without any value', async () => {
    const { handler, backend } = makeRuntime({
      table,
      tenantConfig: tenantConfig({
        secrets: {
          'orders.api_key': 'ssm:/dev/tenants/acme/orders/api_key',
          'orders.json_key': 'secretsmanager:dev/tenants/acme/gone:token',
        },
      }),
    });
    const result = await handler(apiGatewayEvent('GET', '/_sovereign/health'), {});
    expect(result.statusCode).toBe(200);
    const health = body(result);
    expect(health).toMatchObject({ tenant: 'acme', stage: 'dev', tier: 'premium', artifact: 'sha256:0f0e', suspended: false, status: 'degraded' });
    expect(typeof health.uptimeSeconds).toBe('number');
    expect(health.secrets).toEqual([
      { key: 'orders.api_key', reference: 'ssm:/dev/tenants/acme/orders/api_key', status: 'ok' },
      { key: 'orders.json_key', reference: 'secretsmanager:dev/tenants/acme/gone:token', status: 'missing' },
    ]);
    expect(health.webhookSecret).toEqual({ reference: 'ssm:/dev/tenants/acme/_sovereign/webhook_secret', status: 'ok' });
    expect(result.body).not.toContain(CANARY);
    expect(result.body).not.toContain(WEBHOOK_SECRET);
    expect(result.body).not.toContain(JSON_CANARY);
    // A health poller does not turn the missing reference into a stream of backend calls.
    const calls = backend.calls;
    await handler(apiGatewayEvent('GET', '/_sovereign/health'), {});
    await handler(apiGatewayEvent('GET', '/_sovereign/health'), {});
    expect(backend.calls).toBe(calls);
    // …nor into secret-cache traffic: only route lookups count.
    expect(body(await handler(apiGatewayEvent('GET', '/_sovereign/health'), {})).secretCache).toMatchObject({ hits: 0, misses: 0, hitRate: null });
  });

  it('reports the secret cache hit rate of route traffic in health', async () => {
    const { handler } = makeRuntime({ table });
    for (let i = 0; i < 4; i += 1) expect((await handler(apiGatewayEvent('GET', '/orders/secret'), {})).statusCode).toBe(200);
    const cache = body(await handler(apiGatewayEvent('GET', '/_sovereign/health'), {})).secretCache;
    expect(cache).toMatchObject({ hits: 3, misses: 1, hitRate: 0.75 });
  });

  it('serves an OpenAPI 3.1 document of the enabled, loaded extensions', async () => {
    const { handler } = makeRuntime({ table });
    const doc = body(await handler(apiGatewayEvent('GET', '/_sovereign/openapi.json'), {}));
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(['/_sovereign/health', '/_sovereign/openapi.json', '/_sovereign/webhooks/rotation', '/billing/invoices', '/orders/boom', '/orders/echo', '/orders/orders', '/orders/orders/latest', '/orders/orders/{id}', '/orders/secret', '/orders/undeclared']);
    const post = doc.paths['/orders/orders'].post;
    expect(post.requestBody.content['application/json'].schema).toMatchObject({ type: 'object', required: ['id', 'total'] });
    expect(post.parameters).toEqual([{ name: 'dryRun', in: 'query', required: false, schema: { type: 'string', enum: ['true', 'false'] } }]);
    expect(doc.paths['/orders/orders/{id}'].get.parameters[0]).toMatchObject({ name: 'id', in: 'path', required: true });
    expect(doc.paths['/orders/orders/{id}'].get.responses['200'].content['application/json'].schema.required).toEqual(['id', 'total']);
  });

  it('answers 403 on extension routes of a suspended tenant while runtime endpoints keep working', async () => {
    const file = join(dir, 'suspended.json');
    writeFileSync(file, serializeGenerationMarker(nextGeneration(undefined, { suspended: true })));
    const { handler } = makeRuntime({ table, generationFile: file });
    const result = await handler(apiGatewayEvent('GET', '/billing/invoices'), {});
    expect(result.statusCode).toBe(403);
    expect(body(result).type).toContain('tenant-suspended');
    const health = body(await handler(apiGatewayEvent('GET', '/_sovereign/health'), {}));
    expect(health).toMatchObject({ suspended: true, status: 'suspended' });
    // Resumed: the marker is read again after the interval (0 ms here).
    writeFileSync(file, serializeGenerationMarker(nextGeneration(undefined, { suspended: false })));
  });

  it('reads the suspension from the DynamoDB generation item', async () => {
    const { PutCommand, DeleteCommand } = await import('@aws-sdk/lib-dynamodb');
    const { generationMarkerToItem } = await import('../src/contract/generation.js');
    await table.client.send(new PutCommand({ TableName: table.name, Item: generationMarkerToItem(nextGeneration(undefined, { suspended: true })) }));
    try {
      const { handler } = makeRuntime({ table });
      expect((await handler(apiGatewayEvent('GET', '/billing/invoices'), {})).statusCode).toBe(403);
    } finally {
      await table.client.send(new DeleteCommand({ TableName: table.name, Key: { pk: '_sovereign', sk: 'generation' } }));
    }
  });

  it('a misconfigured environment logs one clear cold-start line and every request answers 500', async () => {
    const lines: string[] = [];
    const handler = createLambdaHandler([], {
      env: {
        SOVEREIGN_TENANT: 'acme',
        SOVEREIGN_STAGE: 'dev',
        SOVEREIGN_TABLE: 't',
        SOVEREIGN_TENANT_CONFIG: JSON.stringify({ ...tenantConfig(), extensionz: [] }),
        SOVEREIGN_SECRETS_BACKEND: 'kms',
        SOVEREIGN_BOGUS: '1',
      },
      write: (line) => lines.push(line),
    });
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] as string);
    expect(line).toMatchObject({ level: 'error', tenant: 'acme' });
    expect(line.fields.problems).toEqual(expect.arrayContaining([
      'unknown variable SOVEREIGN_BOGUS',
      'SOVEREIGN_SECRETS_BACKEND "kms" must be aws or vault',
      'SOVEREIGN_TENANT_CONFIG has unknown key "extensionz"',
    ]));
    for (const path of ['/orders/orders/1', '/_sovereign/health']) {
      const result = await handler(apiGatewayEvent('GET', path), {});
      expect(result.statusCode).toBe(500);
      expect(result.headers['content-type']).toBe('application/problem+json');
      expect(body(result).type).toContain('runtime-misconfigured');
    }
  });

  it('reports an enabled extension missing from the artifact and one whose config does not match its schema', async () => {
    const { z } = await import('zod');
    const strict = {
      name: 'strict',
      load: async () => ({
        manifest: { name: 'strict', version: '1.0.0', description: 'd', routes: [], config: z.object({ region: z.enum(['eu', 'us']) }) },
        handlers: {},
      }),
    };
    const { handler } = makeRuntime({
      table,
      extensions: [strict],
      tenantConfig: tenantConfig({ extensions: ['strict', 'ghost'], config: { strict: { region: 'mars' } } }),
    });
    const health = body(await handler(apiGatewayEvent('GET', '/_sovereign/health'), {}));
    expect(health.extensions).toEqual([
      { name: 'strict', status: 'failed', error: expect.stringContaining('region') },
      { name: 'ghost', status: 'failed', error: 'not in the deployed artifact' },
    ]);
  });
});
