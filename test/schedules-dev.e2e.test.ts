/**
 * Schedules under the real `sovereign dev`: a `rate(1 minute)` schedule fires by itself (the dev
 * scheduler's clock sped up 60×, so a minute passes in a second), `sovereign tenant run` runs one
 * now through the running dev, a schedule that is off or undeclared is refused, and no HTTP
 * request through the gateway — whatever its body and headers carry — runs a schedule handler.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { killDev, startDevCli, type RunningDev } from './helpers/dev.js';
import { makeProjectWithExtension } from './helpers/project.js';
import { waitFor } from './helpers/wait.js';

const MANIFEST = `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({
  name: 'ticker',
  version: '1.0.0',
  description: 'Counts its scheduled runs',
  routes: [{ method: 'GET', path: '/runs', handler: 'runs', auth: 'public' }, { method: 'POST', path: '/echo', handler: 'echo', auth: 'public' }],
  schedules: [
    { name: 'minute', expression: 'rate(1 minute)', handler: 'tick' },
    { name: 'manual', expression: 'rate(1 day)', handler: 'tick', payload: { from: 'manifest' } },
    { name: 'off', expression: 'cron(0 3 * * ? *)', handler: 'tick', enabled: false },
  ],
});
`;
const TICK = `import { defineScheduleHandler } from 'sovereign-cli/runtime';
export const handler = defineScheduleHandler(async (run, ctx) => {
  const item = await ctx.db.get('runs', run.schedule);
  const count = Number(item?.count ?? 0) + 1;
  await ctx.db.put({ pk: 'runs', sk: run.schedule, count, payload: run.payload ?? null, identity: ctx.identity.subject });
  return { count, payload: run.payload ?? null };
});
`;
const RUNS = `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (_request, ctx) => {
  const out = {};
  for await (const item of ctx.db.query('runs')) out[item.sk] = { count: item.count, payload: item.payload, identity: item.identity };
  return out;
});
`;
const ECHO = `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (request) => ({ body: request.body }));
`;

const env = { NO_COLOR: '1', SOVEREIGN_ACTOR: 'test@host', SOVEREIGN_LOCK_WAIT_MS: '5000', CI: '1' };
let dir: string;
let dev: RunningDev | undefined;
const pids = new Set<number>();

const runs = async (tenant: string): Promise<Record<string, { count: number; payload: unknown; identity: string }>> =>
  (await (await fetch(`http://127.0.0.1:${dev!.port}/t/${tenant}/ticker/runs`)).json()) as Record<string, { count: number; payload: unknown; identity: string }>;

beforeAll(async () => {
  dir = await makeProjectWithExtension('ticker', { 'extension.ts': MANIFEST, 'handlers/tick.ts': TICK, 'handlers/runs.ts': RUNS, 'handlers/echo.ts': ECHO });
  for (const id of ['acme', 'globex']) {
    const created = await runCli(['tenant', 'create', id, '--no-deploy'], { cwd: dir, env });
    expect(created.exitCode, created.stderr).toBe(0);
  }
}, 120_000);

afterAll(async () => {
  await killDev(dev, pids);
});

describe('schedules under sovereign dev', () => {
  it('ext validate lists the schedules', async () => {
    const text = await runCli(['ext', 'validate', 'ticker'], { cwd: dir, env });
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/schedule: ticker\.minute rate\(1 minute\) → handlers\/tick/);
    expect(text.stdout).toMatch(/schedule: ticker\.off cron\(0 3 \* \* \? \*\) → handlers\/tick \(disabled\)/);
    const json = await runCli(['ext', 'validate', 'ticker', '--json'], { cwd: dir, env });
    expect(JSON.parse(json.stdout).extensions[0].schedules).toEqual([
      { name: 'minute', expression: 'rate(1 minute)', handler: 'tick', enabled: true },
      { name: 'manual', expression: 'rate(1 day)', handler: 'tick', enabled: true },
      { name: 'off', expression: 'cron(0 3 * * ? *)', handler: 'tick', enabled: false },
    ]);
  });

  it('ext validate refuses a bad expression and a missing schedule handler, naming the field and the fix', async () => {
    const bad = await makeProjectWithExtension('late', {
      'extension.ts': `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({ name: 'late', version: '1.0.0', description: 'd', routes: [], schedules: [{ name: 'a', expression: 'rate(5 minute)', handler: 'tick' }, { name: 'b', expression: 'cron(0 12 * * * *)', handler: 'gone' }] });
`,
      'handlers/tick.ts': TICK,
    });
    const result = await runCli(['ext', 'validate'], { cwd: bad, env });
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toMatch(/schedules\[0\]\.expression: "rate\(5 minute\)" uses the singular "minute" with 5 \(write rate\(5 minutes\)\)/);
    expect(result.stdout).toMatch(/schedules\[1\]\.expression: "cron\(0 12 \* \* \* \*\)" has "\*" as day-of-month and "\*" as day-of-week; exactly one of them must be "\?"/);
    expect(result.stdout).toMatch(/schedules\[1\] \(b\): handler file handlers\/gone\.ts does not exist/);
    expect(result.stderr).toMatch(/^error: 1 extension failed validation: late; the first problem: late: schedules\[0\]\.expression: /m);
    expect(result.stderr).toMatch(/^hint: /m);
  }, 60_000);

  it('tenant run without a running dev says how to start one', async () => {
    const result = await runCli(['tenant', 'run', 'acme', 'ticker.manual'], { cwd: dir, env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^error: sovereign dev is not running for this project/m);
    expect(result.stderr).toMatch(/^hint: start it in another terminal \(`sovereign dev`\)/m);
  });

  it('fires rate(1 minute) by itself, for every running tenant, and logs each fire', async () => {
    dev = await startDevCli(dir, { ...env, SOVEREIGN_DEV_SCHEDULE_SPEEDUP: '60' });
    pids.add(dev.pid);
    await waitFor('a fire and a finish of acme and globex', () => {
      const lines = dev!.stderr();
      return ['acme', 'globex'].every((t) => new RegExp(`schedule finished tenant=${t} schedule=ticker\\.minute status=succeeded`).test(lines)) ? true : undefined;
    }, 30_000);
    expect(dev.stderr()).toMatch(/schedule fired tenant=acme schedule=ticker\.minute due=\S+/);
    const acme = await runs('acme');
    expect(acme.minute?.count).toBeGreaterThanOrEqual(1);
    expect(acme.minute?.identity).toBe('ticker.minute');
    // Neither the schedule that is off nor the daily one has fired.
    expect(acme.off).toBeUndefined();
    expect(acme.manual).toBeUndefined();
    expect(dev.stderr()).not.toMatch(/schedule=ticker\.off/);
  }, 60_000);

  it('tenant run runs one now through the running dev, with the manifest payload or --payload', async () => {
    const first = await runCli(['tenant', 'run', 'acme', 'ticker.manual', '--json'], { cwd: dir, env });
    expect(first.exitCode, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ tenant: 'acme', via: `sovereign dev on port ${dev!.port}`, run: { status: 'succeeded', extension: 'ticker', schedule: 'manual', result: { count: 1, payload: { from: 'manifest' } } } });
    const second = await runCli(['tenant', 'run', 'acme', 'ticker.manual', '--payload', '{"from":"cli"}'], { cwd: dir, env });
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/✔ ran ticker\.manual for acme \(sovereign dev on port \d+\) in \d+ ms, request \S+/);
    expect((await runs('acme')).manual).toEqual({ count: 2, payload: { from: 'cli' }, identity: 'ticker.manual' });
    // The other tenant's data is its own.
    expect((await runs('globex')).manual).toBeUndefined();
  }, 60_000);

  it('refuses a schedule that is off (exit 2) or undeclared (exit 3), running nothing', async () => {
    const off = await runCli(['tenant', 'run', 'acme', 'ticker.off'], { cwd: dir, env });
    expect(off.exitCode).toBe(2);
    expect(off.stderr).toMatch(/^error: schedule ticker\.off is disabled for tenant "acme"/m);
    expect(off.stderr).toMatch(/^hint: .*"_schedules": \{ "off": true \}/m);
    const unknown = await runCli(['tenant', 'run', 'acme', 'ticker.hourly'], { cwd: dir, env });
    expect(unknown.exitCode).toBe(3);
    expect(unknown.stderr).toMatch(/^error: tenant "acme" runs no schedule ticker\.hourly/m);
    expect((await runs('acme')).off).toBeUndefined();
  }, 60_000);

  it('the invoke endpoint refuses a malformed body, an unknown tenant, and a tenant host', async () => {
    // dev's own endpoints take the token of dev.json; without it, nothing else is looked at.
    const token = (JSON.parse(readFileSync(join(dir, '.sovereign', 'dev.json'), 'utf8')) as { token: string }).token;
    const invoke = (body: unknown, path = '/_sovereign/dev/invoke', authorization = `Bearer ${token}`) => fetch(`http://127.0.0.1:${dev!.port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: JSON.stringify(body) });
    expect((await invoke({ tenant: 'acme', extension: 'ticker', schedule: 'manual' }, '/_sovereign/dev/invoke', '')).status).toBe(401);
    const bad = await invoke({ tenant: 'acme', extension: 'ticker', schedule: 'manual', extra: 1 });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ detail: 'unknown member "extra"' });
    expect((await invoke({ tenant: 'acme', extension: 'ticker' })).status).toBe(400);
    const unknown = await invoke({ tenant: 'nobody', extension: 'ticker', schedule: 'manual' });
    expect(unknown.status).toBe(404);
    // On a tenant's own host the path is the tenant's: its runtime answers, nothing is invoked as a schedule.
    const viaTenant = await invoke({ tenant: 'globex', extension: 'ticker', schedule: 'manual' }, '/t/globex/_sovereign/dev/invoke');
    expect(viaTenant.status).toBe(404);
    expect((await runs('globex')).manual).toBeUndefined();
    const unserved = await runCli(['tenant', 'run', 'nobody', 'ticker.manual'], { cwd: dir, env });
    expect(unserved.exitCode).toBe(3);
  }, 60_000);

  it('an HTTP request carrying the schedule event in its body and headers runs no schedule handler', async () => {
    const before = (await runs('globex')).manual;
    const marker = { source: 'sovereign.schedule', extension: 'ticker', schedule: 'manual', payload: { from: 'attacker' } };
    const answer = await fetch(`http://127.0.0.1:${dev!.port}/t/globex/ticker/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', source: 'sovereign.schedule', extension: 'ticker', schedule: 'manual' },
      body: JSON.stringify(marker),
    });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ body: marker });
    expect((await runs('globex')).manual).toEqual(before);
    expect(before).toBeUndefined();
  }, 60_000);

  it('a tenant suspended in the registry runs no schedule, although its extension rewrote its own marker', { timeout: 120_000 }, async () => {
    const deployed = await runCli(['tenant', 'deploy', 'globex'], { cwd: dir, env });
    expect(deployed.exitCode, deployed.stderr).toBe(0);
    const suspended = await runCli(['tenant', 'suspend', 'globex', '--reason', 'schedules test'], { cwd: dir, env });
    expect(suspended.exitCode, suspended.stderr).toBe(0);
    // What a hostile extension of globex can do: its data folder is writable to it.
    const markerFile = join(dir, '.sovereign', 'data', 'globex', 'generation.json');
    const marker = JSON.parse(readFileSync(markerFile, 'utf8')) as { suspended: boolean };
    expect(marker.suspended).toBe(true);
    writeFileSync(markerFile, JSON.stringify({ ...marker, suspended: false }));
    const refused = await waitFor('dev to see the suspension', async () => {
      const result = await runCli(['tenant', 'run', 'globex', 'ticker.manual'], { cwd: dir, env });
      return result.exitCode !== 0 ? result : undefined;
    }, 20_000);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/^error: tenant "globex" is suspended: its schedules do not run$/m);
    expect(refused.stderr).toMatch(/^hint: resume it first: sovereign tenant resume globex$/m);
    const seen = dev!.stderr().length;
    // Three minutes of the sped-up clock: the minute schedule would fire three times.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(dev!.stderr().slice(seen)).not.toMatch(/schedule fired tenant=globex/);
    expect(dev!.stderr().slice(seen)).toMatch(/schedule fired tenant=acme/);
  });
});
