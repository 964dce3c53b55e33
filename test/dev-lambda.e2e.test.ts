/**
 * `sovereign dev` as a Lambda host, end to end with the real CLI: a tenant has no process until
 * its first request (a cold start, logged as Lambda's `Init Duration`), an environment idle past
 * `--idle` is stopped, each environment serves one invocation at a time, the tier's reserved
 * concurrency throttles with Lambda's answer, the function's timeout ends an invocation and its
 * environment, a result over 6 MB is refused, the heap is capped from MemorySize — and an
 * environment has no door: it listens on nothing, holds no socket of another tenant's, and can
 * load no native addon, start no process, worker or WASI instance.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, runCli } from './helpers/cli.js';
import { alive, killDev, startDevCli, type RunningDev } from './helpers/dev.js';
import { waitFor, write } from './helpers/wait.js';

const MANIFEST = `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({
  name: 'lam',
  version: '1.0.0',
  description: 'Reports how the environment serving it runs',
  routes: [
    { method: 'GET', path: '/who', handler: 'who', auth: 'public' },
    { method: 'GET', path: '/slow', handler: 'slow', auth: 'public' },
    { method: 'GET', path: '/big', handler: 'big', auth: 'public' },
    { method: 'GET', path: '/escape', handler: 'escape', auth: 'public' },
  ],
  permissions: [],
});
`;
/** In-flight invocations of this environment, counted by the handlers themselves. */
const STATE = `export const state = { inFlight: 0, most: 0 };
export async function tracked<T>(work: () => Promise<T>): Promise<T> {
  state.inFlight += 1;
  state.most = Math.max(state.most, state.inFlight);
  try {
    return await work();
  } finally {
    state.inFlight -= 1;
  }
}
`;
const WHO = `import { defineHandler } from 'sovereign-cli/runtime';
import { state, tracked } from '../state.js';
export const handler = defineHandler(async () => tracked(async () => ({ pid: process.pid, execArgv: process.execArgv, most: state.most })));
`;
const SLOW = `import { defineHandler } from 'sovereign-cli/runtime';
import { state, tracked } from '../state.js';
export const handler = defineHandler(async (request) => tracked(async () => {
  const started = Date.now();
  await new Promise((resolve) => setTimeout(resolve, Number(request.query.ms ?? 300)));
  return { pid: process.pid, started, ended: Date.now(), most: state.most };
}));
`;
const BIG = `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async () => ({ pad: 'x'.repeat(7 * 1024 * 1024) }));
`;
/** What a hostile extension would try from inside its environment. */
const ESCAPE = `import { defineHandler } from 'sovereign-cli/runtime';
const code = async (attempt: () => unknown | Promise<unknown>): Promise<string> => {
  try {
    await attempt();
    return 'allowed';
  } catch (error) {
    return String((error as { code?: string }).code ?? (error as Error).message);
  }
};
export const handler = defineHandler(async () => ({
  childProcess: await code(async () => (await import('node:child_process')).execFileSync('/bin/true')),
  worker: await code(async () => new (await import('node:worker_threads')).Worker('0', { eval: true })),
  addon: await code(() => process.dlopen({ exports: {} } as NodeJS.Module, '/nonexistent/escape.node')),
  wasi: await code(async () => new (await import('node:wasi')).WASI({ version: 'preview1' })),
  proc: await code(async () => (await import('node:fs')).readFileSync('/proc/1/environ')),
}));
`;

let dir: string;
let dataDir: string;
let running: RunningDev | undefined;
let port: number;
const pids = new Set<number>();
const env = { NO_COLOR: '1', CI: '1', SOVEREIGN_DEV_TIMEOUT_MS: '1500', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
const url = (path: string) => `http://127.0.0.1:${port}${path}`;
const json = async (response: Response) => (await response.json()) as Record<string, unknown>;
interface DevJson { tenants: Record<string, { pid: number | null; pids: number[]; status: string }> }
const devState = (): DevJson => JSON.parse(readFileSync(join(dir, '.sovereign', 'dev.json'), 'utf8')) as DevJson;
const logOf = (tenant: string) => readFileSync(join(dataDir, tenant, 'runtime.log'), 'utf8');
/** Lambda's REPORT lines of the tenant's log, without the time dev writes before each. */
const reports = (tenant: string) => logOf(tenant).split('\n').flatMap((line) => /^\d{4}-\d\d-\d\dT[\d:.]+Z (REPORT RequestId: .*)$/.exec(line)?.[1] ?? []);
async function get(path: string): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(url(path));
  const body = await json(response);
  if (typeof body.pid === 'number') pids.add(body.pid);
  return { status: response.status, headers: response.headers, body };
}
/** Waits until the tenant has no environment left (the idle time is 2 s). */
const scaledToZero = (tenant: string) => waitFor(`${tenant} to scale to zero`, () => (devState().tenants[tenant]!.pids.length === 0 ? true : undefined), 15_000);

beforeAll(async () => {
  dir = await makeProject();
  dataDir = join(dir, '.sovereign', 'data');
  const configFile = join(dir, 'sovereign.config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  write(configFile, JSON.stringify({ ...config, defaults: { tier: 'basic', extensions: ['lam'] } }, null, 2));
  write(join(dir, 'extensions', 'lam', 'extension.ts'), MANIFEST);
  write(join(dir, 'extensions', 'lam', 'state.ts'), STATE);
  for (const [name, source] of Object.entries({ who: WHO, slow: SLOW, big: BIG, escape: ESCAPE })) write(join(dir, 'extensions', 'lam', 'handlers', `${name}.ts`), source);
  for (const id of ['alpha', 'beta']) {
    const created = await runCli(['tenant', 'create', id, '--no-deploy'], { cwd: dir, env });
    expect(created.exitCode, created.stderr).toBe(0);
  }
  running = await startDevCli(dir, env, ['--idle', '2s', '--no-throttle']);
  pids.add(running.pid);
  port = running.port;
}, 180_000);

afterAll(async () => {
  for (const tenant of Object.values(devState().tenants)) for (const pid of tenant.pids) pids.add(pid);
  await killDev(running, pids);
});

describe('sovereign dev as a Lambda host', { timeout: 60_000 }, () => {
  it('runs no process for a tenant until its first request, which pays a cold start logged as Init Duration', async () => {
    expect(devState().tenants.alpha).toMatchObject({ status: 'idle', pids: [], pid: null });
    const first = await get('/t/alpha/lam/who');
    expect(first.status).toBe(200);
    // dev.json follows within moments.
    await waitFor('dev.json to list the environment', () => (devState().tenants.alpha!.pids.includes(first.body.pid as number) ? true : undefined));
    expect(devState().tenants.alpha!.pids).toEqual([first.body.pid]);
    const second = await get('/t/alpha/lam/who');
    expect(second.body.pid).toBe(first.body.pid);
    const lines = await waitFor('two REPORT lines', () => (reports('alpha').length >= 2 ? reports('alpha') : undefined));
    expect(lines[0]).toMatch(/^REPORT RequestId: [0-9a-f-]{36}\tDuration: \d+\.\d{2} ms\tBilled Duration: \d+ ms\tMemory Size: 512 MB\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d{2} ms\t$/);
    expect(lines[1]).not.toContain('Init Duration');
    // `tenant logs` reads them as it reads CloudWatch on aws: a line with the REPORT's figures.
    const logs = await runCli(['tenant', 'logs', 'alpha', '--json'], { cwd: dir, env });
    expect(logs.exitCode, logs.stderr).toBe(0);
    const reported = (JSON.parse(logs.stdout) as { lines: Array<{ message: string; fields?: Record<string, number> }> }).lines.filter((l) => l.message === 'lambda report');
    expect(reported.length).toBeGreaterThanOrEqual(2);
    expect(reported[0]!.fields).toMatchObject({ memoryMb: 512, initMs: expect.any(Number), durationMs: expect.any(Number), maxMemoryMb: expect.any(Number) });
    expect(reported[0]!.fields!.maxMemoryMb).toBeGreaterThan(10);
    // `tenant status` sums them, as it sums the log group's on aws.
    const status = await runCli(['tenant', 'status', 'alpha', '--json'], { cwd: dir, env });
    expect(status.exitCode, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as { function: unknown }).function).toMatchObject({ invocations: 2, coldStarts: 1, timeouts: 0, memoryMb: 512, initMs: { p50: expect.any(Number) } });
    // beta was never called: still no process.
    expect(devState().tenants.beta!.pids).toEqual([]);
  });

  it('stops an environment idle past --idle; the next request starts another', async () => {
    const { body } = await get('/t/alpha/lam/who');
    await scaledToZero('alpha');
    await waitFor('the idle environment to exit', () => (!alive(body.pid as number) ? true : undefined));
    const again = await get('/t/alpha/lam/who');
    expect(again.status).toBe(200);
    expect(again.body.pid).not.toBe(body.pid);
  });

  it('serves one invocation at a time per environment, in as many environments as requests in flight', async () => {
    await scaledToZero('alpha');
    const answers = await Promise.all(Array.from({ length: 4 }, () => get('/t/alpha/lam/slow?ms=600')));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(answers.map((a) => a.body.pid)).size).toBe(4);
    for (const answer of answers) expect(answer.body.most).toBe(1);
    // dev's environments share one machine: each after a tenant's first runs at a lower priority.
    const nice = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
    const niceness = answers.map((a) => nice(a.body.pid as number)).sort((a, b) => a - b);
    expect(niceness.map((n) => n - niceness[0]!)).toEqual([0, 3, 5, 6]);
  });

  it('throttles past the tier\'s reserved concurrency (basic: 5) with Lambda\'s TooManyRequestsException', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => fetch(url('/t/alpha/lam/slow?ms=1200')).then(async (r) => ({ status: r.status, type: r.headers.get('x-amzn-errortype'), body: await r.text() }))));
    const throttled = answers.filter((a) => a.status === 429);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(5);
    expect(throttled).toHaveLength(3);
    for (const answer of throttled) {
      expect(answer.type).toBe('TooManyRequestsException');
      expect(JSON.parse(answer.body)).toEqual({ Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded', Type: 'User', message: 'Rate Exceeded.' });
    }
  });

  it('ends an invocation past the function\'s timeout: 504, Lambda\'s timeout line, and a fresh environment next', async () => {
    await scaledToZero('alpha');
    const pending = fetch(url('/t/alpha/lam/slow?ms=5000'));
    const pid = await waitFor('the environment running it', () => devState().tenants.alpha!.pids[0]);
    pids.add(pid);
    const response = await pending;
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ status: 504, type: expect.stringContaining('function-timeout') });
    // Platform lines are written in batches, moments later.
    await waitFor('the timeout line', () => (/Status: timeout/.test(logOf('alpha')) ? true : undefined));
    expect(logOf('alpha')).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z [0-9a-f-]{36} Task timed out after 1\.50 seconds$/m);
    expect(reports('alpha').join('\n')).toMatch(/^REPORT RequestId: [0-9a-f-]{36}\tDuration: 1500\.00 ms\t.*\tStatus: timeout\t$/m);
    await waitFor('the timed-out environment to be gone', () => (!alive(pid) ? true : undefined));
    expect((await get('/t/alpha/lam/who')).status).toBe(200);
  });

  it('refuses a result over 6 MB as Lambda does: 502 with its error, the gateway never holding it', async () => {
    const response = await fetch(url('/t/alpha/lam/big'));
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ errorType: 'RequestEntityTooLarge', errorMessage: 'Exceeded maximum allowed payload size (6291556 bytes).' });
  });

  it('caps the heap from the tier\'s MemorySize as Lambda\'s Node bootstrap does', async () => {
    const { body } = await get('/t/alpha/lam/who');
    // basic: 512 MB → a tenth for the new space (half of it per semi-space), the rest old space.
    expect(body.execArgv).toEqual(expect.arrayContaining(['--max-semi-space-size=25', '--max-old-space-size=461']));
  });

  it('gives an environment no door: nothing listening, no socket of another tenant, no addon, process, worker, WASI or /proc', async () => {
    const escape = await get('/t/alpha/lam/escape');
    expect(escape.body).toEqual({ childProcess: 'ERR_ACCESS_DENIED', worker: 'ERR_ACCESS_DENIED', addon: 'ERR_DLOPEN_DISABLED', wasi: 'ERR_ACCESS_DENIED', proc: 'ERR_ACCESS_DENIED' });
    const beta0 = await get('/t/beta/lam/who');
    await waitFor('dev.json to list beta\'s environment', () => (devState().tenants.beta!.pids.includes(beta0.body.pid as number) ? true : undefined));
    const socketsOf = (pid: number) => new Set(readdirSync(`/proc/${pid}/fd`).map((fd) => {
      try {
        return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      } catch {
        return undefined;
      }
    }).filter((inode): inode is string => inode !== undefined));
    // Listening sockets of the whole machine: TCP in state 0A, Unix sockets with __SO_ACCEPTCON.
    const listening = new Set<string>();
    for (const table of ['tcp', 'tcp6']) {
      for (const line of readFileSync(`/proc/net/${table}`, 'utf8').split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        if (fields[3] === '0A') listening.add(fields[9]!);
      }
    }
    for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '00010000') listening.add(fields[6]!);
    }
    const alpha = devState().tenants.alpha!.pids;
    const beta = devState().tenants.beta!.pids;
    expect(alpha.length).toBeGreaterThan(0);
    expect(beta.length).toBeGreaterThan(0);
    const betaSockets = new Set(beta.flatMap((pid) => [...socketsOf(pid)]));
    for (const pid of [...alpha, ...beta]) {
      const own = socketsOf(pid);
      expect(own.size, `environment ${pid} has its pipe`).toBeGreaterThan(0);
      expect([...own].filter((inode) => listening.has(inode)), `environment ${pid} listens`).toEqual([]);
    }
    for (const pid of alpha) expect([...socketsOf(pid)].filter((inode) => betaSockets.has(inode))).toEqual([]);
  });
});
