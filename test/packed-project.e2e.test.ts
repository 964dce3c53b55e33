/**
 * A user's project made from the packed tarball, as the README tells a newcomer: the CLI from
 * `npm pack` creates the project (`init`), the project's own devDependencies are installed, then
 * `ext new`, the scaffold's next step `npm test`, a type check, and a tenant deploy that bundles
 * the extension against the installed `sovereign-cli/runtime`.
 *
 * Installing: the tarball is unpacked as npm would unpack it; everything else is linked from this
 * repository's node_modules (what `npm ci` installed), so the test needs no registry. The project's
 * node_modules holds only what its package.json and the tarball's `dependencies` name; the linked
 * packages resolve their own dependencies from their real folders, as Node does by default. So a
 * module the package imports without declaring it fails here as it would for a user.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { extract } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';

interface PackageJson {
  name: string;
  version: string;
  private?: boolean;
  type?: string;
  bin?: string | Record<string, string>;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const root = mkdtempSync(join(tmpdir(), 'sovereign-packed-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/**
 * The environment of a user's shell: nothing of this test run's own vitest, and none of the
 * opt-outs the repository's test setup sets (the project must be quiet without them).
 */
function userEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key.startsWith('VITEST') || key.startsWith('npm_') || key === 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED') continue;
    if (key === 'NODE_ENV' || key === 'TEST' || key === 'NODE_OPTIONS') continue;
    env[key] = value;
  }
  return { ...env, NO_COLOR: '1', CI: '1', SOVEREIGN_ACTOR: 'newcomer@host', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
}

/** Links `node_modules/.bin/<bin>` of an installed package, as npm does. */
function linkBins(nodeModules: string, name: string): void {
  const pkg = readJson<PackageJson>(join(nodeModules, name, 'package.json'));
  const bins = typeof pkg.bin === 'string' ? { [name.split('/').pop()!]: pkg.bin } : (pkg.bin ?? {});
  mkdirSync(join(nodeModules, '.bin'), { recursive: true });
  for (const [bin, file] of Object.entries(bins)) symlinkSync(join('..', name, file), join(nodeModules, '.bin', bin));
}

/** Installs `names` into `nodeModules` by linking this repository's installed copies. */
function linkFromRepo(nodeModules: string, names: Iterable<string>): void {
  for (const name of names) {
    const at = join(nodeModules, name);
    if (existsSync(at)) continue;
    const installed = join(repoRoot, 'node_modules', name);
    if (!existsSync(join(installed, 'package.json'))) throw new Error(`${name} is not installed in the repository`);
    mkdirSync(dirname(at), { recursive: true });
    symlinkSync(installed, at, 'dir');
    linkBins(nodeModules, name);
  }
}

/** Unpacks the tarball as `node_modules/sovereign-cli` with its dependencies beside it (npm hoists them). */
async function installTarball(nodeModules: string, tarball: string): Promise<PackageJson> {
  const unpacked = join(nodeModules, '.unpack');
  mkdirSync(unpacked, { recursive: true });
  await extract({ file: tarball, cwd: unpacked });
  const pkg = readJson<PackageJson>(join(unpacked, 'package', 'package.json'));
  renameSync(join(unpacked, 'package'), join(nodeModules, pkg.name));
  rmSync(unpacked, { recursive: true, force: true });
  linkBins(nodeModules, pkg.name);
  linkFromRepo(nodeModules, Object.keys(pkg.dependencies ?? {}));
  return pkg;
}

let tarball: string;
let packed: PackageJson;
const project = join(root, 'my-saas');
const run = (file: string, args: string[], cwd = project) => execa(file, args, { cwd, env: userEnv(), extendEnv: false, reject: false, stdin: 'ignore', all: true, timeout: 60_000 });

beforeAll(async () => {
  // --ignore-scripts: the tarball of the dist/ the suite built, not a rebuild.
  const pack = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], { cwd: repoRoot, env: userEnv(), extendEnv: false });
  tarball = join(root, (JSON.parse(pack.stdout) as Array<{ filename: string }>)[0]!.filename);
  // The CLI a newcomer runs once with `npx sovereign-cli init`: installed outside the project.
  packed = await installTarball(join(root, 'npx', 'node_modules'), tarball);
}, 60_000);

describe('a project installed from the packed tarball', () => {
  it('is created by init, installs, and its scaffold passes its own tests, type check and deploy', async () => {
    expect(packed.name).toBe('sovereign-cli');
    const init = await run('node', [join(root, 'npx', 'node_modules', '.bin', 'sovereign'), 'init', 'my-saas'], root);
    expect(init.exitCode, init.all).toBe(0);
    expect(init.stdout).toContain('npm install');
    expect(init.stdout).toContain('npm test');

    // `npm install`: what the project's own package.json asks for.
    const manifest = readJson<PackageJson>(join(project, 'package.json'));
    expect(manifest).toMatchObject({ name: 'my-saas', private: true, type: 'module', scripts: { test: 'vitest run' } });
    expect(Object.keys(manifest.devDependencies ?? {}).sort()).toEqual(['sovereign-cli', 'typescript', 'vitest', 'zod']);
    expect(manifest.devDependencies?.['sovereign-cli']).toBe(`^${packed.version}`);
    const nodeModules = join(project, 'node_modules');
    await installTarball(nodeModules, tarball);
    linkFromRepo(nodeModules, Object.keys(manifest.devDependencies ?? {}));

    // `$schema` names the installed schema from where the config is.
    const config = readJson<{ $schema: string }>(join(project, 'sovereign.config.json'));
    const schema = readJson<{ properties: Record<string, unknown> }>(resolve(project, config.$schema));
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['project', 'target', 'extensionsDir', 'dev']));
    expect(readJson<{ exports: Record<string, string> }>(join(nodeModules, 'sovereign-cli', 'package.json')).exports['./schema/config.json']).toBe(`./${config.$schema.split('node_modules/sovereign-cli/')[1]}`);

    const scaffold = await run(join(nodeModules, '.bin', 'sovereign'), ['ext', 'new', 'hello']);
    expect(scaffold.exitCode, scaffold.all).toBe(0);

    const test = await run('npm', ['test']);
    expect(test.exitCode, test.all).toBe(0);
    expect(test.all).toMatch(/Tests\s+2 passed/);
    // The test kit is quiet on this Node (see test/testing-notice.test.ts for the control).
    expect(test.all).not.toContain('NodeVersionSupportWarning');

    const typecheck = await run('npm', ['run', 'typecheck']);
    expect(typecheck.exitCode, typecheck.all).toBe(0);

    // The deploy bundles extensions/hello against the installed sovereign-cli/runtime.
    expect((await run(join(nodeModules, '.bin', 'sovereign'), ['tenant', 'create', 'acme', '--no-deploy'])).exitCode).toBe(0);
    expect((await run(join(nodeModules, '.bin', 'sovereign'), ['ext', 'enable', 'hello', '--tenant', 'acme'])).exitCode).toBe(0);
    const deploy = await run(join(nodeModules, '.bin', 'sovereign'), ['tenant', 'deploy', 'acme', '--json']);
    expect(deploy.exitCode, deploy.all).toBe(0);
    expect(readdirSync(project)).toEqual(expect.arrayContaining(['.gitignore', '.sovereign', 'extensions', 'node_modules', 'package.json', 'sovereign.config.json', 'tsconfig.json']));
  }, 120_000);
});
