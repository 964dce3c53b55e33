/**
 * `sovereign tenant deploy` and `sovereign template render` on the local target, through the real
 * CLI: artifacts built per tenant with only its extensions, deploy history and audit events,
 * waves that stop after a failed wave, shards that split a fleet, and stable artifact hashes.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeProject, repoRoot, runCli } from './helpers/cli.js';

let project: string;

function setDefaultExtensions(extensions: string[]) {
  const file = join(project, 'sovereign.config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as { defaults: { extensions: string[] } };
  config.defaults.extensions = extensions;
  writeFileSync(file, JSON.stringify(config, null, 2));
}

async function create(id: string, extensions: string[]) {
  setDefaultExtensions(extensions);
  const result = await runCli(['tenant', 'create', id, '--no-deploy'], { cwd: project });
  expect(result.exitCode, result.stderr).toBe(0);
}

/** The first JSON document on stdout (the report). */
function report(stdout: string) {
  const end = stdout.indexOf('\n}\n');
  return JSON.parse(end < 0 ? stdout : stdout.slice(0, end + 2)) as {
    ok: number;
    failed: number;
    skipped: number;
    total: number;
    target: string;
    shard: { index: number; count: number } | null;
    tenants: Array<{ tenant: string; wave: number; outcome: string; artifact: string | null; error: string | null; reason: string | null }>;
  };
}

async function tenantRecord(id: string) {
  const shown = await runCli(['tenant', 'show', id, '--json'], { cwd: project });
  expect(shown.exitCode, shown.stderr).toBe(0);
  return (JSON.parse(shown.stdout) as { tenant: { deploys: Array<{ artifact: string; outcome: string; extensions: string[]; target: string; by: string; error?: string }> } }).tenant;
}

beforeAll(async () => {
  project = await makeProject('shop');
  for (const name of ['avalara', 'cetec']) cpSync(join(repoRoot, 'extensions', name), join(project, 'extensions', name), { recursive: true });
  // An extension whose route names a handler file that does not exist: its tenants cannot build.
  mkdirSync(join(project, 'extensions', 'broken', 'handlers'), { recursive: true });
  writeFileSync(
    join(project, 'extensions', 'broken', 'extension.ts'),
    "import { defineExtension } from 'sovereign-cli/runtime';\nexport default defineExtension({ name: 'broken', version: '0.1.0', description: 'x', routes: [{ method: 'GET', path: '/x', handler: 'missing' }] });\n",
  );
  await create('acme', ['avalara']);
  await create('acme-eu', ['avalara']);
  await create('globex', ['avalara', 'cetec']);
}, 120_000);

describe('tenant deploy (local)', { timeout: 120_000 }, () => {
  it('builds each tenant with only its extensions and records the deploy', async () => {
    const result = await runCli(['tenant', 'deploy', '--all', '--concurrency', '2', '--json'], { cwd: project });
    expect(result.exitCode, result.stderr).toBe(0);
    const r = report(result.stdout);
    expect(r).toMatchObject({ ok: 3, failed: 0, skipped: 0, total: 3, target: 'local', shard: null });
    const sha = Object.fromEntries(r.tenants.map((t) => [t.tenant, t.artifact!]));
    expect(sha.acme).toMatch(/^[0-9a-f]{64}$/);
    expect(sha['acme-eu']).toBe(sha.acme);
    expect(sha.globex).not.toBe(sha.acme);
    for (const hash of [sha.acme, sha.globex]) {
      expect(existsSync(join(project, '.sovereign', 'artifacts', `${hash}.zip`))).toBe(true);
      expect(existsSync(join(project, '.sovereign', 'artifacts', hash!, 'index.mjs'))).toBe(true);
    }
    const acmeBundle = readFileSync(join(project, '.sovereign', 'artifacts', sha.acme!, 'manifest.json'), 'utf8');
    expect((JSON.parse(acmeBundle) as { extensions: Array<{ name: string }> }).extensions.map((e) => e.name)).toEqual(['avalara']);

    // Event lines on stderr, since there is no TTY.
    expect(result.stderr).toMatch(/deploy id=globex status=ok/);

    const globex = await tenantRecord('globex');
    expect(globex.deploys.at(-1)).toMatchObject({ artifact: sha.globex, outcome: 'success', target: 'local', extensions: ['avalara', 'cetec'], by: 'test@host' });
    const events = readFileSync(join(project, '.sovereign', 'audit', 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { action: string; tenant: string; args: { artifact?: string } });
    const deploys = events.filter((e) => e.action === 'tenant.deploy');
    expect(deploys.map((e) => e.tenant).sort()).toEqual(['acme', 'acme-eu', 'globex']);
    expect(deploys.find((e) => e.tenant === 'globex')?.args.artifact).toBe(sha.globex);
  });

  it('gives the same artifact hash again, in any time zone', async () => {
    // Side by side, so both read the same sources even while the tree is being edited.
    const results = await Promise.all(['UTC', 'Asia/Kolkata'].map((TZ) => runCli(['tenant', 'deploy', 'globex', '--json'], { cwd: project, env: { TZ } })));
    const hashes = results.map((result) => {
      expect(result.exitCode, result.stderr).toBe(0);
      return report(result.stdout).tenants[0]!.artifact!;
    });
    expect(hashes[1]).toBe(hashes[0]);
    expect((await tenantRecord('globex')).deploys.at(-1)!.artifact).toBe(hashes[0]);
  });

  it('splits the fleet into disjoint shards that cover it', async () => {
    const seen: string[] = [];
    for (const shard of ['1/2', '2/2']) {
      const result = await runCli(['tenant', 'deploy', '--all', '--shard', shard, '--json'], { cwd: project });
      expect(result.exitCode, result.stderr).toBe(0);
      const r = report(result.stdout);
      expect(r.shard).toEqual({ index: Number(shard[0]), count: 2 });
      seen.push(...r.tenants.map((t) => t.tenant));
    }
    expect(seen.sort()).toEqual(['acme', 'acme-eu', 'globex']);
  });

  it('records a failed build and does not start the waves after it', async () => {
    await create('initech', ['broken']);
    const result = await runCli(['tenant', 'deploy', '--wave', 'initech', '--wave', 'rest', '--json'], { cwd: project });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/error: 1 tenant\(s\) failed and 3 were skipped of 4/);
    const r = report(result.stdout);
    expect(r).toMatchObject({ ok: 0, failed: 1, skipped: 3 });
    expect(r.tenants.find((t) => t.tenant === 'initech')).toMatchObject({ outcome: 'failed', wave: 1 });
    expect(r.tenants.find((t) => t.tenant === 'initech')!.error).toMatch(/handler "missing" has no file/);
    expect(r.tenants.filter((t) => t.wave === 2).every((t) => t.outcome === 'skipped' && t.reason === 'earlier-wave-failed')).toBe(true);
    const initech = await tenantRecord('initech');
    expect(initech.deploys.at(-1)).toMatchObject({ outcome: 'failure', artifact: '' });
    expect(initech.deploys.at(-1)!.error).toMatch(/handler "missing"/);
  });

  it('refuses bad selections with exit 2 and unknown tenants with exit 3', async () => {
    expect((await runCli(['tenant', 'deploy'], { cwd: project })).exitCode).toBe(2);
    expect((await runCli(['tenant', 'deploy', '--all', '--shard', '3/2'], { cwd: project })).exitCode).toBe(2);
    expect((await runCli(['tenant', 'deploy', '--all', '--concurrency', '0'], { cwd: project })).exitCode).toBe(2);
    expect((await runCli(['tenant', 'deploy', 'nobody'], { cwd: project })).exitCode).toBe(3);
  });
});

describe('template render', { timeout: 120_000 }, () => {
  it('prints the tenant template with its artifact and its extensions\' permissions only', async () => {
    const result = await runCli(['template', 'render', 'acme'], { cwd: project });
    expect(result.exitCode, result.stderr).toBe(0);
    const template = JSON.parse(result.stdout) as { Resources: Record<string, { Properties: Record<string, any> }> };
    const deployed = (await tenantRecord('acme')).deploys.at(-1)!.artifact;
    expect(template.Resources.Function!.Properties.Code.S3Key).toBe(`artifacts/${deployed}.zip`);
    const policy = JSON.stringify(template.Resources.RuntimeRole!.Properties.Policies);
    expect(policy).toContain('/dev/tenants/acme/avalara/*');
    expect(policy).not.toContain('cetec');
    expect(policy).not.toContain('acme-eu');
    const env = template.Resources.Function!.Properties.Environment.Variables as Record<string, string>;
    expect(JSON.parse(env.SOVEREIGN_TENANT_CONFIG!)).toMatchObject({ extensions: ['avalara'], webhookSecret: 'ssm:/dev/tenants/acme/_sovereign/webhook_secret' });

    expect((await runCli(['template', 'render', 'nobody'], { cwd: project })).exitCode).toBe(3);
  });
});
