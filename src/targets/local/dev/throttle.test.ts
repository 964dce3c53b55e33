import { describe, expect, it } from 'vitest';
import { TIERS } from '../../../templates/tiers.js';
import { TokenBucket, bucketForTier } from './throttle.js';

describe('TokenBucket', () => {
  it('allows a burst, then refuses with the seconds until a token is back', () => {
    const bucket = new TokenBucket(2, 3, 0);
    expect([1, 2, 3].map(() => bucket.take(0).allowed)).toEqual([true, true, true]);
    expect(bucket.take(0)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    // Half a second at 2 tokens/s refills one token.
    expect(bucket.take(500).allowed).toBe(true);
    expect(bucket.take(500).allowed).toBe(false);
  });

  it('never holds more than the burst', () => {
    const bucket = new TokenBucket(10, 5, 0);
    expect(bucket.available(60_000)).toBe(5);
  });

  it('rounds Retry-After up for slow rates', () => {
    const bucket = new TokenBucket(0.25, 1, 0);
    bucket.take(0);
    expect(bucket.take(0)).toEqual({ allowed: false, retryAfterSeconds: 4 });
  });

  it('takes each tier\'s limits from the tier table the aws template uses', () => {
    for (const tier of ['basic', 'standard', 'premium'] as const) {
      const bucket = bucketForTier(tier, 0);
      expect(bucket.rate).toBe(TIERS[tier].rateLimit);
      expect(bucket.burst).toBe(TIERS[tier].burstLimit);
    }
  });
});
