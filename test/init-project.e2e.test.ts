/**
 * `sovereign init` makes a project that tests itself: a package.json with the tools the CLI is
 * built with and `npm test`, a strict ESM tsconfig.json, and a `$schema` that resolves from where
 * the config is. A user's existing package.json or tsconfig.json is never touched, and a refused
 * init writes nothing. (The packed-tarball run of the whole path is test/packed-project.e2e.test.ts.)
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli, snapshotTree } from './helpers/cli.js';

interface PackageJson {
  name: string;
  version: string;
  private?: boolean;
  type?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const own = readJson<PackageJson>(join(repoRoot, 'package.json'));
const fresh = (): string => mkdtempSync(join(tmpdir(), 'sovereign-init-'));

describe('sovereign init and npm', () => {
  it('writes a package.json whose npm test runs vitest, with the versions the CLI uses', async () => {
    const dir = join(fresh(), 'Billing Platform');
    const result = await runCli(['init', dir, '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ project: 'billing-platform', kept: [] });
    expect(readJson<PackageJson>(join(dir, 'package.json'))).toEqual({
      name: 'billing-platform',
      version: '0.1.0',
      private: true,
      type: 'module',
      scripts: { test: 'vitest run', typecheck: 'tsc -p .' },
      devDependencies: {
        'sovereign-cli': `^${own.version}`,
        typescript: own.devDependencies?.typescript,
        vitest: own.devDependencies?.vitest,
        zod: own.dependencies?.zod,
      },
    });
    expect(readJson<{ compilerOptions: Record<string, unknown> }>(join(dir, 'tsconfig.json')).compilerOptions).toMatchObject({
      strict: true,
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
    });
  });

  it('keeps an existing package.json and tsconfig.json byte for byte, and says so', async () => {
    const dir = fresh();
    const pkg = '{ "name": "mine", "scripts": { "test": "node --test" } }\n';
    const tsconfig = '// my settings\n{ "compilerOptions": { "strict": false } }\n';
    writeFileSync(join(dir, 'package.json'), pkg);
    writeFileSync(join(dir, 'tsconfig.json'), tsconfig);
    const result = await runCli(['init', dir, '--name', 'mine']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Kept the existing package\.json as it is; for `npm test`, give it devDependencies sovereign-cli, vitest and typescript/m);
    expect(result.stdout).toMatch(/^Kept the existing tsconfig\.json as it is\.$/m);
    expect(readFileSync(join(dir, 'package.json'), 'utf8')).toBe(pkg);
    expect(readFileSync(join(dir, 'tsconfig.json'), 'utf8')).toBe(tsconfig);
    expect(readJson<{ project: string }>(join(dir, 'sovereign.config.json')).project).toBe('mine');

    const json = await runCli(['init', join(dir, 'nested'), '--json'], { cwd: dir });
    expect(json.exitCode, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ kept: [] });
  });

  it('writes nothing at all when it refuses', async () => {
    const dir = fresh();
    writeFileSync(join(dir, '.gitignore'), 'mine\n');
    const before = snapshotTree(dir);
    const result = await runCli(['init', dir]);
    expect(result.exitCode).toBe(4);
    expect(result.stderr).toMatch(/^error: .*\.gitignore already exists$/m);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('points $schema at the installed schema from where the config is', async () => {
    // Beside the config once `npm install` ran in the new project.
    const alone = join(fresh(), 'alone');
    expect((await runCli(['init', alone])).exitCode).toBe(0);
    expect(readJson<{ $schema: string }>(join(alone, 'sovereign.config.json')).$schema).toBe('./node_modules/sovereign-cli/schema/sovereign.config.schema.json');

    // A workspace that hoisted sovereign-cli two folders up.
    const workspace = fresh();
    const installed = join(workspace, 'node_modules', 'sovereign-cli', 'schema');
    mkdirSync(installed, { recursive: true });
    writeFileSync(join(installed, 'sovereign.config.schema.json'), '{"title":"hoisted"}\n');
    const nested = join(workspace, 'services', 'billing');
    expect((await runCli(['init', nested])).exitCode).toBe(0);
    const reference = readJson<{ $schema: string }>(join(nested, 'sovereign.config.json')).$schema;
    expect(reference).toBe('../../node_modules/sovereign-cli/schema/sovereign.config.schema.json');
    expect(readJson<{ title: string }>(resolve(nested, reference)).title).toBe('hoisted');
  });
});
