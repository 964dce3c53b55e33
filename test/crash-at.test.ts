/**
 * The crash preload itself: which calls it numbers (ESM named imports and the promise API
 * included), and that it kills exactly before or exactly after the chosen one.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { crashAtPath } from './helpers/crash-points.js';

const root = mkdtempSync(join(tmpdir(), 'sovereign-crash-at-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** An ESM script touching files inside and outside `.sovereign/` the way the CLI does. */
const SCRIPT = `
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const state = join(process.cwd(), '.sovereign');
mkdirSync(join(state, 'd'), { recursive: true });
writeFileSync(join(tmpdir(), 'crash-at-outside-' + process.pid), 'not counted');
unlinkSync(join(tmpdir(), 'crash-at-outside-' + process.pid));
const fd = openSync(join(state, 'd', '.tmp-a'), 'wx');
writeSync(fd, 'a');
fsyncSync(fd);
closeSync(fd);
readFileSync(join(state, 'd', '.tmp-a'));
renameSync(join(state, 'd', '.tmp-a'), join(state, 'd', 'a'));
const dir = openSync(join(state, 'd'), 'r');
fsyncSync(dir);
closeSync(dir);
await writeFile(join(state, 'b'), 'b');
rmSync(join(state, 'b'));
process.stdout.write('done');
`;

async function run(env: Record<string, string>): Promise<{ signal: string | undefined; stdout: string; trace: Array<{ n: number; call: string; path: string }>; dir: string }> {
  const dir = mkdtempSync(join(root, 'p-'));
  mkdirSync(join(dir, '.sovereign'));
  writeFileSync(join(dir, 'script.mjs'), SCRIPT);
  const trace = join(dir, 'trace.jsonl');
  const result = await execa('node', ['script.mjs'], {
    cwd: dir,
    reject: false,
    env: { NODE_OPTIONS: `--require ${crashAtPath}`, SOVEREIGN_CRASH_TRACE: trace, ...env },
  });
  const lines = existsSync(trace) ? readFileSync(trace, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  return { signal: result.signal, stdout: String(result.stdout), trace: lines, dir };
}

describe('crash-at preload', () => {
  it('numbers the mutating calls inside .sovereign/ only, ESM imports and promises included', async () => {
    const { signal, stdout, trace } = await run({});
    expect(signal).toBeUndefined();
    expect(stdout).toBe('done');
    const state = join(trace[0]!.path, '..');
    expect(trace.map((p) => `${p.call} ${p.path.split(state).join('.sovereign')}`)).toEqual([
      'mkdirSync .sovereign/d',
      'openSync .sovereign/d/.tmp-a',
      'writeSync .sovereign/d/.tmp-a',
      'fsyncSync .sovereign/d/.tmp-a',
      'renameSync .sovereign/d/.tmp-a -> .sovereign/d/a',
      'fsyncSync .sovereign/d',
      'promises.writeFile .sovereign/b',
      'rmSync .sovereign/b',
      // node 20 implements rmSync with the module's own unlinkSync/rmdirSync: a crash half-way
      // through removing a folder is a point of its own
      ...(trace.length === 9 ? ['unlinkSync .sovereign/b'] : []),
    ]);
    expect(trace.map((p) => p.n)).toEqual(trace.map((_, i) => i + 1));
  });

  it('kills just before the chosen call, or just after it', async () => {
    const before = await run({ SOVEREIGN_CRASH_AT: '5' });
    expect(before.signal).toBe('SIGKILL');
    expect(before.trace).toHaveLength(5);
    expect(existsSync(join(before.dir, '.sovereign', 'd', '.tmp-a'))).toBe(true);
    expect(existsSync(join(before.dir, '.sovereign', 'd', 'a'))).toBe(false);

    const after = await run({ SOVEREIGN_CRASH_AT: '5', SOVEREIGN_CRASH_WHEN: 'after' });
    expect(after.signal).toBe('SIGKILL');
    expect(after.trace).toHaveLength(5);
    expect(existsSync(join(after.dir, '.sovereign', 'd', '.tmp-a'))).toBe(false);
    expect(readFileSync(join(after.dir, '.sovereign', 'd', 'a'), 'utf8')).toBe('a');

    const promised = await run({ SOVEREIGN_CRASH_AT: '7', SOVEREIGN_CRASH_WHEN: 'after' });
    expect(promised.signal).toBe('SIGKILL');
    expect(readFileSync(join(promised.dir, '.sovereign', 'b'), 'utf8')).toBe('b');
  });
});
