/**
 * Telemetry and suspension against a real `sovereign dev` (real CLI, loopback only): suspension
 * seen as 403 through the running gateway and lifted again, `top` rendered without a TTY (plain
 * table and --json snapshot), `tenant status` from dev's counters and `tenant logs` filtered.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeader } from '../src/billing/signature.js';
import { cliPath, makeProject, runCli } from './helpers/cli.js';
import { startDevCli, type RunningDev } from './helpers/dev.js';
import { waitFor, write } from './helpers/wait.js';

// Public routes: who may call is test/dev-auth.e2e.test.ts's subject, not this file's.
const MANIFEST = `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({
  name: 'probe',
  version: '1.0.0',
  description: 'Answers who serves the tenant and logs each call',
  routes: [
    { method: 'GET', path: '/whoami', handler: 'whoami', auth: 'public' },
    { method: 'POST', path: '/note', handler: 'note', auth: 'public' },
  ],
});
`;
const WHOAMI = `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (_request, ctx) => {
  ctx.log.info('whoami served', { caller: 'top-test' });
  return { tenant: ctx.tenant.id, pid: process.pid };
});
`;

const NOTE = `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (request, ctx) => {
  const id = String(request.query.id);
  await ctx.db.put({ pk: 'note', sk: id, text: 'kept for retention' });
  return { id };
});
`;


const BILLING_SECRET = 'whsec_e2e_top_7d1f0c';
const env = { NO_COLOR: '1', SOVEREIGN_ACTOR: 'test@host', SOVEREIGN_LOCK_WAIT_MS: '5000', CI: '1' };
let dir: string;
let dev: RunningDev | undefined;
let port = 0;
const url = (path: string) => `http://127.0.0.1:${port}${path}`;
const cli = (args: string[]) => runCli(args, { cwd: dir, env });

beforeAll(async () => {
  dir = await makeProject();
  const configFile = join(dir, 'sovereign.config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(configFile, JSON.stringify({ ...config, defaults: { tier: 'premium', extensions: ['probe'] }, billing: { suspendAfterFailures: 1 } }, null, 2));
  write(join(dir, 'extensions', 'probe', 'extension.ts'), MANIFEST);
  write(join(dir, 'extensions', 'probe', 'handlers', 'whoami.ts'), WHOAMI);
  write(join(dir, 'extensions', 'probe', 'handlers', 'note.ts'), NOTE);
  for (const id of ['acme', 'globex']) {
    const created = await cli(['tenant', 'create', id, '--no-deploy']);
    expect(created.exitCode, created.stderr).toBe(0);
  }
  // Deployed, so active: one build for both (the same extensions).
  const deployed = await cli(['tenant', 'deploy', '--all']);
  expect(deployed.exitCode, deployed.stderr).toBe(0);
  dev = await startDevCli(dir, { ...env, SOVEREIGN_BILLING_WEBHOOK_SECRET: BILLING_SECRET });
  port = dev.port;
  for (const id of ['acme', 'globex']) await waitFor(`${id} to serve`, async () => ((await fetch(url(`/t/${id}/probe/whoami`))).status === 200 ? true : undefined), 60_000);
}, 180_000);

afterAll(async () => {
  if (dev && dev.child.exitCode === null) {
    dev.child.kill('SIGINT');
    await Promise.race([dev.child, new Promise((r) => setTimeout(r, 15_000))]);
    if (dev.child.exitCode === null) dev.child.kill('SIGKILL');
  }
}, 30_000);

describe('suspension through the running dev gateway', () => {
  it('a suspended tenant answers 403 on extension routes, keeps its health endpoint, and serves again after resume', async () => {
    const suspended = await cli(['tenant', 'suspend', 'acme', '--reason', 'e2e', '--json']);
    expect(suspended.exitCode, suspended.stderr).toBe(0);
    expect(JSON.parse(suspended.stdout)).toMatchObject({ tenant: 'acme', from: 'active', status: 'suspended' });
    const refused = await waitFor('acme to refuse extension routes', async () => {
      const answer = await fetch(url('/t/acme/probe/whoami'));
      return answer.status === 403 ? answer : undefined;
    }, 10_000);
    expect(refused.headers.get('content-type')).toMatch(/problem\+json/);
    expect((await fetch(url('/t/globex/probe/whoami'))).status).toBe(200);
    // The gateway refuses from the registry at once; the runtime's health reports the suspension
    // once it has read its own marker (its pickup time).
    const health = await waitFor('acme\'s runtime to report its suspension', async () => {
      const body = (await (await fetch(url('/t/acme/_sovereign/health'))).json()) as { suspended: boolean; status: string };
      return body.suspended ? body : undefined;
    }, 10_000);
    expect(health).toMatchObject({ suspended: true, status: 'suspended' });

    const again = await cli(['tenant', 'suspend', 'acme']);
    expect(again.exitCode, again.stderr).toBe(4);
    expect(again.stderr).toContain('is suspended');

    const resumed = await cli(['tenant', 'resume', 'acme']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    await waitFor('acme to serve again', async () => ((await fetch(url('/t/acme/probe/whoami'))).status === 200 ? true : undefined), 10_000);
  }, 60_000);
});

describe('telemetry from dev', () => {
  it('top without a TTY prints a plain table, and --json a snapshot, with dev\'s counters', async () => {
    for (let i = 0; i < 12; i += 1) expect((await fetch(url('/t/globex/probe/whoami'))).status).toBe(200);
    const top = await cli(['top']);
    expect(top.exitCode, top.stderr).toBe(0);
    expect(top.stdout).not.toMatch(/\u001b\[/);
    const [header, ...rows] = top.stdout.trim().split('\n');
    expect(header).toMatch(/^TENANT\s+STATE\s+TIER\s+RUNTIME\s+PID\s+REQ\/S\s+REQUESTS\s+ERRORS\s+429\s+P50\s+P99\s+SECRET CACHE$/);
    expect(rows.map((r) => r.split(/\s+/)[0])).toEqual(['acme', 'globex']);
    const globex = rows[1]!.split(/\s+/);
    expect(globex.slice(1, 4)).toEqual(['active', 'premium', 'running']);
    expect(Number(globex[6])).toBeGreaterThanOrEqual(13);

    const json = await cli(['top', '--json']);
    expect(json.exitCode, json.stderr).toBe(0);
    const snapshot = JSON.parse(json.stdout) as { source: string; tenants: Array<{ tenant: string; state: string; runtime: string; requests: number; errors: number; p50: number | null }> };
    expect(snapshot.source).toBe(`sovereign dev on port ${port}`);
    const row = snapshot.tenants.find((t) => t.tenant === 'globex')!;
    expect(row).toMatchObject({ state: 'active', runtime: 'running', errors: 0 });
    expect(row.requests).toBeGreaterThanOrEqual(13);
    expect(row.p50).toBeGreaterThan(0);
  }, 60_000);

  it.runIf(existsSync('/usr/bin/script'))('top on a terminal draws the live ink dashboard and quits on q', async () => {
    // `script` gives the CLI a pseudo-terminal; q arrives after the first frames are drawn.
    const session = execa('/usr/bin/script', ['-qfc', `stty cols 160 rows 40; node ${cliPath} top --interval 0.3`, '/dev/null'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SOVEREIGN_ACTOR: 'test@host', NO_COLOR: '1', TERM: 'xterm' },
      extendEnv: false,
      reject: false,
      timeout: 30_000,
      stdin: 'pipe',
    });
    let screen = '';
    session.stdout!.on('data', (chunk: Buffer) => {
      screen += chunk.toString();
    });
    // `script` relays the terminal's output as it reads keystrokes: spaces (ignored by top) keep it flowing.
    const keys = setInterval(() => session.stdin!.write(' '), 200);
    await waitFor('the dashboard to show globex', () => (/globex\s+active\s+premium\s+running/.test(screen.replace(/\u001b\[[0-9;?]*[a-zA-Z]/g, '')) ? true : undefined), 20_000).catch((error: Error) => {
      clearInterval(keys);
      session.kill('SIGKILL');
      throw new Error(`${error.message}; screen: ${JSON.stringify(screen.slice(-1500))}`);
    });
    clearInterval(keys);
    session.stdin!.write('q');
    const done = await session;
    if (done.timedOut) throw new Error(`no exit on q; screen: ${screen.slice(-2000)}`);
    expect(done.timedOut).toBe(false);
    const text = screen.replace(/\u001b\[[0-9;?]*[a-zA-Z]/g, '');
    expect(text).toContain(`sovereign top  sovereign dev on port ${port}`);
    expect(text).toMatch(/TENANT\s+STATE\s+TIER\s+RUNTIME/);
  }, 60_000);

  it('tenant status reports health, requests, errors and latency from dev', async () => {
    const status = await cli(['tenant', 'status', 'globex', '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    const report = JSON.parse(status.stdout) as { state: string; runtime: { health: { status: string }; requests: number; errors: number; latencyMs: { p50: number; p99: number }; process: { status: string } } };
    expect(report.state).toBe('active');
    expect(report.runtime.process.status).toBe('running');
    expect(report.runtime.health.status).toBe('ok');
    expect(report.runtime.requests).toBeGreaterThanOrEqual(13);
    expect(report.runtime.errors).toBe(0);
    expect(report.runtime.latencyMs.p99).toBeGreaterThanOrEqual(report.runtime.latencyMs.p50);
    const human = await cli(['tenant', 'status', 'globex']);
    expect(human.stdout).toMatch(/^requests\s+\d+/m);
    expect(human.stdout).toMatch(/^latency\s+p50 [\d.]+ms\s+p99 [\d.]+ms/m);
    expect(human.stdout).toMatch(/^last 15 min\s+requests \d+/m);
    const five = await cli(['tenant', 'status', 'globex', '--minutes', '5', '--json']);
    expect(five.exitCode, five.stderr).toBe(0);
    const window5 = (JSON.parse(five.stdout) as { runtime: { window: { minutes: number; requests: number } } }).runtime.window;
    // Everything so far happened in the last 5 minutes (each status call reads health through the gateway too).
    expect(window5.minutes).toBe(5);
    expect(window5.requests).toBeGreaterThanOrEqual(report.runtime.requests);
    for (const bad of ['0', '61', '2.5', 'soon']) {
      const refused = await cli(['tenant', 'status', 'globex', '--minutes', bad]);
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toMatch(/^error: --minutes .* is not a whole number of minutes from 1 to 60/m);
    }
  });

  it('tenant logs shows the JSON lines readably, filtered by extension and request id', async () => {
    const answer = await fetch(url('/t/globex/probe/whoami'));
    const requestId = answer.headers.get('x-request-id') ?? answer.headers.get('apigw-requestid');
    const all = await waitFor('the log line to be written', async () => {
      const result = await cli(['tenant', 'logs', 'globex', '--json', '--extension', 'probe']);
      const doc = JSON.parse(result.stdout) as { lines: Array<{ message: string; extension: string; requestId: string }> };
      return doc.lines.length >= 13 ? doc : undefined;
    }, 10_000);
    expect(all.lines.every((l) => l.extension === 'probe' && l.message === 'whoami served')).toBe(true);
    const one = all.lines.at(-1)!.requestId;
    if (requestId) expect(one).toBe(requestId);
    const filtered = await cli(['tenant', 'logs', 'globex', '--request-id', one]);
    expect(filtered.exitCode, filtered.stderr).toBe(0);
    const lines = filtered.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  probe ${one.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} whoami served  .*caller=top-test`));
    const none = await cli(['tenant', 'logs', 'globex', '--extension', 'other', '--json']);
    expect(JSON.parse(none.stdout)).toEqual({ tenant: 'globex', lines: [] });
    const bad = await cli(['tenant', 'logs', 'globex', '--since', 'yesterday']);
    expect(bad.exitCode).toBe(2);
  });
});

describe('billing webhook served by sovereign dev', () => {
  it('a signed payment failure suspends the tenant (403 through the gateway) and a payment resumes it; the secret never shows', async () => {
    const mapped = await cli(['tenant', 'billing', 'globex', '--customer', 'cus_globex']);
    expect(mapped.exitCode, mapped.stderr).toBe(0);
    let n = 0;
    const deliver = async (type: string, secret = BILLING_SECRET) => {
      n += 1;
      const text = JSON.stringify({ id: `evt_e2e_${n}`, type, created: Math.floor(Date.now() / 1000) + n, data: { object: { id: 'in_1', customer: 'cus_globex' } } });
      const answer = await fetch(url('/_sovereign/billing/webhook'), { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signatureHeader([secret], Math.floor(Date.now() / 1000), text) }, body: text });
      return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
    };
    expect(await deliver('invoice.payment_failed', 'whsec_not_it')).toMatchObject({ status: 400 });
    expect(await deliver('invoice.payment_failed')).toMatchObject({ status: 200, body: { action: 'suspend', tenant: 'globex' } });
    await waitFor('globex to refuse extension routes', async () => ((await fetch(url('/t/globex/probe/whoami'))).status === 403 ? true : undefined), 10_000);
    expect(await deliver('invoice.paid')).toMatchObject({ status: 200, body: { action: 'resume' } });
    await waitFor('globex to serve again', async () => ((await fetch(url('/t/globex/probe/whoami'))).status === 200 ? true : undefined), 10_000);
    const log = await cli(['audit', 'log', '--tenant', 'globex', '--json']);
    expect(log.stdout).toContain('tenant.suspend');
    expect(log.stdout + dev!.stderr()).not.toContain(BILLING_SECRET);
  }, 60_000);
});

describe('offboarding a tenant that dev is running', () => {
  it('dev lets go of the tenant, the data and audit bundle are kept, and the certificate verifies through the CLI', async () => {
    for (let i = 0; i < 3; i += 1) expect((await fetch(url(`/t/acme/probe/note?id=n${i}`), { method: 'POST' })).status).toBe(200);
    const refused = await cli(['tenant', 'offboard', 'acme']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('--yes');

    const out = join(dir, 'retention', 'acme');
    const offboarded = await runCli(['tenant', 'offboard', 'acme', '--yes', '--out', out, '--reason', 'e2e', '--json'], { cwd: dir, env, timeout: 90_000 });
    expect(offboarded.exitCode, offboarded.stderr).toBe(0);
    const result = JSON.parse(offboarded.stdout) as { certificate: { path: string }; dataExport: { path: string; items: number } };
    // The three notes the running tenant wrote, read after dev released the tenant's store.
    const exported = gunzipSync(readFileSync(result.dataExport.path)).toString('utf8').trim().split('\n').map((l) => (JSON.parse(l) as { Item: { sk: { S: string }; text: { S: string } } }).Item);
    expect(exported.filter((item) => item.text?.S === 'kept for retention').map((item) => item.sk.S).sort()).toEqual(['n0', 'n1', 'n2']);
    expect(result.dataExport.items).toBe(exported.length);
    await waitFor('acme to be gone from the gateway', async () => ((await fetch(url('/t/acme/probe/whoami'))).status === 404 ? true : undefined), 10_000);
    expect((await fetch(url('/t/globex/probe/whoami'))).status).toBe(200);

    const verified = await cli(['tenant', 'certificate-verify', result.certificate.path, '--key', join(dir, '.sovereign', 'keys', '_signing.pub'), '--json']);
    expect(verified.exitCode, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, tenant: 'acme', deletedBy: 'test@host' });

    const bytes = readFileSync(result.certificate.path);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0x01;
    writeFileSync(result.certificate.path, bytes);
    const tampered = await cli(['tenant', 'certificate-verify', result.certificate.path]);
    expect(tampered.exitCode).toBe(1);
    expect(tampered.stderr).toMatch(/^error: the deletion certificate does not verify/m);

    const shown = await cli(['tenant', 'show', 'acme']);
    expect(shown.exitCode).toBe(3);
  }, 120_000);
});

