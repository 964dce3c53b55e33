/**
 * Tenant identity on the local target, end to end with the real CLI: `sovereign dev` refuses every
 * non-public route without a verified caller before the tenant's process runs, as API Gateway's
 * JWT authorizer does; `sovereign auth token` mints the dev issuer's tokens that it accepts; the
 * dev issuer's keys are served on the gateway; and a token never lands in a file of the project.
 */
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateDevIssuerKey, mintDevToken } from '../src/auth/dev-issuer.js';
import { devIssuer } from '../src/contract/auth.js';
import { API_KEYS_FILE, type ApiKeysFile } from '../src/contract/api-keys.js';
import { generateApiKey, hashApiKey } from '../src/runtime/key-material.js';
import { makeProject, runCli, snapshotTree } from './helpers/cli.js';
import { devAuth } from './helpers/auth.js';
import { killDev, startDevCli, type RunningDev } from './helpers/dev.js';
import { write } from './helpers/wait.js';

const MANIFEST = `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({
  name: 'probe',
  version: '1.0.0',
  description: 'Says who called it',
  routes: [
    { method: 'GET', path: '/whoami', handler: 'whoami' },
    { method: 'GET', path: '/orders/{id}', handler: 'whoami', scopes: ['orders:read'] },
    { method: 'GET', path: '/open', handler: 'whoami', auth: 'public' },
  ],
});
`;
const WHOAMI = `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (request, ctx) => ({ tenant: ctx.tenant.id, path: request.path, identity: ctx.identity ?? null }));
`;

const env = { NO_COLOR: '1', SOVEREIGN_ACTOR: 'test@host', SOVEREIGN_LOCK_WAIT_MS: '5000', CI: '1' };
let dir: string;
let project: string;
let running: RunningDev | undefined;
const pids = new Set<number>();
const minted: string[] = [];

const url = (path: string) => `http://127.0.0.1:${running!.port}${path}`;
async function call(tenant: string, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(url(`/t/${tenant}${path}`), { headers });
  const text = await response.text();
  return { status: response.status, text, type: response.headers.get('content-type') ?? '', challenge: response.headers.get('www-authenticate') };
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Every file under `.sovereign/` (and dev's stderr) as text, for canaries. */
function projectText(): string {
  const parts: string[] = [running?.stderr() ?? ''];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else parts.push(readFileSync(path).toString('latin1'));
    }
  };
  walk(join(dir, '.sovereign'));
  return parts.join('\n');
}

beforeAll(async () => {
  dir = await makeProject();
  const configFile = join(dir, 'sovereign.config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  project = String(config.project);
  writeFileSync(configFile, JSON.stringify({ ...config, defaults: { tier: 'premium', extensions: ['probe'] } }, null, 2));
  write(join(dir, 'extensions', 'probe', 'extension.ts'), MANIFEST);
  write(join(dir, 'extensions', 'probe', 'handlers', 'whoami.ts'), WHOAMI);
  for (const id of ['acme', 'globex']) {
    const created = await runCli(['tenant', 'create', id, '--no-deploy'], { cwd: dir, env });
    expect(created.exitCode, created.stderr).toBe(0);
  }
  running = await startDevCli(dir, env);
  pids.add(running.pid);
  const state = JSON.parse(readFileSync(join(dir, '.sovereign', 'dev.json'), 'utf8')) as { tenants: Record<string, { pid: number | null }> };
  for (const t of Object.values(state.tenants)) if (t.pid) pids.add(t.pid);
}, 180_000);

afterAll(async () => {
  await killDev(running, pids);
});

describe('sovereign auth token', { timeout: 60_000 }, () => {
  it('prints the token alone on stdout, and its facts with --json; writes no file', async () => {
    const settled = () => ({ audit: snapshotTree(join(dir, '.sovereign', 'audit')), keys: snapshotTree(join(dir, '.sovereign', 'keys')), tenants: snapshotTree(join(dir, '.sovereign', 'tenants')) });
    const before = settled();
    const plain = await runCli(['auth', 'token', '--tenant', 'acme'], { cwd: dir, env });
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n?$/);
    minted.push(plain.stdout.trim());
    const json = await runCli(['auth', 'token', '--tenant', 'acme', '--scopes', 'orders:read,orders:write', '--expires', '15m', '--subject', 'erp', '--json'], { cwd: dir, env });
    expect(json.exitCode, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout) as { token: string; expiresAt: string; issuer: string; audience: string; scopes: string[] };
    expect(doc).toMatchObject({ issuer: devIssuer(project, 'dev'), audience: 'sovereign', scopes: ['orders:read', 'orders:write'] });
    const expiresIn = Date.parse(doc.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(14 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(15 * 60_000);
    const claims = JSON.parse(Buffer.from(doc.token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: doc.issuer, aud: 'sovereign', sub: 'erp', tenant_id: 'acme', scope: 'orders:read orders:write' });
    minted.push(doc.token);
    // Minting is not a state change: no audit event, no file (the key exists since dev started).
    expect(settled()).toEqual(before);
    expect(plain.stderr + json.stderr).not.toContain(doc.token.split('.')[2]!);
  });

  it('refuses an unknown tenant (3), bad durations and scopes (2), and the aws target (2)', async () => {
    const missing = await runCli(['auth', 'token', '--tenant', 'initech'], { cwd: dir, env });
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toMatch(/^error: tenant "initech" does not exist\nhint: /);
    for (const args of [['--expires', '90x'], ['--expires', '31d'], ['--scopes', 'orders read'], ['--tenant', 'Not-A-Tenant']]) {
      const bad = await runCli(['auth', 'token', '--tenant', 'acme', ...args], { cwd: dir, env });
      expect(bad.exitCode, args.join(' ')).toBe(2);
      expect(bad.stderr, args.join(' ')).toMatch(/^error: [^\n]+(\nhint: [^\n]+)?\n?$/);
      expect(bad.stdout).toBe('');
    }
    const aws = await runCli(['auth', 'token', '--tenant', 'acme', '--target', 'aws'], { cwd: dir, env });
    expect(aws.exitCode).toBe(2);
    expect(aws.stderr).toContain('only under `sovereign dev`');
    expect(aws.stderr).toContain('auth.jwt');
    expect(aws.stdout).toBe('');
  });
});

describe('the dev gateway as the JWT authorizer', { timeout: 60_000 }, () => {
  it('refuses a non-public route and the OpenAPI document without credentials, with API Gateway\'s answer', async () => {
    const answer = await call('acme', '/probe/whoami');
    expect(answer).toMatchObject({ status: 401, text: '{"message":"Unauthorized"}', challenge: 'Bearer' });
    expect(answer.type).toContain('application/json');
    expect((await call('acme', '/_sovereign/openapi.json')).status).toBe(401);
  });

  it('serves the route to a token of `sovereign auth token`', async () => {
    const token = minted[0]!;
    const answer = await call('acme', '/probe/whoami', bearer(token));
    expect(answer.status, answer.text).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ tenant: 'acme', path: '/probe/whoami', identity: { kind: 'jwt', subject: 'dev-user', claims: { tenant_id: 'acme' } } });
    expect((await call('acme', '/_sovereign/openapi.json', bearer(token))).status).toBe(200);
  });

  it('needs one of the route\'s scopes: 403 without, the route with it', async () => {
    expect(await call('acme', '/probe/orders/7', await devAuth(dir, 'acme'))).toMatchObject({ status: 403, text: '{"message":"Forbidden"}' });
    const scoped = await call('acme', '/probe/orders/7', await devAuth(dir, 'acme', { scopes: ['orders:read'] }));
    expect(scoped.status).toBe(200);
    expect(JSON.parse(scoped.text)).toMatchObject({ identity: { kind: 'jwt', scopes: ['orders:read'] } });
  });

  it('serves a public route without credentials', async () => {
    const answer = await call('acme', '/probe/open');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ tenant: 'acme' });
  });

  it('refuses expired, not yet valid, future-issued, wrong-audience and forged tokens', async () => {
    const key = loadOrCreateDevIssuerKey(join(dir, '.sovereign', 'keys'));
    const now = Math.floor(Date.now() / 1000);
    const base = { project, stage: 'dev', tenant: 'acme' };
    const jwks = (await (await fetch(url('/_sovereign/dev/issuer/jwks.json'))).json()) as { keys: Array<Record<string, string>> };
    const claims = { iss: devIssuer(project, 'dev'), aud: 'sovereign', sub: 'x', tenant_id: 'acme', iat: now, exp: now + 600 };
    const signingInput = `${b64({ alg: 'HS256', typ: 'JWT', kid: key.kid })}.${b64(claims)}`;
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const hostile: Record<string, string> = {
      expired: await mintDevToken(key, { ...base, now: now - 7200, ttlSeconds: 60 }),
      'not yet valid': await new SignJWT({ ...claims, nbf: now + 300 }).setProtectedHeader({ alg: 'RS256', kid: key.kid }).sign(key.privateKey),
      'issued in the future': await new SignJWT({ ...claims, iat: now + 300 }).setProtectedHeader({ alg: 'RS256', kid: key.kid }).sign(key.privateKey),
      'wrong audience': await mintDevToken(key, { ...base, audience: 'someone-else' }),
      'wrong issuer': await new SignJWT({ ...claims, iss: devIssuer('another-project', 'dev') }).setProtectedHeader({ alg: 'RS256', kid: key.kid }).sign(key.privateKey),
      'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`,
      'HS256 keyed with the served public key': `${signingInput}.${createHmac('sha256', JSON.stringify(jwks.keys[0])).update(signingInput).digest('base64url')}`,
      'HS256 keyed with the public PEM': `${signingInput}.${createHmac('sha256', key.publicKey.export({ type: 'spki', format: 'pem' })).update(signingInput).digest('base64url')}`,
      'unknown kid': await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'nope' }).sign(key.privateKey),
      'another RSA key under the right kid': await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid }).sign(other),
    };
    for (const [name, token] of Object.entries(hostile)) {
      const answer = await call('acme', '/probe/whoami', bearer(token));
      expect(answer.status, name).toBe(401);
      expect(answer.text, name).toBe('{"message":"Unauthorized"}');
      expect(answer.challenge, name).toContain('error="invalid_token"');
    }
  });

  it('passes another tenant\'s valid token on (same issuer), and acme\'s runtime refuses it as another tenant\'s', async () => {
    const answer = await call('acme', '/probe/whoami', await devAuth(dir, 'globex'));
    expect(answer.status).toBe(403);
    expect(answer.type).toContain('application/problem+json');
    expect(JSON.parse(answer.text)).toMatchObject({ type: expect.stringContaining('wrong-tenant') });
    expect((await call('globex', '/probe/whoami', await devAuth(dir, 'globex'))).status).toBe(200);
  });

  it('passes API keys on to the runtime, which serves a key of the tenant and refuses any other', async () => {
    const { key, id } = generateApiKey('dev');
    const file: ApiKeysFile = { version: 1, keys: [{ id, name: 'erp', hash: hashApiKey(key), scopes: [], createdAt: new Date().toISOString(), createdBy: 'test@host', expiresAt: null }] };
    writeFileSync(join(dir, '.sovereign', 'data', 'acme', API_KEYS_FILE), JSON.stringify(file));
    minted.push(key);
    for (const headers of [{ 'x-api-key': key }, bearer(key)]) {
      const answer = await call('acme', '/probe/whoami', headers);
      expect(answer.status, answer.text).toBe(200);
      expect(JSON.parse(answer.text)).toMatchObject({ identity: { kind: 'apiKey', subject: id } });
    }
    // Not the gateway's refusal: the runtime's (problem+json), for a made-up key and for acme's key at globex.
    for (const [tenant, apiKey] of [['acme', generateApiKey('dev').key], ['globex', key]] as const) {
      const refused = await call(tenant, '/probe/whoami', { 'x-api-key': apiKey });
      expect(refused.status, tenant).toBe(401);
      expect(refused.type, tenant).toContain('application/problem+json');
    }
  });

  it('serves the dev issuer\'s discovery document and public keys on localhost', async () => {
    const discovery = (await (await fetch(url('/_sovereign/dev/issuer/.well-known/openid-configuration'))).json()) as Record<string, unknown>;
    expect(discovery.issuer).toBe(devIssuer(project, 'dev'));
    const staged = (await (await fetch(url('/_sovereign/dev/issuer/.well-known/openid-configuration?stage=prod'))).json()) as Record<string, unknown>;
    expect(staged.issuer).toBe(devIssuer(project, 'prod'));
    expect((await fetch(url('/_sovereign/dev/issuer/.well-known/openid-configuration?stage=Not%20A%20Stage'))).status).toBe(404);
    const jwks = (await (await fetch(String(discovery.jwks_uri))).json()) as { keys: Array<Record<string, unknown>> };
    const key = loadOrCreateDevIssuerKey(join(dir, '.sovereign', 'keys'));
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', kid: key.kid, alg: 'RS256', use: 'sig' });
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(jwks.keys[0]).not.toHaveProperty(secret);
  });

  it('leaves no token or key in any file of the project or in dev\'s output', async () => {
    expect(minted.length).toBeGreaterThan(0);
    const text = projectText();
    for (const token of minted) {
      expect(text.includes(token)).toBe(false);
      if (token.includes('.')) expect(text.includes(token.split('.')[2]!)).toBe(false);
    }
  });
});
