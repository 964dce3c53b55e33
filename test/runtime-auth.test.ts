/**
 * The runtime's caller check, through the real Lambda handler with the events API Gateway sends:
 * a JWT authorizer's verified claims in `requestContext.authorizer.jwt`, or none (`$default`, the
 * machine API) with an API key of the tenant's table. Each test is an attack the check must stop
 * or a caller it must let through.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { API_KEY_PARTITION, API_KEYS_FILE, API_KEYS_USED_FILE, USAGE_PARTITION } from '../src/contract/api-keys.js';
import { generateApiKey, hashApiKey } from '../src/runtime/key-material.js';
import { nextGeneration, serializeGenerationMarker, initialGenerationMarker } from '../src/contract/generation.js';
import { defineExtension, defineHandler, type CallerIdentity } from '../src/runtime/extension.js';
import { createTestContext, TEST_AUDIENCE, TEST_ISSUER, type TestContext } from '../src/testing/index.js';
import { startLocalTable, type LocalTable } from '../src/testing/dynalite.js';
import { acmeClaims, apiGatewayEvent, FIXTURE_AUTH, makeRuntime, tenantConfig } from './runtime-fixtures.js';

const seen: CallerIdentity[] = [];
const whoami = defineHandler((_request, ctx) => {
  seen.push(ctx.identity);
  return { kind: ctx.identity.kind, subject: ctx.identity.subject, scopes: ctx.identity.scopes };
});

const manifest = defineExtension({
  name: 'invoices',
  version: '1.0.0',
  description: 'invoices',
  routes: [
    { method: 'GET', path: '/mine', handler: 'whoami' },
    { method: 'POST', path: '/write', handler: 'whoami', scopes: ['invoices:write', 'invoices:admin'], request: { body: z.object({}).passthrough() } },
    { method: 'GET', path: '/status', handler: 'whoami', auth: 'public' },
  ],
});
const handlers = { whoami: { handler: whoami } };

const problemOf = (res: { body: any }) => res.body as { type: string; status: number; detail: string };

describe('the runtime checks every caller of a required route (JWT authorizer context)', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext({ extension: 'invoices', manifest, handlers });
  });
  afterAll(async () => t.close());

  it('answers 401 problem+json to a caller without credentials, before the handler runs', async () => {
    seen.length = 0;
    const res = await t.invoke('GET', '/invoices/mine', { caller: 'anonymous' });
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(problemOf(res).type).toMatch(/unauthenticated$/);
    expect(seen).toEqual([]);
  });

  it('refuses a valid token of another tenant with 403, whatever else it carries', async () => {
    const res = await t.invoke('GET', '/invoices/mine', { caller: { jwt: { tenant_id: 'globex' }, scopes: ['invoices:write'] } });
    expect(res.status).toBe(403);
    expect(problemOf(res).type).toMatch(/wrong-tenant$/);
    // No tenant claim at all is not this tenant either.
    const none = await t.invoke('GET', '/invoices/mine', { caller: { jwt: { tenant_id: undefined } } });
    expect(none.status).toBe(403);
  });

  it.each([
    ['an issuer the tenant does not trust', { iss: 'https://evil.example/' }],
    ['an audience that is not the tenant\'s', { aud: 'someone-else' }],
    ['an expired token', { exp: Math.floor(Date.now() / 1000) - 5 }],
    ['a token with no expiry', { exp: undefined }],
  ])('answers 401 to %s, even though an authorizer passed it', async (_name, claims) => {
    const res = await t.invoke('GET', '/invoices/mine', { caller: { jwt: claims } });
    expect(res.status).toBe(401);
    expect(problemOf(res).type).toMatch(/invalid-token$/);
  });

  it('accepts an audience among several and client_id when there is no aud', async () => {
    expect((await t.invoke('GET', '/invoices/mine', { caller: { jwt: { aud: ['other', TEST_AUDIENCE] } } })).status).toBe(200);
    expect((await t.invoke('GET', '/invoices/mine', { caller: { jwt: { aud: undefined, client_id: TEST_AUDIENCE } } })).status).toBe(200);
  });

  it('needs one of the route\'s scopes: 403 naming them without, the handler with one', async () => {
    const missing = await t.invoke('POST', '/invoices/write', { body: {}, caller: { scopes: ['invoices:read'] } });
    expect(missing.status).toBe(403);
    expect(missing.body).toMatchObject({ requiredScopes: ['invoices:write', 'invoices:admin'] });
    expect(missing.headers['www-authenticate']).toContain('insufficient_scope');
    const held = await t.invoke('POST', '/invoices/write', { body: {}, caller: { scopes: ['invoices:read', 'invoices:admin'] } });
    expect(held.status).toBe(200);
    expect(held.body).toEqual({ kind: 'jwt', subject: 'test-user', scopes: ['invoices:read', 'invoices:admin'] });
  });

  it('gives the handler the caller: kind, subject, scopes and the claims as API Gateway passes them', async () => {
    seen.length = 0;
    await t.invoke('GET', '/invoices/mine', { caller: { jwt: { sub: 'u-42', email: 'a@acme.test', groups: ['x', 'y'] } } });
    expect(seen[0]).toMatchObject({ kind: 'jwt', subject: 'u-42', scopes: [] });
    expect(seen[0]!.claims).toMatchObject({ sub: 'u-42', email: 'a@acme.test', groups: '[x y]', tenant_id: 'acme', iss: TEST_ISSUER });
  });

  it('serves a public route to anyone, as an anonymous caller', async () => {
    const res = await t.invoke('GET', '/invoices/status', { caller: 'anonymous' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ kind: 'anonymous', subject: null, scopes: [] });
  });

  it('keeps health public and the OpenAPI document for callers of the tenant', async () => {
    expect((await t.invoke('GET', '/_sovereign/health', { caller: 'anonymous' })).status).toBe(200);
    expect((await t.invoke('GET', '/_sovereign/openapi.json', { caller: 'anonymous' })).status).toBe(401);
    expect((await t.invoke('GET', '/_sovereign/openapi.json', { caller: { jwt: { tenant_id: 'globex' } } })).status).toBe(403);
    expect((await t.invoke('GET', '/_sovereign/openapi.json')).status).toBe(200);
  });

  it('never trusts a bearer JWT the runtime was handed without an authorizer', async () => {
    // What a caller of the machine API (no authorizer) might try: a token, unverified by anyone.
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(acmeClaims())).toString('base64url')}.`;
    const res = await t.invoke('GET', '/invoices/mine', { caller: 'anonymous', headers: { authorization: `Bearer ${unsigned}` } });
    expect(res.status).toBe(401);
  });
});

describe('API keys in the runtime (table source, as on aws)', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext({ extension: 'invoices', manifest, handlers });
  });
  afterAll(async () => t.close());

  it('accepts a key of the tenant in x-api-key or as a bearer token, with its scopes', async () => {
    const key = await t.createApiKey({ name: 'erp', scopes: ['invoices:write'] });
    const viaHeader = await t.invoke('POST', '/invoices/write', { body: {}, caller: { apiKey: key } });
    expect(viaHeader.status).toBe(200);
    expect(viaHeader.body).toMatchObject({ kind: 'apiKey', subject: expect.stringMatching(/^key_[0-9a-f]{16}$/), scopes: ['invoices:write'] });
    const viaBearer = await t.invoke('GET', '/invoices/mine', { caller: 'anonymous', headers: { authorization: `Bearer ${key}` } });
    expect(viaBearer.status).toBe(200);
  });

  it('refuses a key without the route\'s scope (403), an unknown key and a mistyped one (401)', async () => {
    const key = await t.createApiKey({ name: 'reader', scopes: ['invoices:read'] });
    expect((await t.invoke('POST', '/invoices/write', { body: {}, caller: { apiKey: key } })).status).toBe(403);
    const unknown = generateApiKey('test').key;
    expect((await t.invoke('GET', '/invoices/mine', { caller: { apiKey: unknown } })).status).toBe(401);
    const mistyped = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    expect((await t.invoke('GET', '/invoices/mine', { caller: { apiKey: mistyped } })).status).toBe(401);
    // A key of another stage has the right shape but is not this stage's.
    expect((await t.invoke('GET', '/invoices/mine', { caller: { apiKey: generateApiKey('prod').key } })).status).toBe(401);
  });

  it('refuses an expired key', async () => {
    const key = await t.createApiKey({ name: 'old', expiresAt: new Date(Date.now() - 1000).toISOString() });
    const res = await t.invoke('GET', '/invoices/mine', { caller: { apiKey: key } });
    expect(res.status).toBe(401);
    expect(problemOf(res).detail).toContain('expired');
  });

  it('refuses a revoked key on the first request after the marker moved, though it was cached', async () => {
    const key = await t.createApiKey({ name: 'cron' });
    expect((await t.invoke('GET', '/invoices/mine', { caller: { apiKey: key } })).status).toBe(200);
    await t.table.client.send(new DeleteCommand({ TableName: t.table.name, Key: { pk: API_KEY_PARTITION, sk: hashApiKey(key) } }));
    // Without the marker the cached lookup still answers: the marker is what revokes fleet-wide.
    expect((await t.invoke('GET', '/invoices/mine', { caller: { apiKey: key } })).status).toBe(200);
    await t.createApiKey({ name: 'bump' }); // moves the marker as `keys revoke` does
    expect((await t.invoke('GET', '/invoices/mine', { caller: { apiKey: key } })).status).toBe(401);
  });

  it('records the key\'s last use in the _usage partition, and never writes the key anywhere', async () => {
    const key = await t.createApiKey({ name: 'usage' });
    const before = t.logs.length;
    const res = await t.invoke('GET', '/invoices/mine', { caller: { apiKey: key } });
    const id = (res.body as { subject: string }).subject;
    let item: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && item === undefined; i++) {
      item = (await t.table.client.send(new GetCommand({ TableName: t.table.name, Key: { pk: USAGE_PARTITION, sk: `apikey#${id}` } }))).Item;
      if (item === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    expect(item?.lastUsedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    await t.invoke('GET', '/invoices/mine', { caller: { apiKey: key.slice(0, -2) } });
    const logged = t.logs.slice(before).join('\n');
    expect(logged).not.toContain(key);
    expect(logged).not.toContain(key.slice(0, -2));
    expect(logged).not.toContain(hashApiKey(key));
  });
});

describe('API keys in the runtime (file source, as under dev)', () => {
  let table: LocalTable;
  let dir: string;
  beforeAll(async () => {
    table = await startLocalTable('sovereign-dev-acme');
    dir = mkdtempSync(join(tmpdir(), 'sov-keys-'));
  });
  afterAll(async () => {
    await table.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const setup = (auth = FIXTURE_AUTH) => makeRuntime({
    table,
    generationFile: join(dir, 'generation.json'),
    env: { SOVEREIGN_API_KEY_SOURCE: `file:${dir}`, SOVEREIGN_GENERATION_INTERVAL_MS: '0' },
    tenantConfig: tenantConfig({ auth }),
  });
  const writeKeys = (keys: Array<{ key: string; id: string; scopes?: string[] }>) => {
    const records = keys.map(({ key, id, scopes }) => ({ id, name: id.slice(4), hash: hashApiKey(key), scopes: scopes ?? [], createdAt: new Date().toISOString(), createdBy: 't', expiresAt: null }));
    writeFileSync(join(dir, API_KEYS_FILE), JSON.stringify({ version: 1, keys: records }));
  };

  it('finds keys in the data folder, drops them on a marker change and records last use beside them', async () => {
    const { handler } = setup();
    const a = generateApiKey('dev');
    writeKeys([a]);
    const call = async (key: string) => (await handler(apiGatewayEvent('GET', '/billing/invoices', { jwt: undefined, headers: { 'x-api-key': key } }), {})).statusCode;
    expect(await call(a.key)).toBe(200);
    writeKeys([]);
    writeFileSync(join(dir, 'generation.json'), serializeGenerationMarker(nextGeneration(initialGenerationMarker(), { references: ['_sovereign:api-keys'] })));
    expect(await call(a.key)).toBe(401);
    const used = JSON.parse(readFileSync(join(dir, API_KEYS_USED_FILE), 'utf8')) as Record<string, string>;
    expect(Object.keys(used)).toEqual([a.id]);
  });

  it('refuses every API key when the tenant does not accept them', async () => {
    const { handler } = setup({ ...FIXTURE_AUTH, apiKeys: false });
    const a = generateApiKey('dev');
    writeKeys([a]);
    const res = await handler(apiGatewayEvent('GET', '/billing/invoices', { jwt: undefined, headers: { 'x-api-key': a.key } }), {});
    expect(res.statusCode).toBe(401);
    expect(JSON.parse(res.body).type).toMatch(/api-keys-disabled$/);
  });

  it('with a tenant-specific issuer and no tenant claim, trusts that issuer only', async () => {
    const own = { issuers: ['https://idp.example/acme'], audiences: [TEST_AUDIENCE], tenantClaim: null, apiKeys: true };
    const { handler } = setup(own);
    const call = async (claims: Record<string, unknown>) => (await handler(apiGatewayEvent('GET', '/billing/invoices', { jwt: acmeClaims(claims) }), {})).statusCode;
    expect(await call({ iss: 'https://idp.example/acme', tenant_id: undefined })).toBe(200);
    expect(await call({ iss: 'https://idp.example/globex', tenant_id: 'acme' })).toBe(401);
  });
});
