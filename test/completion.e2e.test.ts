/**
 * `sovereign completion <shell>` through the real CLI, and the scripts it prints run by the real
 * shells: bash with the script sourced and `COMPREPLY` computed as a TAB computes it, zsh and fish
 * where they are installed (skipped with a message otherwise: CI does not depend on them). The
 * scripts call back `sovereign __complete`, found on PATH as a user's install puts it there.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliPath, makeProject, repoRoot, runCli } from './helpers/cli.js';

/** A folder holding a `sovereign` that runs this build, for PATH. */
function sovereignOnPath(): string {
  const bin = mkdtempSync(join(tmpdir(), 'sovereign-bin-'));
  const shim = join(bin, 'sovereign');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${cliPath}" "$@"\n`);
  chmodSync(shim, 0o755);
  return bin;
}

const hasShell = (name: string) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;

let project: string;
let bin: string;
let env: Record<string, string>;

async function cli(args: string[], cwd = project) {
  return runCli(args, { cwd });
}

beforeAll(async () => {
  project = await makeProject('completion');
  for (const id of ['acme', 'globex']) expect((await cli(['tenant', 'create', id, '--no-deploy'])).exitCode).toBe(0);
  expect((await cli(['ext', 'new', 'shipping-rates'])).exitCode).toBe(0);
  bin = sovereignOnPath();
  env = { PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: mkdtempSync(join(tmpdir(), 'sovereign-home-')), NO_COLOR: '1' };
}, 120_000);

/** What bash's TAB offers after `line` (the part after the last space is the word being completed). */
function bashComplete(line: string, cwd = project): string[] {
  const words = line.split(' ');
  const script = [
    'source <(sovereign completion bash)',
    `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})`,
    `COMP_CWORD=${words.length - 1}`,
    `COMP_LINE='${line}'`,
    'COMPREPLY=()',
    '_sovereign_complete',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const out = execFileSync('bash', ['--norc', '--noprofile', '-c', script], { cwd, env, encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

describe('sovereign completion', () => {
  it('prints a script for each shell that calls back `sovereign __complete`', async () => {
    const bash = await cli(['completion', 'bash']);
    expect(bash.exitCode).toBe(0);
    expect(bash.stdout).toContain('complete -o default -F _sovereign_complete sovereign');
    expect(bash.stdout).toContain('__complete "${COMP_WORDS[@]:1:COMP_CWORD}"');
    expect(spawnSync('bash', ['-n'], { input: bash.stdout }).status).toBe(0);
    const zsh = await cli(['completion', 'zsh']);
    expect(zsh.exitCode).toBe(0);
    expect(zsh.stdout.startsWith('#compdef sovereign\n')).toBe(true);
    expect(zsh.stdout).toContain('__complete "${(@)words[2,CURRENT]}"');
    const fish = await cli(['completion', 'fish']);
    expect(fish.exitCode).toBe(0);
    expect(fish.stdout).toContain("complete -c sovereign -f -a '(__sovereign_complete)'");
    const json = await cli(['completion', 'fish', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ shell: 'fish', script: `${fish.stdout}\n` });
  });

  it('refuses an unknown shell with exit 2 and names the ones it has', async () => {
    const result = await cli(['completion', 'tcsh']);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('error: there is no completion for the shell "tcsh"\nhint: run `sovereign completion bash`, `sovereign completion zsh` or `sovereign completion fish`');
  });

  it('bash: commands, subcommands and options from the registry, tenant ids and extension names from the project', () => {
    expect(bashComplete('sovereign ten')).toEqual(['tenant']);
    expect(bashComplete('sovereign tenant keys ')).toEqual(['create', 'list', 'revoke']);
    expect(bashComplete('sovereign tenant deploy ')).toEqual(['acme', 'globex']);
    expect(bashComplete('sovereign tenant deploy acme ')).toEqual(['globex']);
    expect(bashComplete('sovereign tenant show g')).toEqual(['globex']);
    expect(bashComplete('sovereign secrets history ')).toEqual(['acme', 'globex']);
    expect(bashComplete('sovereign ext enable ')).toEqual(['shipping-rates']);
    // The extension named, the option it still needs; then that option's value.
    expect(bashComplete('sovereign ext enable x ')).toEqual(['--tenant']);
    expect(bashComplete('sovereign ext enable x --tenant ')).toEqual(['acme', 'globex']);
    expect(bashComplete('sovereign --ta')).toEqual(['--target']);
    expect(bashComplete('sovereign tenant deploy --ta')).toEqual(['--target']);
    expect(bashComplete('sovereign tenant deploy --c')).toEqual(['--concurrency', '--cell', '--cwd']);
    expect(bashComplete('sovereign --target ')).toEqual(['local', 'aws']);
    // A new tenant id offers nothing: `tenant create <id>` names a tenant that does not exist yet.
    expect(bashComplete('sovereign tenant create ')).toEqual([]);
  });

  it('bash: values are read at completion time, from the project -C names', async () => {
    expect((await cli(['tenant', 'create', 'initech', '--no-deploy'])).exitCode).toBe(0);
    expect(bashComplete('sovereign tenant deploy ')).toEqual(['acme', 'globex', 'initech']);
    const elsewhere = mkdtempSync(join(tmpdir(), 'sovereign-elsewhere-'));
    expect(bashComplete('sovereign tenant deploy ', elsewhere)).toEqual([]);
    expect(bashComplete(`sovereign -C ${project} tenant deploy `, elsewhere)).toEqual(['acme', 'globex', 'initech']);
    expect((await cli(['tenant', 'destroy', 'initech', '--yes'])).exitCode).toBe(0);
    expect(bashComplete('sovereign tenant deploy ')).toEqual(['acme', 'globex']);
  });

  it('offers no name planted in the project folder that would run as a command when the line is entered', () => {
    // Whoever can write the project folder picks these names; bash puts a candidate on the line as it is.
    const planted = '$(touch pwned)';
    writeFileSync(join(project, '.sovereign', 'tenants', `${planted}.json`), '{}');
    writeFileSync(join(project, '.sovereign', 'tenants', 'two\nlines.json'), '{}');
    mkdirSync(join(project, 'extensions', planted));
    mkdirSync(join(project, 'extensions', 'Upper;id'));
    try {
      expect(bashComplete('sovereign tenant deploy ')).toEqual(['acme', 'globex']);
      expect(bashComplete('sovereign ext enable ')).toEqual(['shipping-rates']);
    } finally {
      for (const name of [`${planted}.json`, 'two\nlines.json']) rmSync(join(project, '.sovereign', 'tenants', name));
      for (const name of [planted, 'Upper;id']) rmSync(join(project, 'extensions', name), { recursive: true });
    }
  });

  it('__complete loads no AWS SDK module, on either target (aws tenants are not offered: their registry is a table)', async () => {
    const loaded = async (args: string[]) => {
      const out = join(mkdtempSync(join(tmpdir(), 'sovereign-loaded-')), 'modules.txt');
      const result = await runCli(args, { cwd: project, env: { NODE_OPTIONS: `--import ${join(repoRoot, 'test', 'helpers', 'loaded-esm.mjs')}`, SOVEREIGN_TEST_LOADED_OUT: out } });
      return { result, sdk: readFileSync(out, 'utf8').split('\n').filter((url) => url.includes('/@aws-sdk/')) };
    };
    const local = await loaded(['__complete', 'tenant', 'deploy', '']);
    expect(local.result.stdout).toBe('acme\ttenant\nglobex\ttenant');
    expect(local.sdk).toEqual([]);
    const aws = await loaded(['__complete', '--target', 'aws', 'tenant', 'deploy', '']);
    expect({ exitCode: aws.result.exitCode, stdout: aws.result.stdout, sdk: aws.sdk }).toEqual({ exitCode: 0, stdout: '', sdk: [] });
    // The check can fail: a command that opens the aws target loads the SDK.
    const listed = await loaded(['tenant', 'list', '--target', 'aws']);
    expect(listed.sdk.length).toBeGreaterThan(0);
  });

  it.skipIf(!hasShell('zsh'))('zsh: the script sourced and _sovereign run as compsys runs it', () => {
    const complete = (...words: string[]) => {
      const script = [
        'compdef() { :; }',
        '_describe() { print -rl -- "${(@P)${@[-1]}}"; }',
        '_files() { print -r -- "<files>"; }',
        'source <(sovereign completion zsh)',
        `words=(${words.map((w) => `'${w}'`).join(' ')})`,
        `CURRENT=${words.length}`,
        '_sovereign',
      ].join('\n');
      return execFileSync('zsh', ['-f', '-c', script], { cwd: project, env, encoding: 'utf8' }).split('\n').filter(Boolean);
    };
    expect(complete('sovereign', 'ten')).toEqual(['tenant:Create, deploy, inspect and destroy tenants']);
    expect(complete('sovereign', 'tenant', 'deploy', '')).toEqual(['acme:tenant', 'globex:tenant']);
    expect(complete('sovereign', 'ext', 'enable', '')).toEqual(['shipping-rates:extension']);
    expect(complete('sovereign', '--ta')).toEqual(['--target:where tenants run']);
    expect(complete('sovereign', 'audit', 'verify', '')).toEqual(['<files>']);
  });
  if (!hasShell('zsh')) it.skip('zsh is not installed: its script is checked only as text', () => undefined);

  it.skipIf(!hasShell('fish'))('fish: the script sourced and `complete -C` asked as fish asks on TAB', () => {
    const complete = (line: string) =>
      execFileSync('fish', ['--no-config', '-c', `sovereign completion fish | source; complete -C '${line}'`], { cwd: project, env, encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(complete('sovereign ten')).toEqual(['tenant\tCreate, deploy, inspect and destroy tenants']);
    expect(complete('sovereign tenant deploy ')).toEqual(['acme\ttenant', 'globex\ttenant']);
    expect(complete('sovereign ext enable ')).toEqual(['shipping-rates\textension']);
    expect(complete('sovereign ext enable x --tenant g')).toEqual(['globex\ttenant']);
    expect(complete('sovereign --ta')).toEqual(['--target\twhere tenants run']);
  });
  if (!hasShell('fish')) it.skip('fish is not installed: its script is checked only as text', () => undefined);
});
