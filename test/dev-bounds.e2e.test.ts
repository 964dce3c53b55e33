/**
 * The dev gateway's boundaries, attacked through the real `sovereign dev`:
 * - a hostile extension rewrites its own suspension marker (in its writable data folder) and its
 *   runtime believes it; the gateway still refuses its routes from the registry;
 * - 400 MB unsigned bodies to a tenant route and to both webhook routes are refused with 413 while
 *   they stream, the gateway's RSS barely moves, and another tenant is served meanwhile;
 * - a signed rotation notice (signed by the `standardwebhooks` library) accepted once is refused
 *   when replayed to the tenant's restarted process;
 * - billing events signed by the `stripe` library are accepted; `secrets notify` is acknowledged.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, runCli } from './helpers/cli.js';
import { killDev, startDevCli, type RunningDev } from './helpers/dev.js';
import { loadProject } from '../src/project.js';
import { readVaultKey } from '../src/runtime/secrets/vault.js';
import { openWritableVault } from '../src/targets/local/vault-writer.js';
import { waitFor, write } from './helpers/wait.js';

// Public routes: who may call is test/dev-auth.e2e.test.ts's subject, not this file's.
const PROBE_MANIFEST = `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({
  name: 'probe',
  version: '1.0.0',
  description: 'who serves, and an echo',
  routes: [
    { method: 'GET', path: '/whoami', handler: 'whoami', auth: 'public' },
    { method: 'POST', path: '/echo', handler: 'echo', auth: 'public' },
  ],
});
`;
const WHOAMI = `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (_request, ctx) => ({ tenant: ctx.tenant.id, pid: process.pid }));
`;
const ECHO = `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (request) => ({ bytes: String(request.body ?? '').length }));
`;
/** The attack: once armed, it puts its tenant's marker back to "not suspended" whenever it says otherwise. */
const UNSUSPEND_MANIFEST = `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({ name: 'unsuspend', version: '1.0.0', description: 'rewrites its own suspension marker', routes: [{ method: 'POST', path: '/arm', handler: 'arm', auth: 'public' }] });
`;
const ARM = `import { readFileSync, writeFileSync } from 'node:fs';
import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async () => {
  const source = process.env.SOVEREIGN_GENERATION_SOURCE ?? '';
  const path = source.startsWith('file:') ? source.slice(5) : '';
  if (!globalThis.__armed) {
    globalThis.__armed = true;
    setInterval(() => {
      try {
        const marker = JSON.parse(readFileSync(path, 'utf8'));
        if (marker.suspended) writeFileSync(path, JSON.stringify({ ...marker, suspended: false }));
      } catch {}
    }, 20);
  }
  return { armed: path };
});
`;

const BILLING_SECRET = 'whsec_billing_bounds_test_5d1e';
const MB = 1024 * 1024;

let dir: string;
let dev: RunningDev | undefined;
let devPid = 0;
let port = 0;
const pids = new Set<number>();
const env = { NO_COLOR: '1', SOVEREIGN_ACTOR: 'test@host', SOVEREIGN_LOCK_WAIT_MS: '5000', CI: '1', SOVEREIGN_BILLING_WEBHOOK_SECRET: BILLING_SECRET };

interface DevJson {
  tenants: Record<string, { pid: number | null; port: number | null; status: string }>;
}
const devState = (): DevJson => JSON.parse(readFileSync(join(dir, '.sovereign', 'dev.json'), 'utf8')) as DevJson;
const url = (path: string) => `http://127.0.0.1:${port}${path}`;

/** The resident set of a process, in bytes. */
function rss(pid: number): number {
  const line = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!line) throw new Error(`no VmRSS for ${pid}`);
  return Number(line[1]) * 1024;
}

interface StreamOutcome {
  status: number;
  body: string;
  contentType: string;
  /** Bytes written before the answer came. */
  sent: number;
}

/**
 * POSTs up to `total` bytes of zeros, chunked (or with a declared `content-length`), writing as fast
 * as the gateway reads, and stops at the answer.
 */
function streamBody(path: string, total: number, options: { declared?: boolean; headers?: Record<string, string>; port?: number } = {}): Promise<StreamOutcome> {
  const chunk = Buffer.alloc(64 * 1024);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
    if (options.declared) headers['content-length'] = String(total);
    const req = httpRequest({ host: '127.0.0.1', port: options.port ?? port, path, method: 'POST', headers, agent: false }, (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString(), contentType: String(res.headers['content-type'] ?? ''), sent });
        req.destroy();
      });
    });
    req.on('error', (error) => {
      if (!answered) reject(new Error(`${path}: ${error.message} after ${sent} bytes`));
    });
    const pump = () => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    pump();
  });
}

/**
 * Serves another tenant and samples the gateway's RSS: for half a second without `attack` (the
 * baseline is the peak of that window, so what the other tenant's traffic costs is not counted),
 * then while `attack` runs and a moment after.
 */
async function underAttack<T>(attack: () => Promise<T>): Promise<{ result: T; growth: number; served: number[] }> {
  let peak = rss(devPid);
  let done = false;
  const served: number[] = [];
  const sampler = (async () => {
    while (!done) {
      peak = Math.max(peak, rss(devPid));
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const other = (async () => {
    while (!done) {
      served.push((await fetch(url('/t/globex/probe/whoami'))).status);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  try {
    await new Promise((r) => setTimeout(r, 500));
    const quiet = peak;
    const result = await attack();
    // What the gateway still reads after its answer counts too.
    await new Promise((r) => setTimeout(r, 300));
    return { result, growth: peak - quiet, served };
  } finally {
    done = true;
    await Promise.all([sampler, other]);
  }
}

function webhookSecret(tenant: string): Promise<string> {
  return loadProject(dir).then((project) => {
    const vault = openWritableVault(join(project.paths.vault, `${tenant}.vault`), readVaultKey(join(project.paths.keys, `${tenant}.key`)), tenant);
    return vault.readSecret(`ssm:/dev/tenants/${tenant}/_sovereign/webhook_secret`);
  });
}

beforeAll(async () => {
  dir = await makeProject();
  const configFile = join(dir, 'sovereign.config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(configFile, JSON.stringify({ ...config, defaults: { tier: 'premium', extensions: ['probe'] }, billing: { suspendAfterFailures: 3 } }, null, 2));
  write(join(dir, 'extensions', 'probe', 'extension.ts'), PROBE_MANIFEST);
  write(join(dir, 'extensions', 'probe', 'handlers', 'whoami.ts'), WHOAMI);
  write(join(dir, 'extensions', 'probe', 'handlers', 'echo.ts'), ECHO);
  write(join(dir, 'extensions', 'unsuspend', 'extension.ts'), UNSUSPEND_MANIFEST);
  write(join(dir, 'extensions', 'unsuspend', 'handlers', 'arm.ts'), ARM);
  for (const id of ['acme', 'globex']) {
    const created = await runCli(['tenant', 'create', id], { cwd: dir, env });
    expect(created.exitCode, created.stderr).toBe(0);
  }
  const enabled = await runCli(['ext', 'enable', 'unsuspend', '--tenant', 'acme'], { cwd: dir, env });
  expect(enabled.exitCode, enabled.stderr).toBe(0);

  dev = await startDevCli(dir, env, ['--no-throttle']);
  port = dev.port;
  devPid = dev.pid;
  pids.add(devPid);
  for (const t of Object.values(devState().tenants)) if (t.pid) pids.add(t.pid);
  for (const id of ['acme', 'globex']) {
    await waitFor(`${id} to serve`, async () => ((await fetch(url(`/t/${id}/probe/whoami`))).status === 200 ? true : undefined), 60_000);
  }
}, 180_000);

afterAll(async () => {
  await killDev(dev, pids);
});

describe('the dev gateway\'s bounds', { timeout: 120_000 }, () => {
  it('refuses a suspended tenant from the registry although its extension rewrote its own marker', async () => {
    const armed = await fetch(url('/t/acme/unsuspend/arm'), { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(armed.status, await armed.clone().text()).toBe(200);
    const markerFile = ((await armed.json()) as { armed: string }).armed;
    expect(markerFile).toBe(join(dir, '.sovereign', 'data', 'acme', 'generation.json'));

    const suspended = await runCli(['tenant', 'suspend', 'acme', '--reason', 'bounds test'], { cwd: dir, env });
    expect(suspended.exitCode, suspended.stderr).toBe(0);
    // The attack took: the marker says "not suspended" again and the runtime believes it.
    await waitFor('the extension to rewrite its marker', () => ((JSON.parse(readFileSync(markerFile, 'utf8')) as { suspended: boolean }).suspended === false ? true : undefined), 10_000);
    await waitFor('the runtime to read the rewritten marker', async () => {
      const health = (await (await fetch(url('/t/acme/_sovereign/health'))).json()) as { suspended: boolean; generation: number };
      return health.suspended === false && health.generation > 0 ? true : undefined;
    }, 10_000);

    for (const [method, path] of [['GET', '/t/acme/probe/whoami'], ['POST', '/t/acme/unsuspend/arm']] as const) {
      const refused = await fetch(url(path), { method, ...(method === 'POST' ? { body: '{}' } : {}) });
      expect(refused.status).toBe(403);
      expect(refused.headers.get('content-type')).toBe('application/problem+json');
      expect(await refused.json()).toMatchObject({ type: 'https://sovereign.dev/problems/tenant-suspended', status: 403, detail: 'tenant "acme" is suspended' });
    }
    expect((await fetch(url('/t/globex/probe/whoami'))).status).toBe(200);

    const resumed = await runCli(['tenant', 'resume', 'acme'], { cwd: dir, env });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    await waitFor('acme to serve again', async () => ((await fetch(url('/t/acme/probe/whoami'))).status === 200 ? true : undefined), 5000);
  });

  it('refuses 400 MB unsigned bodies with 413 while they stream, without the gateway growing, while another tenant is served', async () => {
    const total = 400 * MB;
    // The dev process also serves the other tenant meanwhile (its data plane, its log lines), so
    // its resident memory moves by several MB with that work alone; a body held would be 400 MB.
    const growthLimit = 16 * MB;
    // Once unmeasured, so code the gateway loads or compiles on its first refusal is not counted.
    expect((await streamBody('/t/acme/probe/echo', 8 * MB)).status).toBe(413);
    // Declared up front: refused before a byte of the body is read.
    const declared = await underAttack(() => streamBody('/t/acme/probe/echo', total, { declared: true }));
    expect(declared.result.status).toBe(413);
    expect(JSON.parse(declared.result.body)).toEqual({ message: 'Request Entity Too Large' });
    // Chunked: the gateway holds at most the 6 MB limit, then stops.
    const chunked = await underAttack(() => streamBody('/t/acme/probe/echo', total));
    expect(chunked.result.status).toBe(413);
    expect(chunked.result.sent).toBeLessThan(64 * MB);
    // The webhooks take far less, and say so before their handlers run.
    const rotation = await underAttack(() => streamBody('/t/acme/_sovereign/webhooks/rotation', total));
    expect(rotation.result.status).toBe(413);
    expect(JSON.parse(rotation.result.body)).toMatchObject({ type: 'https://sovereign.dev/problems/webhook-too-large' });
    const billing = await underAttack(() => streamBody('/_sovereign/billing/webhook', total));
    expect(billing.result.status).toBe(413);

    for (const [name, run] of Object.entries({ declared, chunked, rotation, billing })) {
      expect(run.result.sent, name).toBeLessThan(64 * MB);
      expect(run.growth, `${name}: the gateway grew by ${(run.growth / MB).toFixed(1)} MB`).toBeLessThan(name === 'chunked' ? 6 * MB + growthLimit : growthLimit);
      expect(run.served.length, name).toBeGreaterThan(0);
      expect(run.served.every((status) => status === 200), `${name}: ${run.served.join(',')}`).toBe(true);
    }
    // A body within the limit still goes through.
    const small = await fetch(url('/t/acme/probe/echo'), { method: 'POST', body: JSON.stringify({ pad: 'x'.repeat(1000) }), headers: { 'content-type': 'application/json' } });
    expect(small.status).toBe(200);
  });

  it('refuses a signed rotation notice replayed to the tenant\'s restarted process', async () => {
    const secret = await webhookSecret('acme');
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const body = JSON.stringify({ tenant: 'acme', references: ['ssm:/dev/tenants/acme/probe/token'] });
    const id = `msg_replay_${Date.now()}`;
    const signed = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(Date.now() / 1000)) };
    const headers = { ...signed, 'webhook-signature': new Webhook(secret).sign(id, new Date(Number(signed['webhook-timestamp']) * 1000), body) };
    const first = await fetch(url('/t/acme/_sovereign/webhooks/rotation'), { method: 'POST', body, headers });
    expect(first.status, await first.clone().text()).toBe(200);

    const before = devState().tenants.acme!.pid!;
    process.kill(before, 'SIGKILL');
    const after = await waitFor('acme to come back in a new process', async () => {
      const answer = await fetch(url('/t/acme/probe/whoami'));
      if (answer.status !== 200) return undefined;
      const { pid } = (await answer.json()) as { pid: number };
      return pid !== before ? pid : undefined;
    }, 60_000);
    pids.add(after);

    const replayed = await fetch(url('/t/acme/_sovereign/webhooks/rotation'), { method: 'POST', body, headers });
    expect(replayed.status).toBe(409);
    expect(await replayed.json()).toMatchObject({ type: 'https://sovereign.dev/problems/webhook-replayed' });
    // A fresh notice is still taken by the new process.
    const freshId = `${id}_fresh`;
    const fresh = await fetch(url('/t/acme/_sovereign/webhooks/rotation'), {
      method: 'POST', body, headers: { ...signed, 'webhook-id': freshId, 'webhook-signature': new Webhook(secret).sign(freshId, new Date(Number(signed['webhook-timestamp']) * 1000), body) },
    });
    expect(fresh.status, await fresh.clone().text()).toBe(200);
  });

  it('sends a signed notice with `secrets notify`, and refuses a malformed reference', async () => {
    const notified = await runCli(['secrets', 'notify', 'globex', '--reference', 'ssm:/dev/tenants/globex/probe/token', '--json'], { cwd: dir, env });
    expect(notified.exitCode, notified.stderr).toBe(0);
    const result = JSON.parse(notified.stdout) as { webhook: { acknowledged: boolean }; references: string[] };
    expect(result.webhook.acknowledged).toBe(true);
    expect(result.references).toEqual(['ssm:/dev/tenants/globex/probe/token']);
    const secret = await webhookSecret('globex');
    expect(notified.stdout + notified.stderr).not.toContain(secret);
    expect(notified.stdout + notified.stderr).not.toContain(secret.slice(6));

    const bad = await runCli(['secrets', 'notify', 'globex', '--reference', 'arn:aws:ssm:us-east-1:1:parameter/x'], { cwd: dir, env });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/^error: invalid secret reference/m);
    expect(bad.stderr).toMatch(/^hint: /m);
  });

  it('takes billing events signed by the stripe library, and refuses a tampered one', async () => {
    const stripe = new Stripe('sk_test_bounds');
    const payload = JSON.stringify({ id: `evt_bounds_${Date.now()}`, object: 'event', type: 'invoice.paid', created: Math.floor(Date.now() / 1000), data: { object: { id: 'in_1', customer: 'cus_nobody' } } });
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: BILLING_SECRET });
    const accepted = await fetch(url('/_sovereign/billing/webhook'), { method: 'POST', body: payload, headers: { 'content-type': 'application/json', 'stripe-signature': header } });
    expect(accepted.status, await accepted.clone().text()).toBe(200);
    const tampered = await fetch(url('/_sovereign/billing/webhook'), { method: 'POST', body: payload.replace('cus_nobody', 'cus_someone'), headers: { 'content-type': 'application/json', 'stripe-signature': header } });
    expect(tampered.status).toBe(400);
  });
});
