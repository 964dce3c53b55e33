/** The real `sovereign dev` as a child process, for end-to-end tests of the gateway and tenants. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type Options, type ResultPromise } from 'execa';
import { cliPath } from './cli.js';
import { waitFor } from './wait.js';

export interface RunningDev {
  child: ResultPromise<Options>;
  /** The gateway's port and the dev process's pid, from its `--json` result. */
  port: number;
  pid: number;
  /** The whole `--json` result. */
  result: Record<string, unknown>;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
}

/** Whether a process is alive. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts `sovereign dev --port 0 --json [...args]` in `dir` and waits for its result. */
export async function startDevCli(dir: string, env: Record<string, string>, args: string[] = []): Promise<RunningDev> {
  let stderr = '';
  let stdout = '';
  const child: ResultPromise<Options> = execa('node', [cliPath, 'dev', '--port', '0', '--json', ...args], { cwd: dir, reject: false, env, stdin: 'ignore' } as Options);
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const ready = await waitFor('the dev server to be ready', () => {
    if (child.exitCode !== null && child.exitCode !== undefined) throw new Error(`dev exited: ${stderr}`);
    try {
      return JSON.parse(stdout) as { port: number; pid: number } & Record<string, unknown>;
    } catch {
      return undefined;
    }
  }, 90_000);
  return { child, port: ready.port, pid: ready.pid, result: ready, stderr: () => stderr };
}

/** SIGKILLs the dev process (if still running) and every recorded pid still alive. */
export async function killDev(dev: RunningDev | undefined, pids: Iterable<number>): Promise<void> {
  if (dev && dev.child.exitCode === null) {
    dev.child.kill('SIGKILL');
    await dev.child;
  }
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
}


/** The pids of the tenant processes `.sovereign/dev.json` lists, to end them by pid with dev. */
export function devTenantPids(dir: string): number[] {
  const state = JSON.parse(readFileSync(join(dir, '.sovereign', 'dev.json'), 'utf8')) as { tenants: Record<string, { pid?: number | null }> };
  return Object.values(state.tenants).flatMap((t) => (t.pid ? [t.pid] : []));
}
