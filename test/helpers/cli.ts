import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Options, type Result } from 'execa';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const cliPath = join(repoRoot, 'bin', 'sovereign.js');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI (the built `bin/sovereign.js`) without a TTY. */
export async function runCli(args: string[], options: { cwd?: string; env?: Record<string, string | undefined>; input?: string; timeout?: number } = {}): Promise<CliResult> {
  const execaOptions: Options = {
    cwd: options.cwd,
    env: { NO_COLOR: '1', SOVEREIGN_ACTOR: 'test@host', SOVEREIGN_LOCK_WAIT_MS: '5000', ...options.env },
    reject: false,
    timeout: options.timeout ?? 60_000,
    ...(options.input === undefined ? { stdin: 'ignore' } : { input: options.input }),
  };
  const result = (await execa('node', [cliPath, ...args], execaOptions)) as Result;
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** A fresh project made by `sovereign init` in a temporary folder. */
export async function makeProject(name = 'proj'): Promise<string> {
  const parent = mkdtempSync(join(tmpdir(), 'sovereign-test-'));
  const dir = join(parent, name);
  const result = await runCli(['init', dir]);
  if (result.exitCode !== 0) throw new Error(`init failed: ${result.stderr}`);
  return dir;
}

/** Every file below `dir` with the SHA-256 of its bytes: compare two to prove nothing was written. */
export function snapshotTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(dir, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(dir);
  return out;
}
