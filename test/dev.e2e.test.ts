/**
 * `sovereign dev` end to end with the real CLI: two tenants in their own processes behind the
 * gateway, by host and by path; a rotation observed without a restart; a SIGKILLed tenant restarted
 * while the other keeps serving; throttling; tenants and extensions changing while it runs; and
 * no process left behind.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import type { Options, ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, runCli } from './helpers/cli.js';
import { alive, killDev, startDevCli, type RunningDev } from './helpers/dev.js';
import { loadProject } from '../src/project.js';
import { readVaultKey } from '../src/runtime/secrets/vault.js';
import { openWritableVault } from '../src/targets/local/vault-writer.js';
import { webhookHeaders } from '../src/runtime/webhook.js';
import { waitFor, write } from './helpers/wait.js';

// Public routes: who may call is test/dev-auth.e2e.test.ts's subject, not this file's.
const PROBE_MANIFEST = `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({
  name: 'probe',
  version: '1.0.0',
  description: 'Reports which process serves the tenant, a fingerprint of its secret and a counter in its table',
  routes: [
    { method: 'GET', path: '/whoami', handler: 'whoami', auth: 'public' },
    { method: 'GET', path: '/token', handler: 'token', auth: 'public' },
    { method: 'POST', path: '/echo', handler: 'echo', auth: 'public' },
    { method: 'POST', path: '/count', handler: 'count', auth: 'public' },
    { method: 'GET', path: '/peek', handler: 'peek', auth: 'public' },
  ],
  secrets: [{ key: 'token', description: 'a test token' }],
  permissions: [],
});
`;
const WHOAMI = (version: number) => `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (_request, ctx) => ({ tenant: ctx.tenant.id, tier: ctx.tenant.tier, pid: process.pid, version: ${version} }));
`;
const TOKEN = `import { createHash } from 'node:crypto';
import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (_request, ctx) => ({ fingerprint: createHash('sha256').update(await ctx.secrets.get('token')).digest('hex').slice(0, 16) }));
`;
const ECHO = `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (request) => ({ method: request.method, path: request.path, query: request.query, headers: request.headers, body: request.body }));
`;
const COUNT = `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (_request, ctx) => {
  const item = await ctx.db.get('counter', 'hits');
  const hits = Number(item?.hits ?? 0) + 1;
  await ctx.db.put({ pk: 'counter', sk: 'hits', hits });
  return { hits };
});
`;
const PEEK = `import { readFileSync } from 'node:fs';
import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (request) => {
  try {
    readFileSync(String(request.query.path));
    return { readable: true };
  } catch (error) {
    return { readable: false, code: error.code };
  }
});
`;
const MARKER_MANIFEST = `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({ name: 'marker', version: '1.0.0', description: 'enabled for globex only', routes: [{ method: 'GET', path: '/mark', handler: 'mark', auth: 'public' }] });
`;
const MARK = (label: string) => `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async () => ({ mark: '${label}' }));
`;

const fingerprint = (value: string) => createHash('sha256').update(value).digest('hex').slice(0, 16);



interface DevJson {
  pid: number;
  port: number;
  tenants: Record<string, { pid: number | null; port: number | null; status: string }>;
}

let dir: string;
let dev: ResultPromise<Options> | undefined;
let running: RunningDev | undefined;
const stderr = () => running?.stderr() ?? '';
let port = 0;
const pids = new Set<number>();
const env = { NO_COLOR: '1', SOVEREIGN_ACTOR: 'test@host', SOVEREIGN_LOCK_WAIT_MS: '5000', CI: '1' };

const devState = (): DevJson => JSON.parse(readFileSync(join(dir, '.sovereign', 'dev.json'), 'utf8')) as DevJson;
const url = (path: string) => `http://127.0.0.1:${port}${path}`;
/** dev's own endpoints, with the credential of dev.json as `tenant status` sends it. */
const devFetch = (path: string) => fetch(url(path), { headers: { authorization: `Bearer ${(JSON.parse(readFileSync(join(dir, '.sovereign', 'dev.json'), 'utf8')) as { token: string }).token}` } });
/** A request with `Host: <tenant>.localhost:<port>` (fetch does not let a caller set Host). */
function viaHost(tenant: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const call = httpRequest(
      { host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: { ...init.headers, host: `${tenant}.localhost:${port}` } },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(answer.headers)) if (typeof value === 'string') headers.set(name, value);
          resolve(new Response(Buffer.concat(chunks), { status: answer.statusCode ?? 0, headers }));
        });
      },
    );
    call.on('error', reject);
    call.end(init.body);
  });
}
const json = async (response: Response) => (await response.json()) as Record<string, unknown>;

async function startDev(): Promise<number> {
  // One warm environment per tenant (started with dev), so each tenant has a pid from the start.
  running = await startDevCli(dir, env, ['--warm']);
  dev = running.child;
  pids.add(running.pid);
  for (const t of Object.values(devState().tenants)) if (t.pid) pids.add(t.pid);
  return running.port;
}

async function setSecret(tenant: string, reference: string, value: string): Promise<void> {
  const project = await loadProject(dir);
  const vault = openWritableVault(join(project.paths.vault, `${tenant}.vault`), readVaultKey(join(project.paths.keys, `${tenant}.key`)), tenant);
  vault.putVersion(reference, value, { by: 'test@host' });
}

beforeAll(async () => {
  dir = await makeProject();
  const configFile = join(dir, 'sovereign.config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(configFile, JSON.stringify({ ...config, defaults: { tier: 'standard', extensions: ['probe'] } }, null, 2));
  write(join(dir, 'extensions', 'probe', 'extension.ts'), PROBE_MANIFEST);
  write(join(dir, 'extensions', 'probe', 'handlers', 'whoami.ts'), WHOAMI(1));
  write(join(dir, 'extensions', 'probe', 'handlers', 'token.ts'), TOKEN);
  write(join(dir, 'extensions', 'probe', 'handlers', 'echo.ts'), ECHO);
  write(join(dir, 'extensions', 'probe', 'handlers', 'count.ts'), COUNT);
  write(join(dir, 'extensions', 'probe', 'handlers', 'peek.ts'), PEEK);
  write(join(dir, 'extensions', 'marker', 'extension.ts'), MARKER_MANIFEST);
  write(join(dir, 'extensions', 'marker', 'handlers', 'mark.ts'), MARK('one'));

  for (const [id, tier] of [['acme', 'basic'], ['globex', 'standard']] as const) {
    const created = await runCli(['tenant', 'create', id, '--tier', tier, '--no-deploy'], { cwd: dir });
    expect(created.exitCode, created.stderr).toBe(0);
  }
  // globex alone runs the marker extension; each tenant's token goes in through the secrets commands.
  const enabled = await runCli(['ext', 'enable', 'marker', '--tenant', 'globex'], { cwd: dir, env });
  expect(enabled.exitCode, enabled.stderr).toBe(0);
  for (const id of ['acme', 'globex']) {
    const reference = `ssm:/dev/tenants/${id}/probe/token`;
    const put = await runCli(['secrets', 'put', reference, '--tenant', id, '--from-stdin'], { cwd: dir, env, input: `${id}-first-token` });
    expect(put.exitCode, put.stderr).toBe(0);
    const set = await runCli(['secrets', 'set', id, 'probe.token', reference], { cwd: dir, env });
    expect(set.exitCode, set.stderr).toBe(0);
  }
  port = await startDev();
}, 180_000);

afterAll(async () => {
  await killDev(running, pids);
});

describe('sovereign dev', { timeout: 120_000 }, () => {
  it('reports each tenant\'s secret cache from the health it polls', async () => {
    expect((await fetch(url('/t/globex/probe/token'))).status).toBe(200);
    const cache = await waitFor('globex\'s secret cache figures', async () => {
      const stats = await json(await devFetch('/_sovereign/dev/stats'));
      const globex = (stats.tenants as Array<{ tenant: string; secretCache: { hits: number; misses: number } | null }>).find((t) => t.tenant === 'globex');
      return globex?.secretCache ?? undefined;
    }, 15_000);
    expect(cache.hits + cache.misses).toBeGreaterThanOrEqual(1);
  });

  it('serves each tenant from its own process, by host and by path', async () => {
    const state = devState();
    expect(state.port).toBe(port);
    const acme = await json(await viaHost('acme', '/probe/whoami'));
    const globex = await json(await fetch(url('/t/globex/probe/whoami')));
    expect(acme).toMatchObject({ tenant: 'acme', tier: 'basic' });
    expect(globex).toMatchObject({ tenant: 'globex', tier: 'standard' });
    expect(acme.pid).toBe(state.tenants.acme!.pid);
    expect(globex.pid).toBe(state.tenants.globex!.pid);
    expect(acme.pid).not.toBe(globex.pid);
    expect(acme.pid).not.toBe(state.pid);
    // The path form reaches the same process as the host form.
    expect((await json(await fetch(url('/t/acme/probe/whoami')))).pid).toBe(acme.pid);
    // Only globex runs the marker extension.
    expect((await fetch(url('/t/globex/marker/mark'))).status).toBe(200);
    expect((await fetch(url('/t/acme/marker/mark'))).status).toBe(404);
  });

  it('refuses a tenant that does not exist, a second dev server and a port that is not one', async () => {
    const missing = await runCli(['dev', '--port', '0', '--tenant', 'initrode'], { cwd: dir, env });
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toContain('tenant "initrode" does not exist');
    const second = await runCli(['dev', '--port', '0'], { cwd: dir, env });
    expect(second.exitCode).toBe(4);
    expect(second.stderr).toContain('already running');
    const badPort = await runCli(['dev', '--port', 'http'], { cwd: dir, env });
    expect(badPort.exitCode).toBe(2);
    expect(badPort.stderr).toContain('--port http');
    // The running dev server is untouched.
    expect((await fetch(url('/t/acme/probe/whoami'))).status).toBe(200);
  });

  it('confines each tenant\'s process to its own key, vault and data', async () => {
    const keys = join(dir, '.sovereign', 'keys');
    const peek = async (tenant: string, path: string) => json(await fetch(url(`/t/${tenant}/probe/peek?path=${encodeURIComponent(path)}`)));
    expect(await peek('acme', join(keys, 'acme.key'))).toEqual({ readable: true });
    expect(await peek('acme', join(keys, 'globex.key'))).toEqual({ readable: false, code: 'ERR_ACCESS_DENIED' });
    expect(await peek('acme', join(dir, '.sovereign', 'vault', 'globex.vault'))).toEqual({ readable: false, code: 'ERR_ACCESS_DENIED' });
    expect(await peek('globex', join(dir, '.sovereign', 'data', 'acme', 'runtime.log'))).toEqual({ readable: false, code: 'ERR_ACCESS_DENIED' });
    expect(await peek('globex', join(dir, '.sovereign', 'data', 'globex', 'runtime.log'))).toEqual({ readable: true });
  });

  it('passes method, path, query, headers, cookies and body through as the API Gateway event does', async () => {
    const response = await viaHost('globex', '/probe/echo?color=blue&size=2', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Custom-Header': 'Yes', cookie: 'a=1; b=2' },
      body: JSON.stringify({ hello: 'world' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('apigw-requestid')).toBeTruthy();
    const echo = await json(response);
    expect(echo).toMatchObject({ method: 'POST', path: '/probe/echo', query: { color: 'blue', size: '2' }, body: { hello: 'world' } });
    const headers = echo.headers as Record<string, string>;
    expect(headers['x-custom-header']).toBe('Yes');
    expect(headers.cookie).toBe('a=1; b=2');
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('answers 404 problem+json for a tenant that does not exist', async () => {
    for (const response of [await fetch(url('/t/nobody/probe/whoami')), await viaHost('nobody', '/probe/whoami')]) {
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(await json(response)).toMatchObject({ status: 404, type: expect.stringContaining('unknown-tenant') });
    }
  });

  it('keeps data in the tenant\'s own DynamoDB table', async () => {
    const first = await json(await fetch(url('/t/acme/probe/count'), { method: 'POST' }));
    const second = await json(await fetch(url('/t/acme/probe/count'), { method: 'POST' }));
    expect(second.hits).toBe(Number(first.hits) + 1);
    // globex has its own table: its counter starts at 1.
    expect(await json(await fetch(url('/t/globex/probe/count'), { method: 'POST' }))).toEqual({ hits: 1 });
  });

  it('sees a rotated secret after the signed rotation webhook, without a restart', async () => {
    const pidBefore = devState().tenants.globex!.pid;
    const reference = 'ssm:/dev/tenants/globex/probe/token';
    expect(await json(await fetch(url('/t/globex/probe/token')))).toEqual({ fingerprint: fingerprint('globex-first-token') });

    await setSecret('globex', reference, 'globex-second-token');
    // Cached until told: the TTL is minutes.
    expect(await json(await fetch(url('/t/globex/probe/token')))).toEqual({ fingerprint: fingerprint('globex-first-token') });

    const project = await loadProject(dir);
    const vault = openWritableVault(join(project.paths.vault, 'globex.vault'), readVaultKey(join(project.paths.keys, 'globex.key')), 'globex');
    const secret = vault.readSecret('ssm:/dev/tenants/globex/_sovereign/webhook_secret');
    const body = JSON.stringify({ tenant: 'globex', references: [reference] });
    const unsigned = await fetch(url('/t/globex/_sovereign/webhooks/rotation'), { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect(unsigned.status).toBe(400);
    const notice = await fetch(`http://localhost:${port}/t/globex/_sovereign/webhooks/rotation`, { method: 'POST', body, headers: webhookHeaders(secret, `msg_${randomUUID()}`, body) });
    expect(notice.status, await notice.clone().text()).toBe(200);

    expect(await json(await fetch(url('/t/globex/probe/token')))).toEqual({ fingerprint: fingerprint('globex-second-token') });
    expect(devState().tenants.globex!.pid).toBe(pidBefore);
    // acme's secret and cache were never touched.
    expect(await json(await fetch(url('/t/acme/probe/token')))).toEqual({ fingerprint: fingerprint('acme-first-token') });
  });

  it('lets `secrets rotate` reach the running tenant through the gateway, without a restart', async () => {
    const pidBefore = devState().tenants.acme!.pid;
    expect(await json(await fetch(url('/t/acme/probe/token')))).toEqual({ fingerprint: fingerprint('acme-first-token') });
    const rotated = await runCli(['secrets', 'rotate', 'acme', 'probe.token', '--from-stdin', '--json'], { cwd: dir, env, input: 'acme-second-token' });
    expect(rotated.exitCode, rotated.stderr).toBe(0);
    expect(rotated.stdout).not.toContain('acme-second-token');
    const result = JSON.parse(rotated.stdout) as { runtime: { webhook: { acknowledged: boolean } | null } };
    expect(result.runtime.webhook?.acknowledged).toBe(true);
    expect(await json(await fetch(url('/t/acme/probe/token')))).toEqual({ fingerprint: fingerprint('acme-second-token') });
    expect(devState().tenants.acme!.pid).toBe(pidBefore);
  });

  it('answers 429 with Retry-After once a tenant is over its tier\'s rate, and only that tenant', async () => {
    // acme is basic: 100 requests/s with a burst of 200. Batches of 5 at once (its reserved
    // concurrency, so the function never throttles) drain the burst at any speed above 100
    // requests/s; bounded so a gateway that never throttles fails.
    const statuses: Array<{ status: number; retry: string | null; type: string | null; body: string }> = [];
    while (statuses.length < 4000 && !statuses.some((s) => s.status === 429)) {
      statuses.push(...(await Promise.all(Array.from({ length: 5 }, () => fetch(url('/t/acme/probe/whoami')).then(async (r) => ({ status: r.status, retry: r.headers.get('retry-after'), type: r.headers.get('content-type'), body: await r.text() }))))));
    }
    const throttled = statuses.filter((s) => s.status === 429);
    expect(throttled.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s.status === 200).length).toBeGreaterThan(0);
    expect(statuses.every((s) => s.status === 200 || s.status === 429)).toBe(true);
    expect(Number(throttled[0]!.retry)).toBeGreaterThanOrEqual(1);
    expect(throttled[0]!.type).toBe('application/problem+json');
    expect(JSON.parse(throttled[0]!.body)).toMatchObject({ status: 429, type: expect.stringContaining('throttled') });
    expect((await fetch(url('/t/globex/probe/whoami'))).status).toBe(200);
    const stats = await json(await devFetch('/_sovereign/dev/stats'));
    const acme = (stats.tenants as Array<Record<string, unknown>>).find((t) => t.tenant === 'acme')!;
    expect(acme.throttled).toBe(throttled.length);
  });

  it('serves from a new environment after one is killed with SIGKILL, while the other tenant keeps serving', async () => {
    // Let acme's bucket refill after the throttling test: basic is 100 requests/s, burst 200, so
    // 2 s fills it (one 200 alone could leave it empty, and this test's polls would meet a 429).
    await new Promise((r) => setTimeout(r, 2_100));
    await waitFor('acme to accept requests again', async () => ((await fetch(url('/t/acme/probe/whoami'))).status === 200 ? true : undefined));
    const before = devState().tenants.acme!.pid!;
    const hitsBefore = Number((await json(await fetch(url('/t/acme/probe/count'), { method: 'POST' }))).hits);
    process.kill(before, 'SIGKILL');
    await waitFor('the environment to be gone', () => (!alive(before) ? true : undefined));
    expect((await fetch(url('/t/globex/probe/whoami'))).status).toBe(200);
    // The next request starts an environment (a cold start), as Lambda does after a crash.
    const back = await json(await fetch(url('/t/acme/probe/whoami')));
    expect(back.pid).not.toBe(before);
    pids.add(back.pid as number);
    await waitFor('the crash to be reported', () => (/environment crashed tenant=acme pid=\d+ signal=SIGKILL/.test(stderr()) ? true : undefined));
    // Its table is kept by the dev process: the counter survived the crash.
    expect((await json(await fetch(url('/t/acme/probe/count'), { method: 'POST' }))).hits).toBe(hitsBefore + 1);
  });

  it('starts and stops a tenant\'s process on tenant create and destroy', async () => {
    const created = await runCli(['tenant', 'create', 'initech', '--no-deploy'], { cwd: dir, env });
    expect(created.exitCode, created.stderr).toBe(0);
    const who = await waitFor('initech to serve', async () => {
      const response = await fetch(url('/t/initech/probe/whoami'));
      return response.status === 200 ? json(response) : undefined;
    }, 60_000);
    expect(who.tenant).toBe('initech');
    const pid = who.pid as number;
    pids.add(pid);
    const destroyed = await runCli(['tenant', 'destroy', 'initech', '--yes'], { cwd: dir, env });
    expect(destroyed.exitCode, destroyed.stderr).toBe(0);
    await waitFor('initech to be gone', async () => ((await fetch(url('/t/initech/probe/whoami'))).status === 404 ? true : undefined));
    await waitFor('initech\'s process to exit', () => (alive(pid) ? undefined : true), 10_000);
  });

  it('rebuilds and restarts only the tenants that run an edited extension', async () => {
    const before = devState().tenants;
    write(join(dir, 'extensions', 'marker', 'handlers', 'mark.ts'), MARK('two'));
    const mark = await waitFor('globex to serve the edited marker', async () => {
      const response = await fetch(url('/t/globex/marker/mark'));
      if (response.status !== 200) return undefined;
      const body = await json(response);
      return body.mark === 'two' ? body : undefined;
    }, 60_000);
    expect(mark).toEqual({ mark: 'two' });
    // dev.json follows within moments: the replaced environment stops once idle.
    const after = await waitFor('dev.json to show globex\'s new environment', () => {
      const tenants = devState().tenants;
      return tenants.globex!.pid !== null && tenants.globex!.pid !== before.globex!.pid ? tenants : undefined;
    });
    expect(after.globex!.pid).not.toBe(before.globex!.pid);
    expect(after.acme!.pid).toBe(before.acme!.pid);
    pids.add(after.globex!.pid!);
  });

  it('serves the billing webhook on the gateway, and gateway paths only on a local host', async () => {
    const unsigned = await fetch(url('/_sovereign/billing/webhook'), { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(unsigned.status).not.toBe(404);
    expect(unsigned.status).toBeGreaterThanOrEqual(400);
    expect((await viaHost('acme', '/_sovereign/dev/stats')).status).toBe(404);
  });

  it('serves runtime logs and stats for each tenant', async () => {
    const logs = await json(await devFetch('/_sovereign/dev/logs?tenant=globex'));
    expect(Array.isArray(logs.lines)).toBe(true);
    expect((logs.lines as Array<Record<string, unknown>>).some((l) => l.message === 'rotation notice')).toBe(true);
    expect(JSON.stringify(logs)).not.toContain('globex-second-token');
    expect(existsSync(join(dir, '.sovereign', 'data', 'globex', 'runtime.log'))).toBe(true);
    const stats = await json(await devFetch('/_sovereign/dev/stats'));
    const globex = (stats.tenants as Array<Record<string, unknown>>).find((t) => t.tenant === 'globex')!;
    expect(globex.status).toBe('running');
    expect(Number(globex.requests)).toBeGreaterThan(0);
  });

  it('stops every process on SIGTERM and leaves none behind', async () => {
    for (const t of Object.values(devState().tenants)) if (t.pid) pids.add(t.pid);
    dev!.kill('SIGTERM');
    const result = await dev!;
    expect(result.exitCode, stderr()).toBe(0);
    expect(stderr()).toContain('dev stopped');
    await waitFor('every recorded process to be gone', () => ([...pids].every((pid) => !alive(pid)) ? true : undefined), 10_000);
    expect(existsSync(join(dir, '.sovereign', 'dev.json'))).toBe(false);
  });

  it('takes its tenant processes down with it when it is killed outright', async () => {
    port = await startDev();
    const children = Object.values(devState().tenants).map((t) => t.pid!);
    expect(children.length).toBe(2);
    expect(children.every(alive)).toBe(true);
    dev!.kill('SIGKILL');
    await dev!;
    await waitFor('the orphaned tenant processes to exit', () => (children.every((pid) => !alive(pid)) ? true : undefined), 10_000);
  }, 120_000);
});
