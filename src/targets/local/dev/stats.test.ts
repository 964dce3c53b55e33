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

describe('per-minute windows', () => {
  const MIN = 60_000;
  const T0 = 1_000 * MIN; // a whole minute
  const process = { status: 'running', pid: 1, restarts: 0 };

  it('covers the last N minutes, the current one included, and keeps the totals since start', () => {
    const stats = new TenantStats('acme', T0);
    for (let i = 0; i < 100; i += 1) stats.record(200, 100, T0 + 1000); // minute 0: slow
    for (let i = 0; i < 100; i += 1) stats.record(200, 1, T0 + 5 * MIN + i); // minute 5: fast
    stats.record(503, 1, T0 + 5 * MIN + 500);
    stats.record(429, 1, T0 + 5 * MIN + 600);

    const at = T0 + 5 * MIN + 30_000;
    const last5 = stats.snapshot(process, at, 5);
    expect(last5.requests).toBe(202);
    expect(last5.window).toMatchObject({ minutes: 5, since: new Date(T0 + MIN).toISOString(), requests: 102, errors: 1, throttled: 1 });
    expect(last5.window!.latencyMs.p99!).toBeLessThan(1.1);

    const last6 = stats.snapshot(process, at, 6).window!;
    expect(last6).toMatchObject({ minutes: 6, since: new Date(T0).toISOString(), requests: 202 });
    // Half of the six minutes' requests took 100 ms: p50 is fast, p99 is slow.
    expect(last6.latencyMs.p50!).toBeLessThan(1.1);
    expect(last6.latencyMs.p99!).toBeGreaterThanOrEqual(100);
    expect(last6.latencyMs.p99!).toBeLessThan(110);
  });

  it('drops minutes as they age out of the ring, and reuses their slots for new minutes', () => {
    const stats = new TenantStats('acme', T0);
    stats.record(500, 5, T0);
    expect(stats.snapshot(process, T0 + 14 * MIN, 15).window).toMatchObject({ requests: 1, errors: 1 });
    expect(stats.snapshot(process, T0 + 15 * MIN, 15).window).toMatchObject({ requests: 0, errors: 0, latencyMs: { p50: null, p99: null } });
    // 60 minutes later the same slot holds a new minute: the old counts are gone, not added.
    stats.record(200, 1, T0 + 60 * MIN);
    expect(stats.snapshot(process, T0 + 60 * MIN, 60).window).toMatchObject({ requests: 1, errors: 0 });
    expect(stats.snapshot(process, T0 + 60 * MIN, 60).requests).toBe(2);
    // Asking for more minutes than the ring holds gets the ring.
    expect(stats.snapshot(process, T0 + 60 * MIN, 500).window!.minutes).toBe(60);
  });

  it('counts the secret cache lookups health reported during the window, across a runtime restart', () => {
    const stats = new TenantStats('acme', T0);
    expect(stats.snapshot(process, T0, 15).window!.secretCache).toBeNull();
    stats.reportSecretCache({ hits: 10, misses: 2, hitRate: 0.833 }, T0);
    stats.reportSecretCache({ hits: 40, misses: 2, hitRate: 0.952 }, T0 + 20 * MIN);
    // Restarted runtime: its counters start again from zero.
    stats.reportSecretCache({ hits: 3, misses: 1, hitRate: 0.75 }, T0 + 21 * MIN);
    expect(stats.snapshot(process, T0 + 21 * MIN, 15).window!.secretCache).toEqual({ hits: 33, misses: 1, hitRate: 0.971 });
    expect(stats.snapshot(process, T0 + 21 * MIN, 60).window!.secretCache).toEqual({ hits: 43, misses: 3, hitRate: 0.935 });
    // The setter the dev server uses records the same way, and the totals stay the runtime's own.
    stats.secretCache = { hits: 5, misses: 1, hitRate: 0.833 };
    expect(stats.secretCache).toEqual({ hits: 5, misses: 1, hitRate: 0.833 });
  });
});
