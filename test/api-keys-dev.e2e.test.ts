/**
 * API keys end to end on the local target: keys made by `sovereign tenant keys` against the real
 * `sovereign dev` (gateway and tenant processes, loopback only). A key opens its own tenant's
 * routes (with its scopes) and nothing else; a revoked key is refused by the running tenant within
 * about a second (the generation marker the revoke moves), and `keys list` shows when a key was
 * last used, as the runtime recorded it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, runCli } from './helpers/cli.js';
import { killDev, startDevCli, type RunningDev } from './helpers/dev.js';
import { waitFor, write } from './helpers/wait.js';

const MANIFEST = `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({
  name: 'probe',
  version: '1.0.0',
  description: 'Answers with the caller it saw',
  routes: [
    { method: 'GET', path: '/whoami', handler: 'whoami', scopes: ['probe:read', 'probe:admin'] },
    { method: 'GET', path: '/anyone', handler: 'whoami' },
    { method: 'GET', path: '/open', handler: 'whoami', auth: 'public' },
  ],
});
`;
const WHOAMI = `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (_request, ctx) => ({ tenant: ctx.tenant.id, identity: ctx.identity }));
`;

const env = { NO_COLOR: '1', SOVEREIGN_ACTOR: 'test@host', SOVEREIGN_LOCK_WAIT_MS: '5000', CI: '1' };
let dir: string;
let dev: RunningDev | undefined;
const pids = new Set<number>();
const url = (path: string) => `http://127.0.0.1:${dev!.port}${path}`;
const cli = (args: string[]) => runCli(args, { cwd: dir, env });
const call = async (path: string, headers: Record<string, string> = {}) => {
  const answer = await fetch(url(path), { headers });
  return { status: answer.status, body: (await answer.json()) as Record<string, any> };
};
async function createKey(tenant: string, name: string, ...more: string[]): Promise<{ key: string; id: string }> {
  const created = await cli(['tenant', 'keys', 'create', tenant, '--name', name, ...more, '--json']);
  expect(created.exitCode, created.stderr).toBe(0);
  const doc = JSON.parse(created.stdout) as { key: string; apiKey: { id: string } };
  return { key: doc.key, id: doc.apiKey.id };
}

beforeAll(async () => {
  dir = await makeProject();
  const configFile = join(dir, 'sovereign.config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(configFile, JSON.stringify({ ...config, defaults: { tier: 'premium', extensions: ['probe'] } }, null, 2));
  write(join(dir, 'extensions', 'probe', 'extension.ts'), MANIFEST);
  write(join(dir, 'extensions', 'probe', 'handlers', 'whoami.ts'), WHOAMI);
  for (const id of ['acme', 'globex']) expect((await cli(['tenant', 'create', id, '--no-deploy'])).exitCode).toBe(0);
  const deployed = await cli(['tenant', 'deploy', '--all']);
  expect(deployed.exitCode, deployed.stderr).toBe(0);
  dev = await startDevCli(dir, env);
  for (const id of ['acme', 'globex']) await waitFor(`${id} to serve`, async () => ((await fetch(url(`/t/${id}/probe/open`))).status === 200 ? true : undefined), 60_000);
  // The tenant processes, to end by pid with dev.
  const state = JSON.parse(readFileSync(join(dir, '.sovereign', 'dev.json'), 'utf8')) as { tenants: Record<string, { pid?: number }> };
  for (const t of Object.values(state.tenants)) if (t.pid) pids.add(t.pid);
}, 180_000);

afterAll(async () => {
  await killDev(dev, pids);
});

describe('API keys through sovereign dev', { timeout: 120_000 }, () => {
  it('a key opens its own tenant\'s routes, as `x-api-key` or a bearer token, with its scopes; nothing else does', async () => {
    const reader = await createKey('acme', 'reader', '--scopes', 'probe:read');
    const plain = await createKey('acme', 'plain');
    const other = await createKey('globex', 'erp', '--scopes', 'probe:read');

    expect((await call('/t/acme/probe/whoami')).status).toBe(401);
    expect((await call('/t/acme/probe/open')).status).toBe(200);
    const presented: Array<Record<string, string>> = [{ 'x-api-key': reader.key }, { authorization: `Bearer ${reader.key}` }];
    for (const headers of presented) {
      const answer = await call('/t/acme/probe/whoami', headers);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ tenant: 'acme', identity: { kind: 'apiKey', subject: reader.id, scopes: ['probe:read'], claims: { name: 'reader' } } });
    }
    // A key without any of the route's scopes: authenticated, not allowed.
    expect((await call('/t/acme/probe/whoami', { 'x-api-key': plain.key })).status).toBe(403);
    expect((await call('/t/acme/probe/anyone', { 'x-api-key': plain.key })).status).toBe(200);
    // Another tenant's valid key, and a made-up key of the right shape, open nothing of acme's.
    expect((await call('/t/acme/probe/anyone', { 'x-api-key': other.key })).status).toBe(401);
    expect((await call('/t/globex/probe/whoami', { 'x-api-key': other.key })).status).toBe(200);
    const forged = `${reader.key.slice(0, -39)}${reader.key.at(-39) === 'a' ? 'b' : 'a'}${reader.key.slice(-38)}`;
    expect((await call('/t/acme/probe/anyone', { 'x-api-key': forged })).status).toBe(401);
  });

  it('keys list shows the last use the runtime recorded', async () => {
    const { key } = await createKey('acme', 'used');
    expect((await call('/t/acme/probe/anyone', { 'x-api-key': key })).status).toBe(200);
    const lastUsed = await waitFor('the use to be recorded', async () => {
      const listed = await cli(['tenant', 'keys', 'list', 'acme', '--json']);
      const found = (JSON.parse(listed.stdout) as { keys: Array<{ name: string; lastUsedAt: string | null }> }).keys.find((k) => k.name === 'used');
      return found?.lastUsedAt ?? undefined;
    }, 10_000);
    expect(Date.parse(lastUsed)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('a revoked key is refused by the running tenant within about a second', async () => {
    const { key } = await createKey('acme', 'doomed');
    // Once the runtime has read the marker the create moved, nothing else will make it look the key up again.
    const marker = (JSON.parse(readFileSync(join(dir, '.sovereign', 'data', 'acme', 'generation.json'), 'utf8')) as { generation: number }).generation;
    await waitFor('the runtime to read the marker', async () => (((await call('/t/acme/_sovereign/health')).body.generation as number) >= marker ? true : undefined), 10_000);
    // Warm and cached: the runtime answers it from memory from now on.
    for (let i = 0; i < 3; i += 1) expect((await call('/t/acme/probe/anyone', { 'x-api-key': key })).status).toBe(200);
    const revoked = await cli(['tenant', 'keys', 'revoke', 'acme', 'doomed']);
    expect(revoked.exitCode, revoked.stderr).toBe(0);
    // The marker is read about once a second; the deadline leaves room for a loaded machine.
    await waitFor('the revoked key to be refused', async () => ((await call('/t/acme/probe/anyone', { 'x-api-key': key })).status === 401 ? true : undefined), 5_000);
    expect((await call('/t/acme/probe/anyone', { 'x-api-key': key })).body).toMatchObject({ status: 401 });
  });
});
