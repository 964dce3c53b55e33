/**
 * The shape the README's "Layout" promises: a target is a value, so no command or service asks
 * which one it got, and only the aws target (and the Lambda runtime, which runs on AWS) speaks to
 * AWS through the SDK.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeProject, repoRoot, runCli } from './helpers/cli.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

const files = sources(join(repoRoot, 'src')).map((path) => ({ path: relative(repoRoot, path).replaceAll('\\', '/'), text: readFileSync(path, 'utf8') }));

/** Code that runs in a tenant's Lambda environment or its test double, not in the CLI. */
const RUNS_ON_LAMBDA = ['src/runtime/', 'src/testing/'];

describe('layout', () => {
  it('imports an AWS SDK package only in src/targets/aws/ and the Lambda runtime', () => {
    const offenders = files
      .filter((f) => !f.path.startsWith('src/targets/aws/') && !RUNS_ON_LAMBDA.some((dir) => f.path.startsWith(dir)))
      .filter((f) => /(?:from\s+|import\(\s*)['"]@aws-sdk\//.test(f.text))
      .map((f) => f.path);
    expect(offenders).toEqual([]);
  });

  it('compares a target by name only in src/targets/ and the config resolution', () => {
    const comparison = /\btarget\s*[!=]==\s*['"](?:local|aws)['"]|['"](?:local|aws)['"]\s*[!=]==\s*\w*target\b/;
    const offenders = files.filter((f) => !f.path.startsWith('src/targets/') && f.path !== 'src/cli.ts' && f.path !== 'src/config.ts').filter((f) => comparison.test(f.text)).map((f) => f.path);
    expect(offenders).toEqual([]);
  });

  it('keeps the aws target free of the local one', () => {
    const offenders = files.filter((f) => f.path.startsWith('src/targets/aws/')).filter((f) => /(?:from\s+|import\(\s*)['"]\.\.\/local\//.test(f.text)).map((f) => f.path);
    expect(offenders).toEqual([]);
  });

  it('keeps the local target in src/targets/local/', () => {
    const strays = ['src/dev/', 'src/state/lock.ts', 'src/state/journal.ts', 'src/secrets/local-backend.ts', 'src/secrets/vault-writer.ts', 'src/secrets/notify.ts', 'src/fleet/local.ts', 'src/lifecycle/local-export.ts'];
    expect(files.filter((f) => strays.some((s) => f.path.startsWith(s))).map((f) => f.path)).toEqual([]);
  });

  it('detects the patterns it forbids (the checks can fail)', () => {
    expect(/(?:from\s+|import\(\s*)['"]@aws-sdk\//.test("const { X } = await import('@aws-sdk/client-sts');")).toBe(true);
    expect(/\btarget\s*[!=]==\s*['"](?:local|aws)['"]/.test("if (ctx.globals.target === 'aws') {")).toBe(true);
  });

  it('`tenant diff` on local loads no AWS client (and on aws it does: the check can fail)', async () => {
    const dir = await makeProject();
    expect((await runCli(['tenant', 'create', 'acme', '--no-deploy'], { cwd: dir })).exitCode).toBe(0);
    const loaded = async (args: string[], env: Record<string, string> = {}) => {
      const out = join(mkdtempSync(join(tmpdir(), 'sovereign-loaded-')), 'modules.json');
      await runCli(args, { cwd: dir, env: { NODE_OPTIONS: `--require ${join(repoRoot, 'test', 'helpers', 'loaded-modules.cjs')}`, SOVEREIGN_TEST_LOADED_OUT: out, ...env } });
      return (JSON.parse(readFileSync(out, 'utf8')) as string[]).filter((path) => path.includes('@aws-sdk'));
    };
    expect(await loaded(['tenant', 'diff', 'acme'])).toEqual([]);
    // Nothing listens on port 9: the aws diff fails, having loaded its clients.
    const aws = await loaded(['tenant', 'diff', 'acme', '--target', 'aws', '--region', 'eu-west-1'], { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_MAX_ATTEMPTS: '1' });
    expect(aws.length).toBeGreaterThan(0);
  });
});
