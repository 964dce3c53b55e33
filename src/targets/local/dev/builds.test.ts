import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { artifactBuildKey, ArtifactBuilds, BuildsClosedError } from './builds.js';

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('artifactBuildKey', () => {
  it('is the same for the same inputs in any order, and changes with a source, the runtime or the set', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sovereign-builds-'));
    for (const name of ['a', 'b']) {
      mkdirSync(join(dir, name, 'handlers'), { recursive: true });
      writeFileSync(join(dir, name, 'extension.ts'), `export default ${JSON.stringify(name)};\n`);
    }
    const runtimeEntry = join(dir, 'runtime.js');
    writeFileSync(runtimeEntry, 'export {};\n');
    const key = (extensions: string[], lambdaRuntime: 'nodejs22.x' | 'nodejs24.x' = 'nodejs24.x') => artifactBuildKey({ extensionsDir: dir, extensions, lambdaRuntime, runtimeEntry });
    const first = key(['a', 'b']);
    expect(key(['b', 'a'])).toBe(first);
    expect(key(['a'])).not.toBe(first);
    expect(key(['a', 'b'], 'nodejs22.x')).not.toBe(first);
    writeFileSync(join(dir, 'b', 'handlers', 'x.ts'), 'export const handler = 1;\n');
    expect(key(['a', 'b'])).not.toBe(first);
  });
});

describe('ArtifactBuilds', () => {
  it('builds each key once, shares it with every tenant asking meanwhile, and runs at most two at once', async () => {
    let running = 0;
    let peak = 0;
    const calls: string[] = [];
    const builds = new ArtifactBuilds<string>({ concurrency: 2, idleMs: 10_000, stopService: async () => undefined });
    const build = (key: string) => async () => {
      calls.push(key);
      running += 1;
      peak = Math.max(peak, running);
      await later(20);
      running -= 1;
      return `artifact of ${key}`;
    };
    const asked = Array.from({ length: 40 }, (_, i) => `set-${i % 5}`);
    const results = await Promise.all(asked.map((key) => builds.get(key, build(key))));
    expect(results).toEqual(asked.map((key) => `artifact of ${key}`));
    expect(calls.sort()).toEqual(['set-0', 'set-1', 'set-2', 'set-3', 'set-4']);
    expect(peak).toBe(2);
    expect(builds.counts).toMatchObject({ built: 5, shared: 35, peakRunning: 2 });
    // Done is done: a later tenant gets it without a build.
    expect(await builds.get('set-3', build('set-3'))).toBe('artifact of set-3');
    expect(calls).toHaveLength(5);
    await builds.close();
  });

  it('forgets a failed build, so the next request tries again', async () => {
    const builds = new ArtifactBuilds<string>({ stopService: async () => undefined });
    await expect(builds.get('k', async () => Promise.reject(new Error('syntax error')))).rejects.toThrow('syntax error');
    expect(await builds.get('k', async () => 'fixed')).toBe('fixed');
    await builds.close();
  });

  it('stops esbuild\'s service once no build ran for idleMs, and not while one runs', async () => {
    let stops = 0;
    const builds = new ArtifactBuilds<string>({ concurrency: 1, idleMs: 30, stopService: async () => void (stops += 1) });
    await builds.get('a', async () => {
      await later(80);
      return 'a';
    });
    expect(stops).toBe(0);
    await later(60);
    expect(stops).toBe(1);
    // Nothing built since: no second stop.
    await later(60);
    expect(stops).toBe(1);
    await builds.close();
  });

  it('refuses the waiting tenants and stops the service when closed', async () => {
    let stops = 0;
    const builds = new ArtifactBuilds<string>({ concurrency: 1, stopService: async () => void (stops += 1) });
    let release: () => void = () => undefined;
    const first = builds.get('a', () => new Promise<string>((resolve) => (release = () => resolve('a'))));
    const second = builds.get('b', async () => 'b');
    await later(5);
    await builds.close();
    await expect(second).rejects.toBeInstanceOf(BuildsClosedError);
    await expect(builds.get('c', async () => 'c')).rejects.toBeInstanceOf(BuildsClosedError);
    expect(stops).toBe(1);
    release();
    expect(await first).toBe('a');
  });
});
