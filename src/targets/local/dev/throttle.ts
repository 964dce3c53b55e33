/**
 * Per-tenant token buckets with the tier's API limits: the same `rateLimit`/`burstLimit` numbers
 * the aws template gives the tenant's HTTP API stage (`src/templates/tiers.ts`).
 */
import { TIERS, type Tier } from '../../../templates/tiers.js';

export interface ThrottleDecision {
  allowed: boolean;
  /** When refused: whole seconds until a token is back (at least 1), for `Retry-After`. */
  retryAfterSeconds: number;
}

/** A token bucket: `burst` tokens at most, refilled at `rate` tokens per second. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(readonly rate: number, readonly burst: number, now = performance.now()) {
    if (!(rate > 0) || !(burst >= 1)) throw new Error(`a token bucket needs rate > 0 and burst ≥ 1 (got ${rate}, ${burst})`);
    this.tokens = burst;
    this.last = now;
  }

  /** Takes one token if there is one. `now` is in milliseconds (monotonic). */
  take(now = performance.now()): ThrottleDecision {
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { allowed: true, retryAfterSeconds: 0 };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - this.tokens) / this.rate)) };
  }

  /** Tokens available now (for display and tests). */
  available(now = performance.now()): number {
    const elapsed = Math.max(0, now - this.last);
    return Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
  }
}

/** The bucket a tenant of `tier` gets. */
export function bucketForTier(tier: string, now?: number): TokenBucket {
  const limits = TIERS[tier as Tier] ?? TIERS.standard;
  return new TokenBucket(limits.rateLimit, limits.burstLimit, now);
}
