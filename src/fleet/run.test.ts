import { describe, expect, it } from 'vitest';
import { planFleetDeploy } from './plan.js';
import { backoffDelay, isThrottlingError, runFleet, type FleetEvent } from './run.js';

const throttle = () => Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
const noSleep = async () => {};
const tenants = (n: number) => Array.from({ length: n }, (_, i) => `t${String(i).padStart(3, '0')}`);

describe('runFleet', () => {
  it('never runs more tenants at once than the concurrency', async () => {
    let running = 0;
    let peak = 0;
    const report = await runFleet({
      plan: planFleetDeploy({ known: tenants(40), all: true }),
      concurrency: 7,
      deployOne: async (tenant) => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 1));
        running -= 1;
        return tenant.toUpperCase();
      },
    });
    expect(peak).toBe(7);
    expect(report).toMatchObject({ ok: 40, failed: 0, skipped: 0, total: 40, concurrency: 7 });
    expect(report.tenants[0]).toMatchObject({ tenant: 't000', outcome: 'ok', attempts: 1, result: 'T000' });
  });

  it('retries throttling with growing backoff, and not other errors', async () => {
    const calls: Record<string, number> = {};
    const delays: number[] = [];
    const report = await runFleet({
      plan: planFleetDeploy({ known: ['acme', 'globex'], all: true }),
      concurrency: 2,
      retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 1000 },
      random: () => 1,
      sleep: async (ms) => {
        delays.push(ms);
      },
      deployOne: async (tenant) => {
        calls[tenant] = (calls[tenant] ?? 0) + 1;
        if (tenant === 'acme' && calls[tenant]! < 3) throw throttle();
        if (tenant === 'globex') throw new Error('Template error: bad property\nmore detail');
        return 'done';
      },
    });
    expect(calls).toEqual({ acme: 3, globex: 1 });
    expect(delays).toEqual([100, 200]);
    const byTenant = Object.fromEntries(report.tenants.map((t) => [t.tenant, t]));
    expect(byTenant.acme).toMatchObject({ outcome: 'ok', attempts: 3 });
    expect(byTenant.globex).toMatchObject({ outcome: 'failed', attempts: 1, error: 'Template error: bad property' });
  });

  it('gives up after the last attempt', async () => {
    const report = await runFleet({
      plan: planFleetDeploy({ known: ['acme'], all: true }),
      retry: { attempts: 3 },
      sleep: noSleep,
      deployOne: async () => {
        throw throttle();
      },
    });
    expect(report.tenants[0]).toMatchObject({ outcome: 'failed', attempts: 3, error: 'Rate exceeded' });
  });

  it('stops starting tenants once failures exceed --max-failures', async () => {
    const started: string[] = [];
    const report = await runFleet({
      plan: planFleetDeploy({ known: tenants(20), all: true }),
      concurrency: 1,
      maxFailures: 2,
      deployOne: async (tenant) => {
        started.push(tenant);
        throw new Error(`broken ${tenant}`);
      },
    });
    expect(started).toEqual(['t000', 't001', 't002']);
    expect(report).toMatchObject({ ok: 0, failed: 3, skipped: 17 });
    expect(report.tenants[3]).toMatchObject({ outcome: 'skipped', reason: 'max-failures' });
  });

  it('runs waves in order and does not start a wave after a failed one', async () => {
    const order: string[] = [];
    const events: FleetEvent[] = [];
    const report = await runFleet({
      plan: planFleetDeploy({ known: ['acme', 'globex', 'initech', 'umbrella'], waves: ['acme', 'globex,initech', 'rest'] }),
      concurrency: 4,
      onEvent: (e) => events.push(e),
      deployOne: async (tenant) => {
        order.push(tenant);
        if (tenant === 'initech') throw new Error('boom');
      },
    });
    expect(order[0]).toBe('acme');
    expect(order.slice(1).sort()).toEqual(['globex', 'initech']);
    expect(report.waves).toEqual([
      expect.objectContaining({ index: 1, ok: 1, failed: 0, skipped: 0 }),
      expect.objectContaining({ index: 2, ok: 1, failed: 1, skipped: 0 }),
      expect.objectContaining({ index: 3, ok: 0, failed: 0, skipped: 1 }),
    ]);
    expect(report.tenants.find((t) => t.tenant === 'umbrella')).toMatchObject({ outcome: 'skipped', reason: 'earlier-wave-failed' });
    expect(events.filter((e) => e.type === 'wave-start').map((e) => (e as { wave: number }).wave)).toEqual([1, 2]);
  });

  it('stops starting tenants when aborted, letting running ones finish', async () => {
    const controller = new AbortController();
    const report = await runFleet({
      plan: planFleetDeploy({ known: tenants(10), all: true }),
      concurrency: 2,
      signal: controller.signal,
      deployOne: async (tenant) => {
        if (tenant === 't001') controller.abort();
        await new Promise((r) => setTimeout(r, 1));
      },
    });
    expect(report.ok).toBe(2);
    expect(report.skipped).toBe(8);
    expect(report.tenants.at(-1)).toMatchObject({ reason: 'aborted' });
  });
});

describe('retry helpers', () => {
  it('recognises AWS throttling by name, code, SDK flag or message', () => {
    expect(isThrottlingError(throttle())).toBe(true);
    expect(isThrottlingError({ name: 'x', $retryable: { throttling: true } })).toBe(true);
    expect(isThrottlingError(Object.assign(new Error('x'), { name: 'TooManyRequestsException' }))).toBe(true);
    expect(isThrottlingError(new Error('ValidationError: template format error'))).toBe(false);
    expect(isThrottlingError('Throttling')).toBe(false);
  });

  it('keeps backoff between half and all of an exponential ceiling', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5].map((r) => backoffDelay(r, policy, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect([1, 2, 3].map((r) => backoffDelay(r, policy, () => 0))).toEqual([50, 100, 200]);
  });
});
