/**
 * Extensions import the extension API as `sovereign-cli/runtime`. The npm name `sovereign`
 * belongs to an unrelated package: with it installed in a project, a stale `sovereign/runtime`
 * import would resolve to that package and put its code into a tenant's artifact. Bundling refuses
 * the import instead, both when the CLI loads a manifest (`ext validate`) and when it builds a
 * tenant's artifact (`tenant deploy`).
 */
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeProject, runCli } from './helpers/cli.js';

const MARKER = 'unrelated-package-code-7f3a';
let project: string;

/** Every file below `dir`, as text. */
function allText(dir: string): string {
  let out = '';
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    out += statSync(path).isDirectory() ? allText(path) : readFileSync(path, 'latin1');
  }
  return out;
}

beforeAll(async () => {
  project = await makeProject('specifier');
  // The unrelated package, as `npm install sovereign` would put it there: it exports the same names.
  const unrelated = join(project, 'node_modules', 'sovereign');
  mkdirSync(unrelated, { recursive: true });
  writeFileSync(join(unrelated, 'package.json'), JSON.stringify({ name: 'sovereign', version: '0.3.1', type: 'module', exports: { './runtime': './runtime.js' } }));
  writeFileSync(
    join(unrelated, 'runtime.js'),
    `globalThis.unrelated = '${MARKER}';\nexport const defineExtension = (m) => m;\nexport const defineHandler = (h) => h;\n`,
  );
  expect((await runCli(['ext', 'new', 'hello'], { cwd: project })).exitCode).toBe(0);
  expect((await runCli(['tenant', 'create', 'acme', '--no-deploy'], { cwd: project })).exitCode).toBe(0);
  expect((await runCli(['ext', 'enable', 'hello', '--tenant', 'acme'], { cwd: project })).exitCode).toBe(0);
});

const staleImport = (file: string) => {
  const path = join(project, 'extensions', 'hello', file);
  writeFileSync(path, readFileSync(path, 'utf8').replace("from 'sovereign-cli/runtime'", "from 'sovereign/runtime'"));
};

describe('a stale "sovereign/…" import', () => {
  it('is refused when a handler is bundled into a tenant artifact, and none of its code ships', async () => {
    staleImport('handlers/greet.ts');
    const deploy = await runCli(['tenant', 'deploy', 'acme', '--json'], { cwd: project });
    expect(deploy.exitCode).toBe(1);
    const [tenant] = (JSON.parse(deploy.stdout) as { tenants: Array<{ outcome: string; error: string }> }).tenants;
    expect(tenant).toMatchObject({ outcome: 'failed' });
    expect(tenant!.error).toBe('the tenant bundle does not build: extensions/hello/handlers/greet.ts:1: "sovereign/runtime" names an unrelated npm package; import "sovereign-cli/runtime" instead');
    expect(allText(join(project, '.sovereign'))).not.toContain(MARKER);
  });

  it('is refused when the CLI loads a manifest', async () => {
    staleImport('extension.ts');
    const validate = await runCli(['ext', 'validate', 'hello'], { cwd: project });
    expect(validate.exitCode).toBe(2);
    expect(validate.stdout + validate.stderr).toContain('"sovereign/runtime" names an unrelated npm package; import "sovereign-cli/runtime" instead');
  });
});
