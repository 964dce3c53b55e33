import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type Options, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProject } from '../src/project.js';
import { readVaultKey } from '../src/runtime/secrets/vault.js';
import { openWritableVault } from '../src/targets/local/vault-writer.js';
import { LocalState } from '../src/targets/local/state.js';
import { startFakeAvalara, type FakeAvalara } from './fakes/avalara-server.js';
import { startFakeCetec, type FakeCetec } from './fakes/cetec-server.js';
import { devAuth } from './helpers/auth.js';
import { cliPath, makeProject, repoRoot, runCli, snapshotTree } from './helpers/cli.js';

let project: string;

/** A project with the repository's three extensions and tenant acme. */
beforeAll(async () => {
  project = await makeProject('ext-proj');
  for (const name of ['avalara', 'cetec', 'avalara-cetec-sync']) {
    cpSync(join(repoRoot, 'extensions', name), join(project, 'extensions', name), { recursive: true });
  }
  const created = await runCli(['tenant', 'create', 'acme', '--no-deploy'], { cwd: project });
  expect(created.exitCode, created.stderr).toBe(0);
}, 120_000);

interface Listed {
  name: string;
  version: string;
  status: string;
  routes: Array<{ method: string; path: string }>;
  secrets: Array<{ key: string; required: boolean }>;
  tenants: string[];
  codeSha256: string;
}

async function listed(cwd = project): Promise<Listed[]> {
  const res = await runCli(['ext', 'list', '--json'], { cwd });
  expect(res.exitCode, res.stderr).toBe(0);
  return (JSON.parse(res.stdout) as { extensions: Listed[] }).extensions;
}

async function auditActions(cwd = project): Promise<string[]> {
  const log = await runCli(['audit', 'log', '--tenant', 'acme', '--json'], { cwd });
  return (JSON.parse(log.stdout) as { events: Array<{ action: string; outcome: string }> }).events.map((e) => `${e.action}:${e.outcome}`);
}

describe('sovereign ext', () => {
  it('lists the extensions with version, routes and secrets', async () => {
    const exts = await listed();
    expect(exts.map((e) => [e.name, e.version, e.status])).toEqual([
      ['avalara', '1.0.0', 'ok'],
      ['avalara-cetec-sync', '1.0.0', 'ok'],
      ['cetec', '1.0.0', 'ok'],
    ]);
    expect(exts[0]!.routes).toEqual([
      { method: 'GET', path: '/avalara/ping', summary: expect.any(String) },
      { method: 'POST', path: '/avalara/quotes', summary: expect.any(String) },
    ]);
    expect(exts[1]!.secrets.map((s) => s.key)).toEqual(['cetec_api_token', 'avalara_account_id', 'avalara_license_key']);
    expect(exts[0]!.codeSha256).toMatch(/^[0-9a-f]{64}$/);
    const human = await runCli(['ext', 'list'], { cwd: project });
    expect(human.stdout).toMatch(/^NAME\s+VERSION\s+STATUS\s+ROUTES\s+SECRETS\s+TENANTS/);
    expect(human.stdout).toMatch(/cetec\s+1\.0\.0\s+ok\s+GET \/cetec\/customers,/);
  });

  it('enables an extension for a tenant, printing exactly the secrets set commands still missing', async () => {
    const res = await runCli(['ext', 'enable', 'avalara', '--tenant', 'acme'], { cwd: project });
    expect(res.exitCode, res.stderr).toBe(0);
    const commands = res.stdout.split('\n').filter((line) => line.trim().startsWith('sovereign secrets set'));
    expect(commands.map((c) => c.trim())).toEqual([
      'sovereign secrets set acme avalara.account_id ssm:/dev/tenants/acme/avalara/account_id',
      'sovereign secrets set acme avalara.license_key ssm:/dev/tenants/acme/avalara/license_key',
    ]);
    const record = JSON.parse(readFileSync(join(project, '.sovereign', 'tenants', 'acme.json'), 'utf8')) as { extensions: string[] };
    expect(record.extensions).toEqual(['avalara']);
    expect((await listed()).find((e) => e.name === 'avalara')!.tenants).toEqual(['acme']);
    expect(await auditActions()).toContain('extension.enable:success');
  });

  it('is idempotent: enabling again writes nothing', async () => {
    await runCli(['ext', 'enable', 'cetec', '--tenant', 'acme'], { cwd: project });
    const before = snapshotTree(join(project, '.sovereign'));
    const again = await runCli(['ext', 'enable', 'cetec', '--tenant', 'acme', '--json'], { cwd: project });
    expect(again.exitCode).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ tenant: 'acme', extension: 'cetec', enabled: true, changed: false });
    expect(snapshotTree(join(project, '.sovereign'))).toEqual(before);
  });

  it('disables an extension, recorded in the tenant and the audit log', async () => {
    const res = await runCli(['ext', 'disable', 'cetec', '--tenant', 'acme', '--json'], { cwd: project });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ enabled: false, changed: true, extensions: ['avalara'] });
    expect(await auditActions()).toContain('extension.disable:success');
  });

  it('refuses unknown extensions (3), bad names (2), unknown tenants (3) and a missing --tenant (2)', async () => {
    expect((await runCli(['ext', 'enable', 'nope', '--tenant', 'acme'], { cwd: project })).exitCode).toBe(3);
    expect((await runCli(['ext', 'enable', 'Bad_Name', '--tenant', 'acme'], { cwd: project })).exitCode).toBe(2);
    const ghost = await runCli(['ext', 'enable', 'cetec', '--tenant', 'ghost'], { cwd: project });
    expect(ghost.exitCode).toBe(3);
    expect(ghost.stderr).toMatch(/^error: tenant "ghost" not found/);
    expect((await runCli(['ext', 'enable', 'cetec'], { cwd: project })).exitCode).toBe(2);
  });

  it('scaffolds a new extension that validates, and refuses an existing (4) or invalid (2) name', async () => {
    const dir = await makeProject('scaffold-proj');
    const created = await runCli(['ext', 'new', 'shipping-rates'], { cwd: dir });
    expect(created.exitCode, created.stderr).toBe(0);
    expect(created.stdout).toContain('sovereign ext validate shipping-rates');
    const validate = await runCli(['ext', 'validate', 'shipping-rates', '--json'], { cwd: dir });
    expect(validate.exitCode, validate.stderr).toBe(0);
    expect(JSON.parse(validate.stdout)).toEqual({
      ok: true,
      extensions: [{ name: 'shipping-rates', version: '0.1.0', ok: true, problems: [], warnings: [], publicRoutes: [], schedules: [] }],
    });
    const before = snapshotTree(dir);
    expect((await runCli(['ext', 'new', 'shipping-rates'], { cwd: dir })).exitCode).toBe(4);
    const invalid = await runCli(['ext', 'new', '9lives'], { cwd: dir });
    expect(invalid.exitCode).toBe(2);
    expect(invalid.stderr).toMatch(/must start with a letter/);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('validate fails with exit 2 naming each problem, while list still shows the healthy extensions', async () => {
    const dir = await makeProject('broken-proj');
    cpSync(join(repoRoot, 'extensions', 'cetec'), join(dir, 'extensions', 'cetec'), { recursive: true });
    await runCli(['ext', 'new', 'leaky'], { cwd: dir });
    const manifest = join(dir, 'extensions', 'leaky', 'extension.ts');
    writeFileSync(
      manifest,
      readFileSync(manifest, 'utf8').replace(
        'permissions: [],',
        "permissions: [{ actions: ['dynamodb:GetItem'], resources: ['arn:aws:dynamodb:*:*:table/*'] }],",
      ),
    );
    const handler = join(dir, 'extensions', 'leaky', 'handlers', 'greet.ts');
    writeFileSync(handler, readFileSync(handler, 'utf8').replace('const count =', "await ctx.secrets.get('api_key');\n  const count ="));
    cpSync(join(dir, 'extensions', 'leaky'), join(dir, 'extensions', 'broken'), { recursive: true });
    writeFileSync(join(dir, 'extensions', 'broken', 'extension.ts'), 'export default {{;\n');

    const validate = await runCli(['ext', 'validate'], { cwd: dir });
    expect(validate.exitCode).toBe(2);
    expect(validate.stdout).toContain('✔ cetec 1.0.0');
    expect(validate.stdout).toMatch(/✖ broken\n\s+does not load: /);
    expect(validate.stdout).toContain('resource "arn:aws:dynamodb:*:*:table/*"');
    expect(validate.stdout).toContain('handlers/greet.ts reads secret "api_key", which the manifest does not declare');
    expect(validate.stderr).toMatch(/^error: 2 extensions failed validation: broken, leaky/);

    const list = await listed(dir);
    expect(list.map((e) => [e.name, e.status])).toEqual([
      ['broken', 'failed'],
      ['cetec', 'ok'],
      ['leaky', 'invalid'],
    ]);
    const asJson = await runCli(['ext', 'validate', '--json'], { cwd: dir });
    expect(asJson.exitCode).toBe(2);
    const doc = JSON.parse(asJson.stdout) as { error: { message: string; exitCode: number } };
    expect(doc.error.message).toMatch(/^2 extensions failed validation: broken: does not load: .* \| leaky: permissions\[0\]/);
    expect((await runCli(['ext', 'validate', 'missing'], { cwd: dir })).exitCode).toBe(3);
  });
});

describe('the case study on sovereign dev: avalara, cetec and the sync as one tenant', () => {
  const AVALARA_KEY = 'CANARY-e2e-avalara-key-61d2';
  const CETEC_TOKEN = 'CANARY-e2e-cetec-token-8a04';
  let dir: string;
  let dev: ResultPromise<Options> | undefined;
  let devErr = '';
  const pids = new Set<number>();
  let cetec: FakeCetec;
  let avalara: FakeAvalara;

  afterAll(async () => {
    if (dev && dev.exitCode === null) {
      dev.kill('SIGKILL');
      await dev;
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await cetec?.close();
    await avalara?.close();
  });

  it('enables the three extensions, reports secrets until they are set, and serves them end to end', async () => {
    cetec = await startFakeCetec({ token: CETEC_TOKEN, invoices: 2_500, customers: 30 });
    avalara = await startFakeAvalara({ accountId: '2000100200', licenseKey: AVALARA_KEY });
    dir = await makeProject('case-study');
    for (const name of ['avalara', 'cetec', 'avalara-cetec-sync']) {
      cpSync(join(repoRoot, 'extensions', name), join(dir, 'extensions', name), { recursive: true });
    }
    const configFile = join(dir, 'sovereign.config.json');
    const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(
      configFile,
      JSON.stringify({
        ...config,
        tenantConfig: {
          avalara: { baseUrl: avalara.url },
          cetec: { baseUrl: cetec.url },
          'avalara-cetec-sync': { cetecBaseUrl: cetec.url, avalaraBaseUrl: avalara.url, timeBudgetMs: 0 },
        },
      }),
    );
    expect((await runCli(['tenant', 'create', 'acme', '--no-deploy'], { cwd: dir })).exitCode).toBe(0);
    const first = await runCli(['ext', 'enable', 'avalara', '--tenant', 'acme', '--json'], { cwd: dir });
    expect((JSON.parse(first.stdout) as { missingSecrets: Array<{ key: string }> }).missingSecrets.map((m) => m.key)).toEqual(['account_id', 'license_key']);

    // Secret values go into the tenant's vault and references into its record, as `secrets set` does.
    const values: Record<string, string> = {
      'avalara.account_id': '2000100200',
      'avalara.license_key': AVALARA_KEY,
      'cetec.api_token': CETEC_TOKEN,
      'avalara-cetec-sync.cetec_api_token': CETEC_TOKEN,
      'avalara-cetec-sync.avalara_account_id': '2000100200',
      'avalara-cetec-sync.avalara_license_key': AVALARA_KEY,
    };
    const project = await loadProject(dir);
    const vault = openWritableVault(join(project.paths.vault, 'acme.vault'), readVaultKey(join(project.paths.keys, 'acme.key')), 'acme');
    const state = new LocalState(project);
    await state.mutate({ command: 'test setup', action: 'tenant.secrets', tenant: 'acme' }, async (tx) => {
      const record = (await state.getTenant('acme'))!;
      const secrets = { ...record.secrets };
      for (const [key, value] of Object.entries(values)) {
        const [extension, name] = key.split('.') as [string, string];
        const reference = `ssm:/dev/tenants/acme/${extension}/${name}`;
        vault.putVersion(reference, value, { by: 'test@host' });
        secrets[key] = { reference, setAt: new Date().toISOString(), setBy: 'test@host' };
      }
      tx.putTenant({ ...record, secrets });
    });
    for (const name of ['cetec', 'avalara-cetec-sync']) {
      const enabled = await runCli(['ext', 'enable', name, '--tenant', 'acme'], { cwd: dir });
      expect(enabled.exitCode, enabled.stderr).toBe(0);
      expect(enabled.stdout).not.toContain('secrets set');
    }

    dev = execa('node', [cliPath, 'dev', '--port', '0', '--json'], {
      cwd: dir,
      reject: false,
      stdin: 'ignore',
      env: { NO_COLOR: '1', SOVEREIGN_ACTOR: 'test@host', CI: '1' },
    } as Options);
    dev.stderr!.on('data', (chunk: Buffer) => {
      devErr += chunk.toString();
    });
    let devOut = '';
    dev.stdout!.on('data', (chunk: Buffer) => {
      devOut += chunk.toString();
    });
    const ready = await waitFor(() => {
      if (dev!.exitCode !== null && dev!.exitCode !== undefined) throw new Error(`dev exited: ${devErr}`);
      try {
        return JSON.parse(devOut) as { port: number; pid: number };
      } catch {
        return undefined;
      }
    });
    pids.add(ready.pid);
    const devState = JSON.parse(readFileSync(join(dir, '.sovereign', 'dev.json'), 'utf8')) as { tenants: Record<string, { pid: number | null }> };
    for (const t of Object.values(devState.tenants)) if (t.pid) pids.add(t.pid);
    // The example extensions' routes need a caller of acme, as on aws.
    const caller = await devAuth(dir, 'acme');
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${ready.port}/t/acme${path}`, {
        method,
        headers: body === undefined ? caller : { ...caller, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, text, body: JSON.parse(text) as Record<string, any> };
    };

    const ping = await call('GET', '/avalara/ping');
    expect(ping.body).toMatchObject({ authenticated: true });
    const quote = await call('POST', '/avalara/quotes', {
      customerCode: 'C1',
      date: '2025-05-01',
      shipTo: { region: 'WA', country: 'US' },
      lines: [{ amount: 200 }],
    });
    expect(quote.status).toBe(200);
    expect(quote.body).toMatchObject({ totalTax: 13 });
    const customers = await call('GET', '/cetec/customers?limit=5');
    expect(customers.body.items).toHaveLength(5);
    const sync = await call('POST', '/avalara-cetec-sync/sync/invoices', {});
    expect(sync.status, sync.text).toBe(200);
    expect(sync.body).toMatchObject({ status: 'complete', processed: 2_500, taxed: 2_500 });
    const status = await call('GET', '/avalara-cetec-sync/sync/status');
    expect(status.body).toMatchObject({ status: 'complete', offset: 2_500 });
    for (const text of [ping.text, quote.text, customers.text, sync.text, status.text, devErr]) {
      expect(text).not.toContain(AVALARA_KEY);
      expect(text).not.toContain(CETEC_TOKEN);
    }
  }, 180_000);
});

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting for sovereign dev');
    await new Promise((r) => setTimeout(r, 50));
  }
}
