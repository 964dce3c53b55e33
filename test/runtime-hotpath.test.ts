/**
 * The warm request path: synchronous handlers answer without a promise hop, request headers and
 * query are read on first use yet serialise whole, any thenable result is accepted, every failure
 * (sync throw, rejection, unserialisable result) is a 500 problem, and the clock is read once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundledExtension } from '../src/runtime/handler.js';
import { defineExtension } from '../src/runtime/index.js';
import { startLocalTable, type LocalTable } from '../src/testing/dynalite.js';
import { makeRuntime, tenantConfig , apiGatewayEvent, functionUrlEvent } from './runtime-fixtures.js';

let table: LocalTable;
let dir: string;
beforeAll(async () => {
  table = await startLocalTable('sovereign-dev-acme');
  dir = mkdtempSync(join(tmpdir(), 'sovereign-hotpath-'));
});
afterAll(async () => {
  await table.close();
  rmSync(dir, { recursive: true, force: true });
});

const hot = defineExtension({
  name: 'hot',
  version: '1.0.0',
  description: 'hot path',
  routes: [
    { method: 'GET', path: '/sync/{id}', handler: 'h#sync' },
    { method: 'GET', path: '/echo/{a}/{b}', handler: 'h#echo' },
    { method: 'GET', path: '/thenable', handler: 'h#thenable' },
    { method: 'GET', path: '/throws', handler: 'h#throws' },
    { method: 'GET', path: '/rejects', handler: 'h#rejects' },
    { method: 'GET', path: '/circular', handler: 'h#circular' },
    { method: 'GET', path: '/secret', handler: 'h#secret' },
  ],
  secrets: [{ key: 'api_key', description: 'key' }],
});

const handlers = {
  sync: (request: { params: Record<string, string> }) => ({ id: request.params.id }),
  echo: (request: object) => JSON.parse(JSON.stringify(request)) as unknown,
  thenable: () => ({ then: (resolve: (value: unknown) => void) => resolve({ via: 'thenable' }) }),
  throws: () => {
    throw new Error('sync failure');
  },
  rejects: async () => {
    throw new Error('async failure');
  },
  circular: () => {
    const value: Record<string, unknown> = {};
    value.self = value;
    return value;
  },
  secret: async (_request: unknown, ctx: { secrets: { get(key: string): Promise<string> } }) => ({ length: (await ctx.secrets.get('api_key')).length }),
};

const extensions: BundledExtension[] = [{ name: 'hot', load: async () => ({ manifest: hot, handlers: { h: handlers } }) }];
const config = tenantConfig({ extensions: ['hot'], secrets: { 'hot.api_key': 'ssm:/dev/tenants/acme/orders/api_key' } });

function runtime(now?: () => number) {
  return makeRuntime({ table, extensions, tenantConfig: config, generationFile: join(dir, 'none.json'), ...(now ? { now } : {}) });
}

describe('warm request path', () => {
  it('answers a synchronous handler and cuts path parameters out of the path', async () => {
    const { handler } = runtime();
    const answer = await handler(apiGatewayEvent('GET', '/hot/sync/a%20b/'), {});
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ id: 'a b' });
  });

  it('gives handlers a request whose headers and query are read on demand yet serialise whole', async () => {
    const { handler } = runtime();
    const event = apiGatewayEvent('GET', '/hot/echo/1/2', { query: 'x=1&x=2&y=3', headers: { 'X-Custom': 'v' } });
    const answer = await handler(event, {});
    expect(JSON.parse(answer.body)).toEqual({
      method: 'GET',
      path: '/hot/echo/1/2',
      params: { a: '1', b: '2' },
      query: { x: '1', y: '3' },
      headers: expect.objectContaining({ 'x-custom': 'v' }),
    });
  });

  it('accepts a result that is any thenable', async () => {
    const { handler } = runtime();
    expect(JSON.parse((await handler(apiGatewayEvent('GET', '/hot/thenable'), {})).body)).toEqual({ via: 'thenable' });
  });

  it.each([
    ['throws synchronously', '/hot/throws'],
    ['rejects', '/hot/rejects'],
    ['returns what JSON cannot hold', '/hot/circular'],
  ])('answers 500 problem+json when the handler %s', async (_what, path) => {
    const { handler, lines } = runtime();
    const answer = await handler(apiGatewayEvent('GET', path, { requestId: 'req-hot' }), {});
    expect(answer.statusCode).toBe(500);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(answer.body)).toMatchObject({ status: 500, requestId: 'req-hot' });
    expect(lines.some((line) => line.includes('handler failed') && line.includes('req-hot'))).toBe(true);
  });

  it('reads the clock once for a warm request that checks the generation interval and a cached secret', async () => {
    let reads = 0;
    const now = () => {
      reads += 1;
      return 1_700_000_000_000;
    };
    const { handler } = runtime(now);
    expect((await handler(apiGatewayEvent('GET', '/hot/secret'), {})).statusCode).toBe(200); // cold: loads the secret
    reads = 0;
    const answer = await handler(apiGatewayEvent('GET', '/hot/secret'), {});
    expect(JSON.parse(answer.body)).toEqual({ length: expect.any(Number) });
    expect(reads).toBe(1);
  });
});

describe('the runtime\'s own per-tenant metrics', () => {
  it('writes requests, 5xx answers and route cache lookups as one EMF line per interval, dimensions Stage and Tenant', async () => {
    let clock = 1_700_000_000_000;
    const { handler, lines } = runtime(() => clock);
    const emf = () => lines.map((line) => JSON.parse(line) as Record<string, any>).filter((l) => l._aws?.CloudWatchMetrics?.[0]?.Dimensions?.[0]?.join() === 'Stage,Tenant');
    await handler(apiGatewayEvent('GET', '/hot/secret'), {}); // a cache miss
    await handler(apiGatewayEvent('GET', '/hot/secret'), {}); // a hit
    await handler(apiGatewayEvent('GET', '/hot/throws'), {}); // 500
    await handler(apiGatewayEvent('GET', '/hot/nothing'), {}); // 404: not an error
    await handler(apiGatewayEvent('GET', '/_sovereign/health'), {}); // its own lookups do not count
    expect(emf()).toEqual([]);
    clock += 10_000;
    await handler(apiGatewayEvent('GET', '/hot/sync/1'), {}); // flushes what came before, then counts itself
    const [line] = emf();
    expect(line).toMatchObject({ Tenant: 'acme', Stage: 'dev', Requests: 5, Errors: 1, SecretCacheHits: 1, SecretCacheMisses: 1 });
    expect(line!._aws).toMatchObject({ Timestamp: 1_700_000_000_000, CloudWatchMetrics: [{ Namespace: 'Sovereign', Dimensions: [['Stage', 'Tenant']] }] });
    expect(line!._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name)).toEqual(['Requests', 'Errors', 'SecretCacheHits', 'SecretCacheMisses']);
    clock += 10_000;
    await handler(apiGatewayEvent('GET', '/hot/secret'), {});
    expect(emf()[1]).toMatchObject({ Requests: 1, Errors: 0, SecretCacheHits: 0, SecretCacheMisses: 0 });
    clock += 10_000;
    expect(emf()).toHaveLength(2);
  });
});
