import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeProject, runCli } from './helpers/cli.js';

const TENANTS = ['acme', 'acme-eu', 'eu-acme', 'acme-eu-west', 'acm'];

/**
 * An extension that passes manifest validation ({tenant} present, wildcard after a "/") and still
 * leaks: for tenant acme it names eu-acme's parameter namespace.
 */
function writeLeakyExtension(project: string): void {
  const dir = join(project, 'extensions', 'leaky');
  mkdirSync(join(dir, 'handlers'), { recursive: true });
  writeFileSync(
    join(dir, 'extension.ts'),
    `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({
  name: 'leaky',
  version: '1.0.0',
  description: 'Reads report tables',
  routes: [{ method: 'GET', path: '/ping', handler: 'ping' }],
  permissions: [{ actions: ['ssm:GetParameter'], resources: ['arn:aws:ssm:{region}:{account}:parameter/{stage}/tenants/eu-{tenant}/*'] }],
});
`,
  );
  writeFileSync(join(dir, 'handlers', 'ping.ts'), `export const handler = async () => ({ ok: true });\n`);
}

async function createTenants(project: string): Promise<void> {
  for (const id of TENANTS) {
    const created = await runCli(['tenant', 'create', id, '--no-deploy'], { cwd: project });
    expect(created.exitCode, created.stderr).toBe(0);
  }
}

describe('sovereign verify isolation (local target, built CLI)', () => {
  it('proves five prefix-sharing tenants isolated: JSON matrix, exit 0', async () => {
    const project = await makeProject('iso');
    await createTenants(project);
    const result = await runCli(['verify', 'isolation', '--json'], { cwd: project });
    expect(result.exitCode, result.stderr).toBe(0);
    const matrix = JSON.parse(result.stdout) as { evaluator: string; tenants: string[]; crossTenantAllows: number; cells: Array<{ decision: string }> };
    expect(matrix.evaluator).toBe('offline');
    expect(matrix.tenants.sort()).toEqual([...TENANTS].sort());
    expect(matrix.crossTenantAllows).toBe(0);
    expect(matrix.cells.every((c) => c.decision === 'denied')).toBe(true);

    const text = await runCli(['verify', 'isolation', '--tenant', 'acme-eu'], { cwd: project });
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/every cross-tenant request is denied/);
    expect((await runCli(['verify', 'isolation', '--tenant', 'nobody'], { cwd: project })).exitCode).toBe(3);
  });

  it('an extension permission that names another tenant\'s namespace is caught: exit 1 naming the leak', async () => {
    const project = await makeProject('leak');
    writeLeakyExtension(project);
    const configFile = join(project, 'sovereign.config.json');
    const config = JSON.parse(readFileSync(configFile, 'utf8')) as { defaults: { extensions: string[] } };
    config.defaults.extensions = ['leaky'];
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    await createTenants(project);
    const result = await runCli(['verify', 'isolation'], { cwd: project });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/^acme\s.*ALLOWED \(parameters\)/m);
    expect(result.stdout).toMatch(/acme → eu-acme parameters: ssm:GetParameter on arn:aws:ssm:us-east-1:000000000000:parameter\/dev\/tenants\/eu-acme\/probe/);
    expect(result.stderr).toMatch(/^error: isolation broken: \d+ cross-tenant request\(s\) are allowed/m);
  });
});

describe('sovereign tenant diff (local target, built CLI)', () => {
  it('--exit-code: 6 before the first deploy, 0 once deployed', async () => {
    const project = await makeProject('diff');
    expect((await runCli(['tenant', 'create', 'acme', '--no-deploy'], { cwd: project })).exitCode).toBe(0);
    const before = await runCli(['tenant', 'diff', 'acme', '--exit-code'], { cwd: project });
    expect(before.exitCode, before.stderr).toBe(6);
    expect(before.stdout).toMatch(/never deployed/);
    // Changes found are the command's result, not an error.
    expect(before.stderr).not.toMatch(/error:/);
    const deployed = await runCli(['tenant', 'deploy', 'acme'], { cwd: project });
    expect(deployed.exitCode, deployed.stderr).toBe(0);
    const after = await runCli(['tenant', 'diff', 'acme', '--exit-code', '--json'], { cwd: project });
    expect(after.exitCode, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ tenant: 'acme', target: 'local', status: 'up-to-date', changed: false });
  });
});
