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

describe('runFleet: many waiting at once', () => {
  it('lets every worker of every cell wait on the abort signal without a listener warning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const calls = new Map<string, number>();
      const report = await runFleet({
        plan: planFleetDeploy({ known: tenants(60), all: true, groupOf: (id) => `cell-${Number(id.slice(1)) % 3}` }),
        concurrency: 20,
        signal: new AbortController().signal,
        retry: { baseDelayMs: 10, maxDelayMs: 10 },
        deployOne: async (tenant) => {
          calls.set(tenant, (calls.get(tenant) ?? 0) + 1);
          if (calls.get(tenant) === 1) throw throttle();
        },
      });
      await new Promise((r) => setImmediate(r));
      expect(report.ok).toBe(60);
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('runFleet by cell', () => {
  // 3 cells of uneven size and a few tenants of the home account.
  const sizes: Record<string, number> = { 'eu-1': 30, 'eu-2': 12, 'us-1': 21, home: 5 };
  const ids = Object.entries(sizes).flatMap(([cell, n]) => Array.from({ length: n }, (_, i) => `${cell}-t${i}`));
  const cellOf = (id: string) => (id.startsWith('home-') ? undefined : id.slice(0, id.lastIndexOf('-')));
  const groupOfId = (id: string) => cellOf(id) ?? 'home';

  it('never runs more tenants of a cell at once than the concurrency, and runs cells side by side', async () => {
    const running = new Map<string, number>();
    const peak = new Map<string, number>();
    const spans = new Map<string, { first: number; last: number }>();
    let overall = 0;
    let overallPeak = 0;
    const report = await runFleet({
      plan: planFleetDeploy({ known: ids, all: true, groupOf: cellOf }),
      concurrency: 4,
      deployOne: async (tenant) => {
        const cell = groupOfId(tenant);
        running.set(cell, (running.get(cell) ?? 0) + 1);
        peak.set(cell, Math.max(peak.get(cell) ?? 0, running.get(cell)!));
        overallPeak = Math.max(overallPeak, ++overall);
        const span = spans.get(cell) ?? { first: performance.now(), last: 0 };
        await new Promise((r) => setTimeout(r, 3));
        span.last = performance.now();
        spans.set(cell, span);
        running.set(cell, running.get(cell)! - 1);
        overall -= 1;
      },
    });
    expect(Object.fromEntries(peak)).toEqual({ 'eu-1': 4, 'eu-2': 4, 'us-1': 4, home: 4 });
    // Four pools at once: more in flight than one pool's concurrency.
    expect(overallPeak).toBeGreaterThan(4);
    // Every cell started before any other cell finished: they overlap in time.
    const firstEnd = Math.min(...[...spans.values()].map((s) => s.last));
    for (const span of spans.values()) expect(span.first).toBeLessThan(firstEnd);
    expect(report).toMatchObject({ ok: ids.length, failed: 0, skipped: 0, concurrency: 4 });
    expect(report.groups.map((g) => [g.name, g.ok, g.total, g.stopped])).toEqual([
      ['eu-1', 30, 30, null],
      ['eu-2', 12, 12, null],
      ['home', 5, 5, null],
      ['us-1', 21, 21, null],
    ]);
  });

  it('stops only the cell whose canary wave failed; the other cells deploy every wave', async () => {
    const events: FleetEvent[] = [];
    const deployed: string[] = [];
    const report = await runFleet({
      plan: planFleetDeploy({ known: ids, waves: ['eu-1-t0,eu-2-t0,us-1-t0', 'rest'], groupOf: cellOf }),
      concurrency: 3,
      onEvent: (e) => events.push(e),
      deployOne: async (tenant) => {
        deployed.push(tenant);
        if (tenant === 'eu-2-t0') throw new Error('canary broke');
        await new Promise((r) => setTimeout(r, 1));
      },
    });
    const byCell = Object.fromEntries(report.groups.map((g) => [g.name, g]));
    expect(byCell['eu-2']).toMatchObject({ ok: 0, failed: 1, skipped: 11, stopped: 'earlier-wave-failed' });
    expect(byCell['eu-1']).toMatchObject({ ok: 30, failed: 0, skipped: 0, stopped: null });
    expect(byCell['us-1']).toMatchObject({ ok: 21, failed: 0, skipped: 0, stopped: null });
    expect(byCell.home).toMatchObject({ ok: 5, stopped: null });
    expect(deployed.filter((id) => id.startsWith('eu-2-'))).toEqual(['eu-2-t0']);
    expect(report.tenants.find((t) => t.tenant === 'eu-2-t5')).toMatchObject({ group: 'eu-2', outcome: 'skipped', reason: 'earlier-wave-failed' });
    // Within a cell, the rest starts only after its canary: eu-1's wave 2 after eu-1-t0 ended.
    const okAt = events.findIndex((e) => e.type === 'ok' && e.tenant === 'eu-1-t0');
    const restAt = events.findIndex((e) => e.type === 'start' && e.tenant === 'eu-1-t1');
    expect(okAt).toBeGreaterThanOrEqual(0);
    expect(restAt).toBeGreaterThan(okAt);
    // Every event names its cell, and each cell reports its end once.
    expect(events.every((e) => e.group === ('tenant' in e ? groupOfId(e.tenant) : e.group))).toBe(true);
    expect(events.filter((e) => e.type === 'group-end').map((e) => [e.group, e.stopped]).sort()).toEqual([
      ['eu-1', null],
      ['eu-2', 'earlier-wave-failed'],
      ['home', null],
      ['us-1', null],
    ]);
    // The run's waves add up every cell's.
    expect(report.waves).toEqual([
      expect.objectContaining({ index: 1, ok: 2, failed: 1, skipped: 0 }),
      expect.objectContaining({ index: 2, ok: 54, failed: 0, skipped: 11 }),
    ]);
  });

  it('counts --max-failures over every cell together', async () => {
    const report = await runFleet({
      plan: planFleetDeploy({ known: ids, all: true, groupOf: cellOf }),
      concurrency: 1,
      maxFailures: 2,
      deployOne: async (tenant) => {
        // eu-1 fails at once, every time; the other cells' tenants take a while and succeed.
        if (tenant.startsWith('eu-1-')) throw new Error('broken release');
        await new Promise((r) => setTimeout(r, 5));
      },
    });
    const byCell = Object.fromEntries(report.groups.map((g) => [g.name, g]));
    expect(byCell['eu-1']).toMatchObject({ failed: 3, ok: 0, skipped: 27, stopped: 'max-failures' });
    // eu-1's third failure stopped the cells that had not failed at all: the budget is the run's.
    for (const cell of ['eu-2', 'us-1', 'home']) expect(byCell[cell]).toMatchObject({ ok: 1, failed: 0, stopped: 'max-failures' });
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
