/**
 * The one cache core behind every secret the runtime resolves: per-key TTL, LRU cap on entries,
 * single-flight loading, stale-while-revalidate, stale-if-error within a maximum staleness, and
 * explicit invalidation. The clock is injectable so its time rules are tested without waiting.
 */
import { SecretUnavailableError } from './errors.js';

export interface CacheOptions {
  /** Time to live of a loaded value (default 300 000 ms). */
  ttlMs?: number;
  /** Maximum number of entries; the least recently used is evicted beyond it (default 1 000). */
  maxEntries?: number;
  /**
   * How long past its TTL a value is still served while one background refresh runs
   * (stale-while-revalidate; default 30 000 ms, 0 disables it).
   */
  staleWhileRevalidateMs?: number;
  /**
   * How long past its TTL a value may still be served when the backend fails (stale-if-error);
   * beyond it the cache throws `SecretUnavailableError` (default 900 000 ms).
   */
  maxStaleMs?: number;
  /** Milliseconds clock (default `Date.now`). */
  now?: () => number;
  /** Told about backend failures that were absorbed (stale value served, background refresh failed). */
  onError?: (key: string, error: unknown) => void;
}

interface Entry<V> {
  value: V;
  expiresAt: number;
}

/** Counters for benchmarks and health. */
export interface CacheStats {
  hits: number;
  misses: number;
  loads: number;
  staleServed: number;
  evictions: number;
}

export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private lastTouched: string | undefined;
  private readonly inflight = new Map<string, Promise<V>>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly swrMs: number;
  private readonly maxStaleMs: number;
  private readonly now: () => number;
  private readonly onError: ((key: string, error: unknown) => void) | undefined;
  readonly stats: CacheStats = { hits: 0, misses: 0, loads: 0, staleServed: 0, evictions: 0 };

  constructor(options: CacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 300_000;
    this.maxEntries = Math.max(1, options.maxEntries ?? 1_000);
    this.maxStaleMs = options.maxStaleMs ?? 900_000;
    this.swrMs = Math.min(options.staleWhileRevalidateMs ?? 30_000, this.maxStaleMs);
    this.now = options.now ?? Date.now;
    this.onError = options.onError;
  }

  /** Number of entries held. */
  get size(): number {
    return this.entries.size;
  }

  /** Keys from least to most recently used. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** Whether a value (fresh or stale) is held for `key`. */
  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** The value for `key` when a fresh one is held (counts as a hit and refreshes its LRU position). */
  getFresh(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || this.now() >= entry.expiresAt) return undefined;
    this.touch(key, entry);
    this.stats.hits++;
    return entry.value;
  }

  /**
   * The value for `key`: fresh from the cache, stale while one refresh runs, or loaded with
   * `load` — concurrent callers of a missing key share one `load` call.
   */
  async get(key: string, load: () => Promise<V>): Promise<V> {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.stats.misses++;
      return this.load(key, load);
    }
    this.touch(key, entry);
    const overdue = this.now() - entry.expiresAt;
    if (overdue < 0) {
      this.stats.hits++;
      return entry.value;
    }
    if (overdue < this.swrMs) {
      this.stats.staleServed++;
      this.load(key, load).catch((error: unknown) => this.onError?.(key, error));
      return entry.value;
    }
    try {
      return await this.load(key, load);
    } catch (error) {
      // The entry may have been replaced or invalidated while loading: judge the one held now.
      const held = this.entries.get(key);
      if (held === undefined) throw new SecretUnavailableError(key, { cause: error });
      const staleMs = this.now() - held.expiresAt;
      if (staleMs <= this.maxStaleMs) {
        this.stats.staleServed++;
        this.onError?.(key, error);
        return held.value;
      }
      throw new SecretUnavailableError(key, { cause: error, staleMs });
    }
  }

  /** Stores a value as freshly loaded. */
  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
    this.lastTouched = key;
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      this.stats.evictions++;
    }
  }

  /**
   * Forgets the given keys (all when omitted): the next `get` loads again and never serves the
   * forgotten value, and a load already running for them does not store its result.
   * Returns how many held values were dropped.
   */
  invalidate(keys?: Iterable<string>): number {
    let dropped = 0;
    this.lastTouched = undefined;
    if (keys === undefined) {
      dropped = this.entries.size;
      this.entries.clear();
      this.inflight.clear();
      return dropped;
    }
    for (const key of keys) {
      if (this.entries.delete(key)) dropped++;
      this.inflight.delete(key);
    }
    return dropped;
  }

  private touch(key: string, entry: Entry<V>): void {
    // Already the most recent: skip the delete/insert (the common case for a hot key).
    if (this.lastTouched === key) return;
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.lastTouched = key;
  }

  private load(key: string, load: () => Promise<V>): Promise<V> {
    const running = this.inflight.get(key);
    if (running) return running;
    this.stats.loads++;
    let promise: Promise<V> | undefined;
    promise = (async () => {
      // Yield once so `promise` is registered before `load` runs, even if it throws synchronously.
      await undefined;
      try {
        const value = await load();
        // Store only if this load was not invalidated meanwhile.
        if (this.inflight.get(key) === promise) this.set(key, value);
        return value;
      } finally {
        if (this.inflight.get(key) === promise) this.inflight.delete(key);
      }
    })();
    this.inflight.set(key, promise);
    return promise;
  }
}
