/**
 * `sovereign dev` stops when told, at any moment, and takes everything it started with it:
 * - SIGTERM while 20 tenants (two distinct extension sets, `--warm`: one environment each at start)
 *   are still being built and started: dev
 *   spawns nothing more, and within 10 s every process it started (tenant hosts, esbuild) is gone
 *   by pid, its port is free and dev.json is removed;
 * - Ctrl-C (SIGINT) while the first artifact is still building: the same;
 * - (on the way) 20 tenants with two extension sets cost two esbuild builds, and esbuild's service
 *   is stopped once idle;
 * - the process that launched it is killed (`sovereign dev &` from a shell that goes away): dev
 *   notices its parent is gone and stops the same way.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa, type Options, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, makeProject, runCli } from './helpers/cli.js';
import { alive } from './helpers/dev.js';
import { waitFor, write } from './helpers/wait.js';

const PROBE_MANIFEST = `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({ name: 'probe', version: '1.0.0', description: 'answers', routes: [{ method: 'GET', path: '/ping', handler: 'ping', auth: 'public' }] });
`;
const MARKER_MANIFEST = `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({ name: 'marker', version: '1.0.0', description: 'the second set', routes: [{ method: 'GET', path: '/mark', handler: 'mark', auth: 'public' }] });
`;
const ANSWER = `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async () => ({ ok: true }));
`;
const TENANTS = 20;
const STOP_WITHIN_MS = 10_000;

let dir: string;
const env = { NO_COLOR: '1', SOVEREIGN_ACTOR: 'test@host', SOVEREIGN_LOCK_WAIT_MS: '5000', CI: '1' };
/** Every pid any test here saw, killed at the end whatever happened. */
const seen = new Set<number>();

/** Every live descendant of `pid` with its command line. */
function descendants(pid: number): Map<number, string> {
  const out = new Map<number, string>();
  const visit = (parent: number) => {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${parent}/task`);
    } catch {
      return;
    }
    for (const task of tasks) {
      let children: number[] = [];
      try {
        children = readFileSync(`/proc/${parent}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
      } catch {
        continue;
      }
      for (const child of children) {
        if (out.has(child)) continue;
        let command = '';
        try {
          command = readFileSync(`/proc/${child}/cmdline`, 'utf8').replace(/\0/g, ' ');
        } catch {
          // gone meanwhile
        }
        out.set(child, command);
        visit(child);
      }
    }
  };
  visit(pid);
  return out;
}

/** Watches a dev process's tree until stopped: every pid it ever had, by kind. */
function watchTree(pid: number) {
  const pids = new Map<number, string>();
  let stop = false;
  const done = (async () => {
    while (!stop) {
      for (const [child, command] of descendants(pid)) {
        pids.set(child, command);
        seen.add(child);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const hosts = () => [...pids].filter(([, command]) => command.includes('host.js')).map(([p]) => p);
  const esbuild = () => [...pids].filter(([, command]) => /esbuild/.test(command)).map(([p]) => p);
  return { pids, hosts, esbuild, stop: async () => ((stop = true), await done) };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function startDev(): { child: ResultPromise<Options>; stdout: () => string } {
  let stdout = '';
  // --warm: every tenant's first environment starts with dev, so a signal can land mid-startup.
  const child: ResultPromise<Options> = execa('node', [cliPath, 'dev', '--port', '0', '--json', '--no-throttle', '--warm'], { cwd: dir, reject: false, env, stdin: 'ignore' } as Options);
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', () => undefined);
  seen.add(child.pid!);
  return { child, stdout: () => stdout };
}

const devPort = () => waitFor('dev.json', () => (existsSync(join(dir, '.sovereign', 'dev.json')) ? (JSON.parse(readFileSync(join(dir, '.sovereign', 'dev.json'), 'utf8')) as { port: number }).port : undefined), 60_000);

/** Asserts that every pid is gone, the port is free and dev.json removed; returns how long it took. */
async function expectAllGone(pids: Iterable<number>, port: number): Promise<void> {
  const left = await waitFor('every started process to be gone', () => ([...pids].every((p) => !alive(p)) ? true : undefined), STOP_WITHIN_MS).catch(() => [...pids].filter(alive));
  expect(left, 'pids still alive').toBe(true);
  expect(await portFree(port)).toBe(true);
  expect(existsSync(join(dir, '.sovereign', 'dev.json'))).toBe(false);
}

beforeAll(async () => {
  dir = await makeProject();
  write(join(dir, 'extensions', 'probe', 'extension.ts'), PROBE_MANIFEST);
  write(join(dir, 'extensions', 'probe', 'handlers', 'ping.ts'), ANSWER);
  write(join(dir, 'extensions', 'marker', 'extension.ts'), MARKER_MANIFEST);
  write(join(dir, 'extensions', 'marker', 'handlers', 'mark.ts'), ANSWER);
  const configFile = join(dir, 'sovereign.config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  for (const [half, extensions] of [[0, ['probe']], [1, ['probe', 'marker']]] as const) {
    writeFileSync(configFile, JSON.stringify({ ...config, defaults: { tier: 'basic', extensions } }, null, 2));
    for (let i = 0; i < TENANTS / 2; i += 1) {
      const created = await runCli(['tenant', 'create', `t${half}x${i}`, '--no-deploy'], { cwd: dir, env });
      expect(created.exitCode, created.stderr).toBe(0);
    }
  }
}, 240_000);

afterAll(() => {
  for (const pid of seen) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

describe('sovereign dev stops when told', { timeout: 120_000 }, () => {
  it(`ends within 10 s on SIGTERM while ${TENANTS} tenants are still starting, and spawns nothing more`, async () => {
    const dev = startDev();
    const tree = watchTree(dev.child.pid!);
    const port = await devPort();
    // Some tenants started, not all: dev is in the middle of its startup.
    await waitFor('a few tenant processes', () => (tree.hosts().length >= 3 ? true : undefined), 90_000);
    expect(dev.stdout()).toBe('');
    const signalled = Date.now();
    dev.child.kill('SIGTERM');
    const hostsAtSignal = tree.hosts().length;
    const result = await Promise.race([dev.child, new Promise<undefined>((r) => setTimeout(() => r(undefined), STOP_WITHIN_MS))]);
    const took = Date.now() - signalled;
    await tree.stop();
    expect(result, `dev still running ${took} ms after SIGTERM`).toBeDefined();
    expect(result!.exitCode).toBe(0);
    // It never finished starting, and started (nearly) nothing after it was told.
    expect(dev.stdout()).toBe('');
    expect(tree.hosts().length).toBeLessThan(TENANTS);
    expect(tree.hosts().length).toBeLessThanOrEqual(hostsAtSignal + 2);
    await expectAllGone([dev.child.pid!, ...tree.pids.keys()], port);
  });

  it('ends within 10 s on SIGINT while the first artifact is still building, esbuild with it', async () => {
    const dev = startDev();
    const tree = watchTree(dev.child.pid!);
    const port = await devPort();
    await waitFor('esbuild to run', () => (tree.esbuild().length > 0 ? true : undefined), 60_000);
    dev.child.kill('SIGINT');
    const hostsAtSignal = tree.hosts().length;
    const result = await Promise.race([dev.child, new Promise<undefined>((r) => setTimeout(() => r(undefined), STOP_WITHIN_MS))]);
    await tree.stop();
    expect(result, 'dev still running 10 s after SIGINT').toBeDefined();
    expect(result!.exitCode).toBe(0);
    expect(dev.stdout()).toBe('');
    expect(tree.hosts().length).toBeLessThanOrEqual(hostsAtSignal + 2);
    await expectAllGone([dev.child.pid!, ...tree.pids.keys()], port);
  });

  it('ends within 10 s when the process that launched it is killed', async () => {
    // A launcher like `npx sovereign dev &`: dev's stdout is the launcher's, the launcher is killed.
    const launcher = spawn(process.execPath, ['-e', `require('child_process').spawn(process.execPath, ${JSON.stringify([cliPath, 'dev', '--port', '0', '--json', '--no-throttle', '--warm'])}, { stdio: ['ignore', 'inherit', 'ignore'] }); setInterval(() => {}, 1000);`], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
    seen.add(launcher.pid!);
    let stdout = '';
    launcher.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const ready = await waitFor('dev to be ready', () => {
      try {
        return JSON.parse(stdout) as { pid: number; port: number; builds: { built: number; shared: number } };
      } catch {
        return undefined;
      }
    }, 120_000);
    seen.add(ready.pid);
    const tree = descendants(ready.pid);
    for (const pid of tree.keys()) seen.add(pid);
    expect([...tree.values()].filter((c) => c.includes('host.js'))).toHaveLength(TENANTS);
    // Two distinct extension sets: two builds, the other tenants shared them; esbuild is let go once idle.
    expect(ready.builds).toEqual({ built: 2, shared: TENANTS - 2 });
    const state = JSON.parse(readFileSync(join(dir, '.sovereign', 'dev.json'), 'utf8')) as { tenants: Record<string, { artifact: string }> };
    expect(new Set(Object.values(state.tenants).map((t) => t.artifact)).size).toBe(2);
    await waitFor('esbuild to be stopped', () => ([...descendants(ready.pid).values()].some((c) => /esbuild/.test(c)) ? undefined : true), 5000);
    launcher.kill('SIGKILL');
    await expectAllGone([ready.pid, ...tree.keys()], ready.port);
  });
});
