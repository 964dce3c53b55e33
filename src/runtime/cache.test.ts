import { describe, expect, it } from 'vitest';
import { TtlCache } from './cache.js';
import { SecretUnavailableError } from './errors.js';

function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

describe('TtlCache', () => {
  it('serves a loaded value until its TTL and loads again after it', async () => {
    const clock = fakeClock();
    const cache = new TtlCache<string>({ ttlMs: 1000, staleWhileRevalidateMs: 0, now: clock.now });
    let calls = 0;
    const load = async () => `v${++calls}`;
    expect(await cache.get('k', load)).toBe('v1');
    clock.advance(999);
    expect(await cache.get('k', load)).toBe('v1');
    clock.advance(1);
    expect(await cache.get('k', load)).toBe('v2');
    expect(calls).toBe(2);
  });

  it('evicts the least recently used entry beyond the cap', async () => {
    const cache = new TtlCache<string>({ maxEntries: 3 });
    for (const key of ['a', 'b', 'c']) await cache.get(key, async () => key);
    await cache.get('a', async () => 'never'); // a becomes most recent
    await cache.get('d', async () => 'd');
    expect(cache.keys()).toEqual(['c', 'a', 'd']);
    expect(cache.has('b')).toBe(false);
    await cache.get('e', async () => 'e');
    expect(cache.keys()).toEqual(['a', 'd', 'e']);
    expect(cache.stats.evictions).toBe(2);
  });

  it('shares one backend call among concurrent misses', async () => {
    const cache = new TtlCache<string>();
    const gate = deferred<string>();
    let calls = 0;
    const load = () => { calls++; return gate.promise; };
    const all = Promise.all(Array.from({ length: 1000 }, () => cache.get('k', load)));
    gate.resolve('value');
    expect(new Set(await all)).toEqual(new Set(['value']));
    expect(calls).toBe(1);
  });

  it('shares one failure among concurrent misses and caches nothing', async () => {
    const cache = new TtlCache<string>();
    let calls = 0;
    const load = async () => { calls++; throw new Error('backend down'); };
    const results = await Promise.allSettled([cache.get('k', load), cache.get('k', load), cache.get('k', load)]);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(calls).toBe(1);
    expect(cache.has('k')).toBe(false);
  });

  it('serves stale while one background refresh runs', async () => {
    const clock = fakeClock();
    const cache = new TtlCache<string>({ ttlMs: 1000, staleWhileRevalidateMs: 5000, now: clock.now });
    await cache.get('k', async () => 'old');
    clock.advance(1500);
    const gate = deferred<string>();
    let calls = 0;
    const load = () => { calls++; return gate.promise; };
    expect(await cache.get('k', load)).toBe('old');
    expect(await cache.get('k', load)).toBe('old');
    expect(calls).toBe(1);
    gate.resolve('new');
    await gate.promise;
    await new Promise((r) => setImmediate(r));
    expect(await cache.get('k', load)).toBe('new');
  });

  it('serves stale on error up to the maximum staleness, then fails cleanly', async () => {
    const clock = fakeClock();
    const errors: unknown[] = [];
    const cache = new TtlCache<string>({ ttlMs: 1000, staleWhileRevalidateMs: 0, maxStaleMs: 10_000, now: clock.now, onError: (_k, e) => errors.push(e) });
    await cache.get('k', async () => 'good');
    const failing = async (): Promise<string> => { throw new Error('throttled'); };
    clock.advance(1000 + 10_000); // exactly at the bound
    expect(await cache.get('k', failing)).toBe('good');
    expect(errors).toHaveLength(1);
    clock.advance(1);
    const error = await cache.get('k', failing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect((error as SecretUnavailableError).status).toBe(503);
    expect((error as Error).cause).toBeInstanceOf(Error);
    // A successful load afterwards recovers.
    expect(await cache.get('k', async () => 'fresh')).toBe('fresh');
  });

  it('invalidates keys: the next get loads, and a load in flight does not store its stale result', async () => {
    const cache = new TtlCache<string>();
    await cache.get('a', async () => 'a1');
    await cache.get('b', async () => 'b1');
    expect(cache.invalidate(['a', 'missing'])).toBe(1);
    expect(await cache.get('a', async () => 'a2')).toBe('a2');
    expect(await cache.get('b', async () => 'b2')).toBe('b1');

    const gate = deferred<string>();
    const pending = cache.get('c', () => gate.promise);
    await new Promise((r) => setImmediate(r));
    cache.invalidate(['c']);
    gate.resolve('c-old');
    expect(await pending).toBe('c-old');
    expect(cache.has('c')).toBe(false);
    expect(await cache.get('c', async () => 'c-new')).toBe('c-new');

    expect(cache.invalidate()).toBe(3);
    expect(cache.size).toBe(0);
  });

  it('does not wedge on a loader that throws synchronously', async () => {
    const cache = new TtlCache<string>();
    const load = (): Promise<string> => { throw new Error('sync'); };
    await expect(cache.get('k', load)).rejects.toThrow('sync');
    expect(await cache.get('k', async () => 'ok')).toBe('ok');
  });
});
