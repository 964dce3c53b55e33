import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../src/runtime/webhook.js';
import { startLocalTable, type LocalTable } from '../src/testing/dynalite.js';
import { CANARY, JSON_CANARY, makeRuntime, tenantConfig, WEBHOOK_SECRET , apiGatewayEvent, functionUrlEvent } from './runtime-fixtures.js';

let table: LocalTable;
beforeAll(async () => {
  table = await startLocalTable('sovereign-dev-acme');
});
afterAll(async () => {
  await table.close();
});

const NOW = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const clock = { now: NOW };

function setup(overrides: Parameters<typeof makeRuntime>[0] extends infer O ? Partial<O> : never = {}) {
  clock.now = NOW;
  return makeRuntime({ table, now: () => clock.now, ...overrides });
}

let counter = 0;
function delivery(options: { body?: string; id?: string; timestamp?: number | string; secret?: string; signature?: string; headers?: Record<string, string | undefined>; base64?: boolean } = {}) {
  const id = options.id ?? `msg_${++counter}`;
  const timestamp = String(options.timestamp ?? Math.floor(clock.now / 1000));
  const body = options.body ?? JSON.stringify({ tenant: 'acme', references: ['ssm:/dev/tenants/acme/orders/api_key'], generation: 7 });
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': options.signature ?? signWebhook(options.secret ?? WEBHOOK_SECRET, id, timestamp, body),
  };
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value === undefined) delete headers[name];
    else headers[name] = value;
  }
  return apiGatewayEvent('POST', '/_sovereign/webhooks/rotation', { body, headers, base64: options.base64 ?? false });
}

const parse = (r: { body: string }) => JSON.parse(r.body) as Record<string, any>;

describe('rotation webhook', () => {
  it('accepts a signed notice, invalidates the reference and the next request reads the new value', async () => {
    const { handler, backend } = setup();
    const length = async () => parse(await handler(apiGatewayEvent('GET', '/orders/secret'), {})).length as number;
    expect(await length()).toBe(JSON_CANARY.length);
    backend.set('secretsmanager:dev/tenants/acme/orders', JSON.stringify({ token: 'short' }));
    expect(await length()).toBe(JSON_CANARY.length); // still cached
    const body = JSON.stringify({ tenant: 'acme', references: ['secretsmanager:dev/tenants/acme/orders:token'], generation: 2 });
    const result = await handler(delivery({ body }), {});
    expect(result.statusCode).toBe(200);
    expect(parse(result)).toEqual({ invalidated: 1, receivedAt: new Date(NOW).toISOString() });
    expect(await length()).toBe('short'.length);
  });

  it('refuses a bad signature with 401', async () => {
    const { handler } = setup();
    const result = await handler(delivery({ secret: 'whsec_d3JvbmcteGV5LXdyb25nLWtleQ==' }), {});
    expect(result.statusCode).toBe(401);
    expect(parse(result)).toMatchObject({ status: 401, type: expect.stringContaining('webhook-bad-signature') });
    expect(result.headers['content-type']).toBe('application/problem+json');
  });

  it('refuses a body changed after signing', async () => {
    const { handler } = setup();
    const event = delivery();
    event.body = (event.body as string).replace('"generation":7', '"generation":8');
    expect((await handler(event, {})).statusCode).toBe(401);
  });

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])('refuses a delivery without %s with 400', async (header) => {
    const { handler } = setup();
    const result = await handler(delivery({ headers: { [header]: undefined } }), {});
    expect(result.statusCode).toBe(400);
    expect(parse(result).detail).toContain(header);
  });

  it('refuses a non-numeric timestamp', async () => {
    const { handler } = setup();
    expect((await handler(delivery({ timestamp: '2026-01-01T00:00:00Z' }), {})).statusCode).toBe(400);
  });

  it('refuses stale and future timestamps beyond ±5 minutes and accepts the bounds', async () => {
    const { handler } = setup();
    const seconds = Math.floor(NOW / 1000);
    const stale = await handler(delivery({ timestamp: seconds - 301 }), {});
    expect(stale.statusCode).toBe(401);
    expect(parse(stale).type).toContain('stale-timestamp');
    const future = await handler(delivery({ timestamp: seconds + 301 }), {});
    expect(future.statusCode).toBe(401);
    expect(parse(future).type).toContain('future-timestamp');
    expect((await handler(delivery({ timestamp: seconds - 300 }), {})).statusCode).toBe(200);
    expect((await handler(delivery({ timestamp: seconds + 300 }), {})).statusCode).toBe(200);
  });

  it('refuses a replayed id with 409 even with a fresh signature', async () => {
    const { handler } = setup();
    expect((await handler(delivery({ id: 'msg_replay' }), {})).statusCode).toBe(200);
    clock.now += 60_000;
    const again = await handler(delivery({ id: 'msg_replay' }), {});
    expect(again.statusCode).toBe(409);
    expect(parse(again).type).toContain('replayed');
  });

  it('does not let an unsigned delivery burn an id', async () => {
    const { handler } = setup();
    expect((await handler(delivery({ id: 'msg_burn', signature: 'v1,AAAA' }), {})).statusCode).toBe(401);
    expect((await handler(delivery({ id: 'msg_burn' }), {})).statusCode).toBe(200);
  });

  it('refuses a body over 64 KiB with 413, base64-encoded or not', async () => {
    const { handler } = setup();
    const big = JSON.stringify({ tenant: 'acme', references: [], pad: 'x'.repeat(64 * 1024) });
    expect((await handler(delivery({ body: big }), {})).statusCode).toBe(413);
    expect((await handler(delivery({ body: big, base64: true }), {})).statusCode).toBe(413);
    const fits = JSON.stringify({ tenant: 'acme', references: [], pad: 'x'.repeat(60 * 1024) });
    expect((await handler(delivery({ body: fits, base64: true }), {})).statusCode).toBe(200);
  });

  it('accepts several space-separated signatures when one matches (secret rollover)', async () => {
    const { handler } = setup();
    const id = 'msg_multi';
    const ts = String(Math.floor(NOW / 1000));
    const body = JSON.stringify({ tenant: 'acme', references: [] });
    const signature = `${signWebhook('whsec_b2xkLXNlY3JldC1vbGQtc2VjcmV0', id, ts, body)} v2,ignored ${signWebhook(WEBHOOK_SECRET, id, ts, body)}`;
    expect((await handler(delivery({ id, body, signature }), {})).statusCode).toBe(200);
  });

  it('refuses a signature of another version', async () => {
    const { handler } = setup();
    const good = delivery();
    const headers = good.headers as Record<string, string>;
    headers['webhook-signature'] = (headers['webhook-signature'] as string).replace(/^v1,/, 'v1a,');
    expect((await handler(good, {})).statusCode).toBe(401);
  });

  it('refuses a notice for another tenant and malformed notices', async () => {
    const { handler } = setup();
    expect((await handler(delivery({ body: JSON.stringify({ tenant: 'globex', references: [] }) }), {})).statusCode).toBe(403);
    expect((await handler(delivery({ body: '{"tenant":' }), {})).statusCode).toBe(400);
    expect((await handler(delivery({ body: JSON.stringify({ tenant: 'acme', references: 'ssm:/x' }) }), {})).statusCode).toBe(400);
    expect((await handler(delivery({ body: JSON.stringify({ tenant: 'acme', references: ['arn:aws:ssm:eu-west-1:1:parameter/x'] }) }), {})).statusCode).toBe(400);
  });

  it('answers 405 to other methods and 503 when the signing secret cannot be resolved', async () => {
    const { handler } = setup();
    const get = await handler(apiGatewayEvent('GET', '/_sovereign/webhooks/rotation'), {});
    expect(get.statusCode).toBe(405);
    expect(get.headers.allow).toBe('POST');
    const { handler: noSecret } = setup({ tenantConfig: tenantConfig({ webhookSecret: 'ssm:/dev/tenants/acme/_sovereign/missing' }) });
    expect((await noSecret(delivery(), {})).statusCode).toBe(503);
  });

  it('never writes the webhook secret or handed-out values to the log', async () => {
    const { handler, lines } = setup();
    await handler(apiGatewayEvent('POST', '/orders/orders', { body: { id: 'w2', total: 1 }, query: { dryRun: 'true' } }), {});
    await handler(delivery(), {});
    await handler(delivery({ secret: 'whsec_d3JvbmcteGV5LXdyb25nLWtleQ==' }), {});
    const all = lines.join('\n');
    expect(all).toContain('rotation notice');
    expect(all).toContain('rotation webhook refused');
    expect(all).not.toContain(WEBHOOK_SECRET);
    expect(all).not.toContain(CANARY);
  });
});
