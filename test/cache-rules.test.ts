/**
 * The secret cache's time and size rules at their bounds, on an injected clock: the defaults,
 * one millisecond either side of each boundary, the counters, and invalidation.
 */
import { describe, expect, it } from 'vitest';
import { TtlCache, type CacheOptions } from '../src/runtime/cache.js';
import { SecretUnavailableError } from '../src/runtime/errors.js';
import { rejectionOf } from './helpers/errors.js';

/** A cache on a clock that moves only when told to. */
function cacheAt(options: CacheOptions = {}) {
  let t = 1_000_000;
  const errors: string[] = [];
  const cache = new TtlCache<string>({ now: () => t, onError: (key, error) => errors.push(`${key}: ${(error as Error).message}`), ...options });
  return { cache, errors, advance: (ms: number) => void (t += ms) };
}

const value = (v: string) => async () => v;
const failing = async (): Promise<string> => {
  throw new Error('backend down');
};
/** Lets a background refresh finish. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('TtlCache defaults', () => {
  it('a value is fresh for 300 s', async () => {
    const { cache, advance } = cacheAt();
    cache.set('k', 'v1');
    advance(299_999);
    expect(cache.getFresh('k')).toBe('v1');
    advance(1);
    expect(cache.getFresh('k')).toBeUndefined();
  });

  it('then served stale for 30 s while it refreshes, then loaded before answering', async () => {
    const { cache, advance } = cacheAt();
    cache.set('k', 'v1');
    advance(300_000 + 29_999);
    expect(await cache.get('k', value('v2'))).toBe('v1');
    await settle();
    expect(cache.getFresh('k')).toBe('v2');
    advance(300_000 + 30_000);
    expect(await cache.get('k', value('v3'))).toBe('v3');
    expect(cache.stats).toMatchObject({ staleServed: 1, loads: 2 });
  });

  it('and served on a backend failure up to 900 s past its TTL, not a millisecond more', async () => {
    const { cache, advance, errors } = cacheAt();
    cache.set('k', 'v1');
    advance(300_000 + 900_000);
    expect(await cache.get('k', failing)).toBe('v1');
    expect(errors).toEqual(['k: backend down']);
    advance(1);
    const error = await rejectionOf(cache.get('k', failing), SecretUnavailableError);
    expect(error.message).toBe('secret k is unavailable (cached value 900 s past its TTL, beyond the allowed staleness)');
    expect((error.cause as Error).message).toBe('backend down');
    expect(cache.stats.staleServed).toBe(1);
  });

  it('serves stale on a backend failure without an error listener too', async () => {
    let t = 0;
    const cache = new TtlCache<string>({ ttlMs: 1000, staleWhileRevalidateMs: 0, now: () => t });
    cache.set('k', 'v1');
    t = 5000;
    expect(await cache.get('k', failing)).toBe('v1');
  });

  it('tells the error listener about a failed background refresh, and keeps the value', async () => {
    const { cache, advance, errors } = cacheAt({ ttlMs: 1000, staleWhileRevalidateMs: 500 });
    cache.set('k', 'v1');
    advance(1200);
    expect(await cache.get('k', failing)).toBe('v1');
    await settle();
    expect(errors).toEqual(['k: backend down']);
    expect(cache.has('k')).toBe(true);
  });

  it('holds at most 1000 entries, and at least one whatever the option says', () => {
    const { cache } = cacheAt();
    for (let i = 0; i <= 1000; i += 1) cache.set(`k${i}`, 'v');
    expect(cache.size).toBe(1000);
    expect(cache.has('k0')).toBe(false);
    expect(cache.stats.evictions).toBe(1);
    const tiny = cacheAt({ maxEntries: 0 }).cache;
    tiny.set('a', 'v');
    tiny.set('b', 'v');
    expect(tiny.keys()).toEqual(['b']);
  });

  it('never serves stale-while-revalidate longer than the maximum staleness', async () => {
    const { cache, advance } = cacheAt({ ttlMs: 1000, staleWhileRevalidateMs: 50_000, maxStaleMs: 10_000 });
    cache.set('k', 'v1');
    advance(1000 + 10_000);
    // Past the capped window: the refresh is awaited.
    expect(await cache.get('k', value('v2'))).toBe('v2');
  });
});

describe('TtlCache counters and order', () => {
  it('counts hits, misses, loads and stale answers', async () => {
    const { cache, advance } = cacheAt({ ttlMs: 1000, staleWhileRevalidateMs: 500 });
    await cache.get('k', value('v1'));
    await cache.get('k', value('x'));
    cache.getFresh('k');
    cache.getFresh('missing');
    advance(1200);
    await cache.get('k', value('v2'));
    await settle();
    expect(cache.stats).toEqual({ hits: 2, misses: 1, loads: 2, staleServed: 1, evictions: 0 });
  });

  it('setting a held key again makes it the most recent', () => {
    const { cache } = cacheAt();
    for (const key of ['a', 'b', 'a']) cache.set(key, key);
    expect(cache.keys()).toEqual(['b', 'a']);
  });

  it('a fresh read moves a key to the most recently used end; a stale one does not count as fresh', () => {
    const { cache, advance } = cacheAt({ ttlMs: 1000 });
    for (const key of ['a', 'b', 'c']) cache.set(key, key);
    expect(cache.getFresh('a')).toBe('a');
    expect(cache.keys()).toEqual(['b', 'c', 'a']);
    expect(cache.getFresh('a')).toBe('a');
    expect(cache.keys()).toEqual(['b', 'c', 'a']);
    advance(1000);
    expect(cache.getFresh('b')).toBeUndefined();
    expect(cache.keys()).toEqual(['b', 'c', 'a']);
  });
});

describe('TtlCache invalidation', () => {
  it('drops the keys given, counting only those held', () => {
    const { cache } = cacheAt();
    cache.set('a', 'v');
    cache.set('b', 'v');
    expect(cache.invalidate(['a', 'zzz'])).toBe(1);
    expect(cache.keys()).toEqual(['b']);
    expect(cache.invalidate()).toBe(1);
    expect(cache.size).toBe(0);
  });

  it('a load running when everything is invalidated does not store its value', async () => {
    const { cache } = cacheAt();
    let finish!: (v: string) => void;
    const loading = cache.get('k', () => new Promise<string>((resolve) => (finish = resolve)));
    await settle();
    cache.invalidate();
    finish('old');
    expect(await loading).toBe('old');
    expect(cache.has('k')).toBe(false);
    expect(await cache.get('k', value('new'))).toBe('new');
  });

  it('after an invalidation, the old load finishing does not stop later callers sharing the new one', async () => {
    const { cache } = cacheAt();
    const finishes: Array<(v: string) => void> = [];
    const slow = () => new Promise<string>((resolve) => finishes.push(resolve));
    const first = cache.get('k', slow);
    await settle();
    cache.invalidate(['k']);
    const second = cache.get('k', slow);
    await settle();
    finishes[0]!('old');
    await first;
    const third = cache.get('k', slow);
    await settle();
    expect(finishes).toHaveLength(2);
    finishes[1]!('new');
    expect(await Promise.all([second, third])).toEqual(['new', 'new']);
    expect(cache.stats.loads).toBe(2);
  });

  it('a value invalidated while its failing refresh runs is unavailable, without a staleness figure', async () => {
    const { cache, advance } = cacheAt({ ttlMs: 1000, staleWhileRevalidateMs: 0 });
    cache.set('k', 'v1');
    advance(2000);
    const failed = cache.get('k', async () => {
      cache.invalidate(['k']);
      throw new Error('backend down');
    });
    const error = await rejectionOf(failed, SecretUnavailableError);
    expect(error.message).toBe('secret k is unavailable');
  });
});
