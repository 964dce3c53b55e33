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

/**
 * One tenant's figures in `GET /_sovereign/dev/stats`:
 *
 * ```json
 * { "tenant": "acme", "status": "running", "pid": 4242, "restarts": 0,
 *   "requests": 1200, "errors": 3, "throttled": 40, "statusClasses": { "2xx": 1150, "4xx": 47, "5xx": 3 },
 *   "ratePerSecond": 98.4, "latencyMs": { "p50": 1.2, "p99": 7.9, "recentP99": 6.1 },
 *   "secretCache": { "hits": 90, "misses": 4, "hitRate": 0.957 } }
 * ```
 *
 * `errors` counts 5xx answers (the function's and the gateway's own 502/503/504); `throttled`
 * counts the gateway's 429s, which are not errors. Latency is measured at the gateway, from the
 * request's arrival to the response's last byte; `recentP99` covers the last 10–20 s.
 */
export interface TenantStatsSnapshot {
  tenant: string;
  status: string;
  pid: number | null;
  restarts: number;
  requests: number;
  errors: number;
  throttled: number;
  statusClasses: Record<string, number>;
  ratePerSecond: number;
  latencyMs: { p50: number | null; p99: number | null; recentP99: number | null };
  secretCache: SecretCacheStats | null;
}

const WINDOW_SECONDS = 5;
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
  secretCache: SecretCacheStats | null = null;

  constructor(readonly tenant: string, now = Date.now()) {
    this.recentSince = now;
    this.currentSecond = Math.floor(now / 1000);
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
  }

  /** Mean requests per second over the last complete seconds. */
  ratePerSecond(now = Date.now()): number {
    this.advance(now);
    let sum = 0;
    for (let i = 1; i <= WINDOW_SECONDS; i += 1) sum += this.perSecond[(this.currentSecond - i + this.perSecond.length * 2) % this.perSecond.length]!;
    return Math.round((sum / WINDOW_SECONDS) * 10) / 10;
  }

  snapshot(process: { status: string; pid: number | null; restarts: number }, now = Date.now()): TenantStatsSnapshot {
    const rate = this.ratePerSecond(now);
    const merged = new LatencyHistogram();
    merged.add(this.recent);
    merged.add(this.previous);
    const round = (v: number | undefined) => (v === undefined ? null : Math.round(v * 100) / 100);
    return {
      tenant: this.tenant,
      status: process.status,
      pid: process.pid,
      restarts: process.restarts,
      requests: this.requests,
      errors: this.errors,
      throttled: this.throttled,
      statusClasses: { ...this.statusClasses },
      ratePerSecond: rate,
      latencyMs: { p50: round(this.latency.quantile(0.5)), p99: round(this.latency.quantile(0.99)), recentP99: round(merged.quantile(0.99)) },
      secretCache: this.secretCache,
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
    if (typeof c.hits === 'number' && typeof c.misses === 'number') {
      const lookups = c.hits + c.misses;
      return { hits: c.hits, misses: c.misses, hitRate: lookups === 0 ? null : Math.round((c.hits / lookups) * 1000) / 1000 };
    }
  }
  return null;
}
