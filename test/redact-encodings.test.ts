/**
 * A handler that logs a handed-out secret value encoded (base64, base64url, hex, percent-encoded)
 * through `ctx.log`, run by the real Lambda handler: no encoding of the value reaches a log line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineExtension, defineHandler } from '../src/runtime/extension.js';
import { startLocalTable, type LocalTable } from '../src/testing/dynalite.js';
import { CANARY, makeRuntime, tenantConfig , apiGatewayEvent, functionUrlEvent } from './runtime-fixtures.js';

let table: LocalTable;
beforeAll(async () => {
  table = await startLocalTable('sovereign-dev-acme');
});
afterAll(async () => {
  await table.close();
});

/** Every way the handler below logs the value, by name. */
function encodings(value: string): Record<string, string> {
  const bytes = Buffer.from(value, 'utf8');
  return {
    base64: bytes.toString('base64'),
    base64url: bytes.toString('base64url'),
    hex: bytes.toString('hex'),
    HEX: bytes.toString('hex').toUpperCase(),
    url: encodeURIComponent(value),
    form: new URLSearchParams({ q: value }).toString().slice(2),
    // A value inside a longer encoded blob: a Basic authorization header, at every byte alignment.
    basic0: Buffer.from(`${value}:x`).toString('base64'),
    basic1: Buffer.from(`u:${value}`).toString('base64'),
    basic2: Buffer.from(`us:${value}`).toString('base64'),
    basic3: Buffer.from(`use:${value}`).toString('base64url'),
    query: `https://api.example.com/v1?token=${encodeURIComponent(value)}&x=1`,
  };
}

const leaky = defineExtension({
  name: 'orders',
  version: '1.0.0',
  description: 'logs its secret in every encoding',
  routes: [{ method: 'GET', path: '/leak', handler: 'leak' }],
  secrets: [{ key: 'api_key', description: 'API key' }],
});

const leakHandler = defineHandler(async (_request, ctx) => {
  const value = await ctx.secrets.get('api_key');
  const forms = encodings(value);
  for (const [name, form] of Object.entries(forms)) ctx.log.info(`${name} ${form}`, { [name]: form, nested: [{ form }] });
  return { logged: Object.keys(forms).length };
});

describe('ctx.log masks encoded forms of handed-out values', () => {
  it.each([
    ['the fixture canary', CANARY],
    ['a value with spaces, slashes and non-ASCII', 'p@ss w/rd+ü?&=%'],
  ])('%s: base64, base64url, hex, URL-encoded and inside longer base64', async (_name, value) => {
    const { handler, lines, backend } = makeRuntime({
      table,
      tenantConfig: tenantConfig({ extensions: ['orders'] }),
      extensions: [{ name: 'orders', load: async () => ({ manifest: leaky, handlers: { leak: { handler: leakHandler } } }) }],
    });
    backend.set('ssm:/dev/tenants/acme/orders/api_key', value);
    const result = await handler(apiGatewayEvent('GET', '/orders/leak'), {});
    expect(result.statusCode).toBe(200);
    const forms = encodings(value);
    const logged = lines.filter((line) => (JSON.parse(line) as { message?: string }).message?.includes(' ') === true && !line.includes('"_aws"'));
    expect(logged.length).toBeGreaterThanOrEqual(Object.keys(forms).length);
    const all = lines.join('\n');
    for (const [name, form] of Object.entries(forms)) {
      // The whole form, or (inside longer base64) the part of it that encodes the value alone.
      const needle = name.startsWith('basic') ? form.slice(4, -4) : form;
      expect(all, `${name} form ${needle}`).not.toContain(needle);
    }
    expect(all).not.toContain(value);
  });
});
