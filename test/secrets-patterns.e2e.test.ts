/**
 * Secrets patterns that would let two tenants share names, attacked through the real CLI: the two
 * of the issue, each configured after the tenants exist (as a config change in a later commit
 * would), and each command that could make use of it refused with exit 2 before anything is
 * written.
 *
 * - `"ssmPrefix": "/{stage}{tenant}/"`: tenant `cme` of stage `deva` names `/devacme/…`, which is
 *   tenant `acme`'s of stage `dev`.
 * - `"secretsManagerName": "{extension}-{tenant}-secrets"`: an extension `xa-b` added later gives
 *   tenant `cde` the name `xa-b-cde-secrets`, which is tenant `b-cde`'s for extension `xa`.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeProject, runCli, snapshotTree } from './helpers/cli.js';

async function project(tenants: Array<{ id: string; stage?: string }>, secrets: Record<string, string>, extensions: string[] = []): Promise<string> {
  const dir = await makeProject();
  for (const name of extensions) expect((await runCli(['ext', 'new', name], { cwd: dir })).exitCode).toBe(0);
  for (const { id, stage } of tenants) {
    const created = await runCli(['tenant', 'create', id, '--no-deploy', ...(stage ? ['--stage', stage] : [])], { cwd: dir });
    expect(created.exitCode, created.stderr).toBe(0);
  }
  // The pattern arrives after the tenants, as a later change of sovereign.config.json would.
  const file = join(dir, 'sovereign.config.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), secrets }, null, 2));
  return dir;
}

function expectRefused(result: { exitCode: number; stderr: string }, pattern: string, safe: string): void {
  expect(result.exitCode, result.stderr).toBe(2);
  const lines = result.stderr.trim().split('\n');
  expect(lines.find((line) => line.startsWith('error: '))).toContain(`the secrets pattern "${pattern}"`);
  expect(lines.find((line) => line.startsWith('hint: '))).toContain(safe);
}

const state = (dir: string) => Object.fromEntries(Object.entries(snapshotTree(join(dir, '.sovereign'))).filter(([path]) => !path.startsWith('cache')));

describe('secrets patterns that could overlap are refused by every command that relies on them', { timeout: 180_000 }, () => {
  describe('"/{stage}{tenant}/": stage dev + tenant acme against stage deva + tenant cme', () => {
    const pattern = '/{stage}{tenant}/';
    const safe = '"ssmPrefix": "/{stage}/{tenant}/"';
    let dir: string;
    beforeAll(async () => {
      dir = await project([{ id: 'acme' }, { id: 'cme', stage: 'deva' }], { ssmPrefix: pattern });
    });

    it('secrets put of acme\'s name as tenant cme is refused, and nothing is written', async () => {
      const before = state(dir);
      // "/devacme/" is the rendered prefix of (dev, acme) and of (deva, cme).
      const put = await runCli(['secrets', 'put', 'ssm:/devacme/avalara/api_key', '--tenant', 'cme', '--from-stdin', '--stage', 'deva'], { cwd: dir, input: 'stolen-by-cme' });
      expectRefused(put, pattern, safe);
      expect(state(dir)).toEqual(before);
    });

    it('tenant create, tenant deploy, ext new and ext enable are refused', async () => {
      const before = state(dir);
      expectRefused(await runCli(['tenant', 'create', 'initech', '--no-deploy'], { cwd: dir }), pattern, safe);
      expectRefused(await runCli(['tenant', 'deploy', 'acme'], { cwd: dir }), pattern, safe);
      expectRefused(await runCli(['ext', 'enable', 'cetec', '--tenant', 'acme'], { cwd: dir }), pattern, safe);
      expectRefused(await runCli(['ext', 'new', 'shipping'], { cwd: dir }), pattern, safe);
      expect(existsSync(join(dir, 'extensions', 'shipping'))).toBe(false);
      expect(state(dir)).toEqual(before);
    });
  });

  describe('"{extension}-{tenant}-secrets": extension xa-b of tenant cde against extension xa of tenant b-cde', () => {
    const pattern = '{extension}-{tenant}-secrets';
    const safe = '"secretsManagerName": "{extension}/{tenant}-secrets"';
    let dir: string;
    beforeAll(async () => {
      dir = await project([{ id: 'cde' }, { id: 'b-cde' }], { secretsManagerName: pattern }, ['xa']);
    });

    it('ext new of the extension that would reach b-cde\'s secret is refused, and it is not created', async () => {
      const before = state(dir);
      expectRefused(await runCli(['ext', 'new', 'xa-b'], { cwd: dir }), pattern, safe);
      expect(existsSync(join(dir, 'extensions', 'xa-b'))).toBe(false);
      expect(state(dir)).toEqual(before);
    });

    it('with the extension folder written by hand, enabling and deploying it and putting b-cde\'s name as cde are refused', async () => {
      // ext new is refused: the folder is written the way someone with the project folder would.
      copyExtension(dir, 'xa', 'xa-b');
      const before = state(dir);
      expectRefused(await runCli(['ext', 'enable', 'xa-b', '--tenant', 'cde'], { cwd: dir }), pattern, safe);
      expectRefused(await runCli(['tenant', 'deploy', 'cde'], { cwd: dir }), pattern, safe);
      const put = await runCli(['secrets', 'put', 'secretsmanager:xa-b-cde-secrets', '--tenant', 'cde', '--from-stdin'], { cwd: dir, input: 'planted-by-cde' });
      expectRefused(put, pattern, safe);
      const set = await runCli(['secrets', 'set', 'cde', 'xa-b.api_key', 'secretsmanager:xa-b-cde-secrets:api_key'], { cwd: dir });
      expectRefused(set, pattern, safe);
      expect(state(dir)).toEqual(before);
    });
  });
});

/** A copy of extension `from` under the name `to`. */
function copyExtension(dir: string, from: string, to: string): void {
  const target = join(dir, 'extensions', to);
  cpSync(join(dir, 'extensions', from), target, { recursive: true });
  const manifest = join(target, 'extension.ts');
  writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(`name: '${from}'`, `name: '${to}'`));
}
