import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeProject, repoRoot, runCli, snapshotTree } from './helpers/cli.js';

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
      extensions: [{ name: 'shipping-rates', version: '0.1.0', ok: true, problems: [], warnings: [] }],
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
    expect((await runCli(['ext', 'validate', 'missing'], { cwd: dir })).exitCode).toBe(3);
  });
});
