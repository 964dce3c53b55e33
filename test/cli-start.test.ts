/**
 * What a quick command loads: zod is ~95 modules (64 of them locales), a fifth of a read-only
 * command's start, so a command declaration loads none and a command whose values are plain text,
 * switches or domain-parsed text never imports it (src/commands/define.ts).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeProject, repoRoot, runCli } from './helpers/cli.js';

describe('CLI start', () => {
  it('loads no zod for --help and read-only commands (and does where a value needs it: the check can fail)', async () => {
    const dir = await makeProject();
    expect((await runCli(['tenant', 'create', 'acme', '--no-deploy'], { cwd: dir })).exitCode).toBe(0);
    const zodModules = async (args: string[]) => {
      const out = join(mkdtempSync(join(tmpdir(), 'sovereign-loaded-')), 'modules.txt');
      const result = await runCli(args, { cwd: dir, env: { NODE_OPTIONS: `--import ${join(repoRoot, 'test', 'helpers', 'loaded-esm.mjs')}`, SOVEREIGN_TEST_LOADED_OUT: out } });
      return { exitCode: result.exitCode, zod: readFileSync(out, 'utf8').split('\n').filter((url) => url.includes('/node_modules/zod/')) };
    };
    for (const args of [['--help'], ['tenant', 'create', '--help'], ['tenant', 'list'], ['tenant', 'show', 'acme'], ['tenant', 'status', 'acme'], ['audit', 'log', '--tenant', 'acme', '--limit', '5']]) {
      const { exitCode, zod } = await zodModules(args);
      expect({ args, exitCode, zod }).toEqual({ args, exitCode: 0, zod: [] });
    }
    // `[id...]` is a list of text: a schema only zod checks (the deploy then fails on the unknown tenant).
    const deploy = await zodModules(['tenant', 'deploy', 'nosuch']);
    expect(deploy.zod.length).toBeGreaterThan(0);
  });
});
