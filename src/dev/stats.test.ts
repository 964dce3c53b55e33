import { describe, expect, it } from 'vitest';
import { LatencyHistogram, TenantStats, secretCacheFromHealth } from './stats.js';

describe('LatencyHistogram', () => {
  it('gives quantiles within its bucket precision', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1000; i += 1) h.record(i / 10); // 0.1 … 100 ms
    expect(h.quantile(0.5)!).toBeGreaterThanOrEqual(50);
    expect(h.quantile(0.5)!).toBeLessThan(50 * 1.1);
    expect(h.quantile(0.99)!).toBeGreaterThanOrEqual(99);
    expect(h.quantile(0.99)!).toBeLessThan(99 * 1.1);
    expect(new LatencyHistogram().quantile(0.5)).toBeUndefined();
  });
});

describe('TenantStats', () => {
  it('counts requests, 5xx errors and 429s apart, and the rate over the last seconds', () => {
    const stats = new TenantStats('acme', 10_000);
    for (let i = 0; i < 50; i += 1) stats.record(200, 2, 10_000 + i * 10);
    stats.record(429, 0.1, 10_600);
    stats.record(503, 0.2, 10_700);
    stats.record(404, 1, 10_800);
    const snap = stats.snapshot({ status: 'running', pid: 1, restarts: 0 }, 11_500);
    expect(snap).toMatchObject({ tenant: 'acme', requests: 53, errors: 1, throttled: 1, statusClasses: { '2xx': 50, '4xx': 2, '5xx': 1 } });
    expect(snap.ratePerSecond).toBeCloseTo(53 / 5, 1);
    expect(snap.latencyMs.p99).not.toBeNull();
    // Five seconds later nothing recent is left in the rate.
    expect(stats.ratePerSecond(20_000)).toBe(0);
  });
});

describe('secretCacheFromHealth', () => {
  it('reads hit and miss counts where the runtime reports them', () => {
    expect(secretCacheFromHealth({ secretCache: { hits: 9, misses: 1 } })).toEqual({ hits: 9, misses: 1, hitRate: 0.9 });
    expect(secretCacheFromHealth({ secrets: { cache: { hits: 0, misses: 0 } } })).toEqual({ hits: 0, misses: 0, hitRate: null });
    expect(secretCacheFromHealth({ status: 'ok' })).toBeNull();
  });
});
