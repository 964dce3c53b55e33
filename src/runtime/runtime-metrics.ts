/**
 * The runtime's own figures per tenant, as CloudWatch Embedded Metric Format: how many requests it
 * served, how many it answered with a 5xx, and how its secret cache fared on route traffic.
 * Namespace `Sovereign`, one dimension set `[Stage, Tenant]`, so `GetMetricData` can read a
 * tenant's figures whatever its extensions and routes (`sovereign tenant status` and `top` on aws
 * do), and two stages in one account never mix.
 *
 * Counting is two increments per request; the counts go out as one EMF line at most every
 * {@link RUNTIME_METRICS_FLUSH_MS}, on a request (an idle environment may be frozen, so no timer),
 * stamped with the time of the last request counted.
 */
import type { LineWriter } from './log.js';
import { METRICS_NAMESPACE } from './metrics.js';

export const RUNTIME_METRICS_FLUSH_MS = 10_000;

/** The metric names, as `GetMetricData` asks for them. */
export const RUNTIME_METRIC_NAMES = { requests: 'Requests', errors: 'Errors', cacheHits: 'SecretCacheHits', cacheMisses: 'SecretCacheMisses' } as const;

export interface CacheTraffic {
  hits: number;
  misses: number;
}

export class RuntimeMetrics {
  private requests = 0;
  private errors = 0;
  private lastRequestAt = 0;
  private nextFlush: number;
  private flushedCache: CacheTraffic = { hits: 0, misses: 0 };

  constructor(
    private readonly tenant: string,
    private readonly stage: string,
    private readonly write: LineWriter,
    /** Cumulative cache lookups of route traffic. */
    private readonly cacheTraffic: () => CacheTraffic,
    now: number,
    private readonly intervalMs = RUNTIME_METRICS_FLUSH_MS,
  ) {
    this.nextFlush = now + intervalMs;
  }

  /** Counts a request arriving at `now` (and writes what was counted before, when it is time). */
  request(now: number): void {
    if (now >= this.nextFlush) this.flush(now);
    this.requests++;
    this.lastRequestAt = now;
  }

  /** Counts a 5xx answer. */
  error(): void {
    this.errors++;
  }

  /** Writes the counts since the last flush as one EMF line (nothing when nothing happened). */
  flush(now: number): void {
    this.nextFlush = now + this.intervalMs;
    const cache = this.cacheTraffic();
    const hits = cache.hits - this.flushedCache.hits;
    const misses = cache.misses - this.flushedCache.misses;
    if (this.requests === 0 && this.errors === 0 && hits === 0 && misses === 0) return;
    const names = RUNTIME_METRIC_NAMES;
    this.write(
      JSON.stringify({
        _aws: {
          Timestamp: this.lastRequestAt || now,
          CloudWatchMetrics: [
            {
              Namespace: METRICS_NAMESPACE,
              Dimensions: [['Stage', 'Tenant']],
              Metrics: [names.requests, names.errors, names.cacheHits, names.cacheMisses].map((Name) => ({ Name, Unit: 'Count' })),
            },
          ],
        },
        Tenant: this.tenant,
        Stage: this.stage,
        [names.requests]: this.requests,
        [names.errors]: this.errors,
        [names.cacheHits]: hits,
        [names.cacheMisses]: misses,
      }),
    );
    this.requests = 0;
    this.errors = 0;
    this.flushedCache = { hits: cache.hits, misses: cache.misses };
  }
}
