/**
 * Per-tenant counters of the `dev` gateway: what the live view shows and what
 * `GET /_sovereign/dev/stats` returns.
 */

/** Bucket upper bounds in milliseconds: 2^(i/8) × 0.01 ms, about 9 % apart, up to ~10 min. */
const BOUNDS: number[] = (() => {
  const bounds: number[] = [];
  for (let i = 0; ; i += 1) {
    const bound = 0.01 * 2 ** (i / 8);
    bounds.push(bound);
    if (bound > 600_000) break;
  }
  return bounds;
})();

function bucketOf(ms: number): number {
  let lo = 0;
  let hi = BOUNDS.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (BOUNDS[mid]! >= ms) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** A log-bucketed latency histogram (about 9 % precision), cheap to record into. */
export class LatencyHistogram {
  readonly counts = new Uint32Array(BOUNDS.length);
  total = 0;

  record(ms: number): void {
    this.counts[bucketOf(Math.max(0, ms))]! += 1;
    this.total += 1;
  }

  add(other: LatencyHistogram): void {
    for (let i = 0; i < this.counts.length; i += 1) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
  }

  /** The `q` quantile (0–1) in milliseconds, as its bucket's upper bound; undefined when empty. */
  quantile(q: number): number | undefined {
    if (this.total === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i += 1) {
      seen += this.counts[i]!;
      if (seen >= rank) return BOUNDS[i]!;
    }
    return BOUNDS[BOUNDS.length - 1]!;
  }

  /** Adds `BOUNDS.length` counts stored from `offset` in a flat array (a per-minute slot). */
  addCounts(counts: Uint32Array, offset: number): void {
    for (let i = 0; i < this.counts.length; i += 1) {
      const n = counts[offset + i]!;
      this.counts[i]! += n;
      this.total += n;
    }
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
  }
}

/** Secret cache figures the runtime reports in its health document, when it does. */
export interface SecretCacheStats {
  hits: number;
  misses: number;
  /** hits / (hits + misses), 0–1; null before the first lookup. */
  hitRate: number | null;
}

/** One tenant's figures over the last `minutes` minutes (the current minute included). */
export interface WindowFigures {
  minutes: number;
  /** Start of the window: `minutes` minutes ago, or when counting began if that is later. */
  since: string;
  requests: number;
  errors: number;
  throttled: number;
  latencyMs: { p50: number | null; p99: number | null };
  /** Lookups the runtime reported during the window; null when it reported none. */
  secretCache: SecretCacheStats | null;
}

/**
 * One tenant's figures in `GET /_sovereign/dev/stats`:
 *
 * ```json
 * { "tenant": "acme", "status": "running", "pid": 4242, "restarts": 0, "environments": 1,
 *   "requests": 1200, "errors": 3, "throttled": 40, "statusClasses": { "2xx": 1150, "4xx": 47, "5xx": 3 },
 *   "ratePerSecond": 98.4, "latencyMs": { "p50": 1.2, "p99": 7.9, "recentP99": 6.1 },
 *   "secretCache": { "hits": 90, "misses": 4, "hitRate": 0.957 },
 *   "window": { "minutes": 15, "since": "2026-01-01T11:46:00.000Z", "requests": 800, "errors": 1,
 *               "throttled": 12, "latencyMs": { "p50": 1.1, "p99": 6.8 },
 *               "secretCache": { "hits": 30, "misses": 1, "hitRate": 0.968 } } }
 * ```
 *
 * `errors` counts 5xx answers (the function's and the gateway's own 502/503/504); `throttled`
 * counts the gateway's 429s, which are not errors. Latency is measured at the gateway, from the
 * request's arrival to the response's last byte; `recentP99` covers the last 10–20 s. The top-level
 * figures count since the dev server started; `window` covers the last {@link WINDOW_MINUTES}
 * minutes (secret cache lookups counted when health reports them, about every few seconds).
 */
export interface TenantStatsSnapshot {
  tenant: string;
  status: string;
  /** The oldest execution environment's pid; null while the tenant is scaled to zero. */
  pid: number | null;
  restarts: number;
  /** Execution environments running now (`dev` only). */
  environments?: number;
  requests: number;
  errors: number;
  throttled: number;
  statusClasses: Record<string, number>;
  ratePerSecond: number;
  latencyMs: { p50: number | null; p99: number | null; recentP99: number | null };
  secretCache: SecretCacheStats | null;
  /** The last minutes; absent where no per-minute figures exist. */
  window?: WindowFigures;
}

const WINDOW_SECONDS = 5;
/** Minutes kept per tenant, one slot each. */
export const MINUTE_SLOTS = 60;
/** The window `GET /_sovereign/dev/stats` reports. */
export const WINDOW_MINUTES = 15;

const round2 = (v: number | undefined): number | null => (v === undefined ? null : Math.round(v * 100) / 100);

function cacheStats(hits: number, misses: number): SecretCacheStats {
  const lookups = hits + misses;
  return { hits, misses, hitRate: lookups === 0 ? null : Math.round((hits / lookups) * 1000) / 1000 };
}

/**
 * The last {@link MINUTE_SLOTS} minutes of one tenant, one slot per minute, all memory allocated up
 * front: recording is a few array writes. A slot is tagged with the minute it holds and cleared
 * when a later minute first writes to it, so stale slots cost nothing until then and reads skip them.
 */
export class MinuteWindows {
  private readonly minuteOf = new Float64Array(MINUTE_SLOTS).fill(-1);
  private readonly requests = new Uint32Array(MINUTE_SLOTS);
  private readonly errors = new Uint32Array(MINUTE_SLOTS);
  private readonly throttled = new Uint32Array(MINUTE_SLOTS);
  private readonly cacheHits = new Float64Array(MINUTE_SLOTS);
  private readonly cacheMisses = new Float64Array(MINUTE_SLOTS);
  private readonly cacheReported = new Uint8Array(MINUTE_SLOTS);
  private readonly latency = new Uint32Array(MINUTE_SLOTS * BOUNDS.length);

  constructor(private readonly startedAt: number) {}

  /** The slot of the minute holding `now`, cleared first when it held an older minute. */
  private slot(now: number): number {
    const minute = Math.floor(now / 60_000);
    const slot = minute % MINUTE_SLOTS;
    if (this.minuteOf[slot] !== minute) {
      this.minuteOf[slot] = minute;
      this.requests[slot] = 0;
      this.errors[slot] = 0;
      this.throttled[slot] = 0;
      this.cacheHits[slot] = 0;
      this.cacheMisses[slot] = 0;
      this.cacheReported[slot] = 0;
      this.latency.fill(0, slot * BOUNDS.length, (slot + 1) * BOUNDS.length);
    }
    return slot;
  }

  record(status: number, latencyMs: number, now: number): void {
    const slot = this.slot(now);
    this.requests[slot]! += 1;
    if (status >= 500) this.errors[slot]! += 1;
    if (status === 429) this.throttled[slot]! += 1;
    this.latency[slot * BOUNDS.length + bucketOf(Math.max(0, latencyMs))]! += 1;
  }

  recordCache(hits: number, misses: number, now: number): void {
    const slot = this.slot(now);
    this.cacheHits[slot]! += hits;
    this.cacheMisses[slot]! += misses;
    this.cacheReported[slot] = 1;
  }

  /** The last `minutes` minutes (1–{@link MINUTE_SLOTS}), the current one included. */
  window(minutes: number, now: number): WindowFigures {
    const span = Math.min(MINUTE_SLOTS, Math.max(1, Math.floor(minutes)));
    const current = Math.floor(now / 60_000);
    const histogram = new LatencyHistogram();
    let requests = 0;
    let errors = 0;
    let throttled = 0;
    let hits = 0;
    let misses = 0;
    let reported = false;
    for (let slot = 0; slot < MINUTE_SLOTS; slot += 1) {
      const minute = this.minuteOf[slot]!;
      if (minute > current || minute <= current - span) continue;
      requests += this.requests[slot]!;
      errors += this.errors[slot]!;
      throttled += this.throttled[slot]!;
      hits += this.cacheHits[slot]!;
      misses += this.cacheMisses[slot]!;
      reported ||= this.cacheReported[slot] === 1;
      histogram.addCounts(this.latency, slot * BOUNDS.length);
    }
    return {
      minutes: span,
      since: new Date(Math.max(this.startedAt, (current - span + 1) * 60_000)).toISOString(),
      requests,
      errors,
      throttled,
      latencyMs: { p50: round2(histogram.quantile(0.5)), p99: round2(histogram.quantile(0.99)) },
      secretCache: reported ? cacheStats(hits, misses) : null,
    };
  }
}
const RECENT_MS = 10_000;

/** Counters of one tenant. */
export class TenantStats {
  requests = 0;
  errors = 0;
  throttled = 0;
  readonly statusClasses: Record<string, number> = {};
  readonly latency = new LatencyHistogram();
  private recent = new LatencyHistogram();
  private previous = new LatencyHistogram();
  private recentSince: number;
  /** Requests per whole second, a ring of the last few seconds. */
  private readonly perSecond = new Uint32Array(WINDOW_SECONDS + 1);
  private currentSecond: number;
  private cache: SecretCacheStats | null = null;
  readonly minutes: MinuteWindows;

  constructor(readonly tenant: string, now = Date.now()) {
    this.recentSince = now;
    this.currentSecond = Math.floor(now / 1000);
    this.minutes = new MinuteWindows(now);
  }

  /** The runtime's secret cache counters as health last reported them (since the runtime started). */
  get secretCache(): SecretCacheStats | null {
    return this.cache;
  }

  set secretCache(value: SecretCacheStats | null) {
    this.reportSecretCache(value);
  }

  /**
   * Takes a health report of the runtime's cumulative cache counters; what they gained since the
   * previous report counts in the current minute. Counters that went down mean a restarted runtime:
   * all of the new figures are new lookups.
   */
  reportSecretCache(value: SecretCacheStats | null, now = Date.now()): void {
    if (value !== null) {
      const previous = this.cache;
      const restarted = previous === null || value.hits < previous.hits || value.misses < previous.misses;
      const hits = restarted ? value.hits : value.hits - previous.hits;
      const misses = restarted ? value.misses : value.misses - previous.misses;
      this.minutes.recordCache(hits, misses, now);
    }
    this.cache = value;
  }

  private advance(now: number): void {
    const second = Math.floor(now / 1000);
    if (second !== this.currentSecond) {
      const steps = Math.min(second - this.currentSecond, this.perSecond.length);
      for (let i = 1; i <= steps; i += 1) this.perSecond[(this.currentSecond + i) % this.perSecond.length] = 0;
      this.currentSecond = second;
    }
    if (now - this.recentSince >= RECENT_MS) {
      const old = this.previous;
      this.previous = this.recent;
      old.reset();
      this.recent = old;
      this.recentSince = now;
    }
  }

  /** Records one answered request. */
  record(status: number, latencyMs: number, now = Date.now()): void {
    this.advance(now);
    this.requests += 1;
    this.perSecond[this.currentSecond % this.perSecond.length]! += 1;
    const klass = `${Math.floor(status / 100)}xx`;
    this.statusClasses[klass] = (this.statusClasses[klass] ?? 0) + 1;
    if (status === 429) this.throttled += 1;
    if (status >= 500) this.errors += 1;
    this.latency.record(latencyMs);
    this.recent.record(latencyMs);
    this.minutes.record(status, latencyMs, now);
  }

  /** Mean requests per second over the last complete seconds. */
  ratePerSecond(now = Date.now()): number {
    this.advance(now);
    let sum = 0;
    for (let i = 1; i <= WINDOW_SECONDS; i += 1) sum += this.perSecond[(this.currentSecond - i + this.perSecond.length * 2) % this.perSecond.length]!;
    return Math.round((sum / WINDOW_SECONDS) * 10) / 10;
  }

  snapshot(process: { status: string; pid: number | null; restarts: number; environments?: number }, now = Date.now(), windowMinutes = WINDOW_MINUTES): TenantStatsSnapshot {
    const rate = this.ratePerSecond(now);
    const merged = new LatencyHistogram();
    merged.add(this.recent);
    merged.add(this.previous);
    return {
      tenant: this.tenant,
      status: process.status,
      pid: process.pid,
      restarts: process.restarts,
      ...(process.environments === undefined ? {} : { environments: process.environments }),
      requests: this.requests,
      errors: this.errors,
      throttled: this.throttled,
      statusClasses: { ...this.statusClasses },
      ratePerSecond: rate,
      latencyMs: { p50: round2(this.latency.quantile(0.5)), p99: round2(this.latency.quantile(0.99)), recentP99: round2(merged.quantile(0.99)) },
      secretCache: this.cache,
      window: this.minutes.window(windowMinutes, now),
    };
  }
}

/**
 * Reads secret cache figures out of a runtime health document, whatever the exact nesting:
 * `secretCache: { hits, misses }` at the top level or under `secrets`/`cache`.
 */
export function secretCacheFromHealth(health: unknown): SecretCacheStats | null {
  if (!health || typeof health !== 'object') return null;
  const h = health as Record<string, unknown>;
  const candidates = [h.secretCache, (h.secrets as Record<string, unknown> | undefined)?.cache, h.cache, (h.secrets as Record<string, unknown> | undefined)];
  for (const candidate of candidates) {
    if (!candidate || typeof candidate !== 'object') continue;
    const c = candidate as Record<string, unknown>;
    if (typeof c.hits === 'number' && typeof c.misses === 'number') return cacheStats(c.hits, c.misses);
  }
  return null;
}
