import { describe, expect, it } from 'vitest';
import { DevScheduler, enabledDevSchedules, spedUpClock, type DevSchedule, type SchedulerClock } from './scheduler.js';
import type { InvocationResult } from './channel.js';

/** A clock moved by hand: `advance` runs every timer that falls due, in time order. */
class FakeClock implements SchedulerClock {
  private timers: Array<{ at: number; run: () => void; id: number }> = [];
  private ids = 0;
  constructor(public time: number) {}
  now = () => this.time;
  setTimeout = (run: () => void, ms: number) => {
    const id = ++this.ids;
    this.timers.push({ at: this.time + ms, run, id });
    return id;
  };
  clearTimeout = (handle: unknown) => {
    this.timers = this.timers.filter((t) => t.id !== handle);
  };
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.time = Math.max(this.time, next.at);
      next.run();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.time = end;
  }
}

const START = Date.parse('2026-12-07T11:58:30Z');

function harness(schedules: Record<string, DevSchedule[]>, answer: (tenant: string, event: any) => Promise<InvocationResult> = async () => ({ functionError: false, json: '{"status":"succeeded"}' })) {
  const clock = new FakeClock(START);
  const calls: Array<{ tenant: string; event: any; at: string }> = [];
  const events: Array<{ kind: string; fields: Record<string, unknown> }> = [];
  const scheduler = new DevScheduler({
    tenants: () => Object.entries(schedules).map(([id, list]) => ({ id, schedules: list })),
    invoke: (tenant, event) => {
      calls.push({ tenant, event, at: new Date(clock.now()).toISOString() });
      return answer(tenant, event);
    },
    emit: (kind, fields) => events.push({ kind, fields }),
    clock,
  });
  return { clock, calls, events, scheduler };
}

describe('DevScheduler', () => {
  it('fires a rate schedule every interval from when it first saw it, and a cron schedule at its UTC times', async () => {
    const { clock, calls, scheduler } = harness({
      acme: [{ extension: 'sync', name: 'quarter', expression: 'rate(15 minutes)', payload: { full: false } }],
      beta: [{ extension: 'sync', name: 'noon', expression: 'cron(0 12 * * ? *)' }],
    });
    scheduler.start();
    await clock.advance(31 * 60_000);
    scheduler.stop();
    expect(calls.map((c) => `${c.tenant} ${c.event.schedule} ${c.at}`)).toEqual([
      'beta noon 2026-12-07T12:00:00.000Z',
      'acme quarter 2026-12-07T12:13:30.000Z',
      'acme quarter 2026-12-07T12:28:30.000Z',
    ]);
    expect(calls[1]!.event).toEqual({ source: 'sovereign.schedule', extension: 'sync', schedule: 'quarter', payload: { full: false } });
  });

  it('never runs one schedule of a tenant twice at once: a fire during a run is skipped and logged', async () => {
    let release: () => void = () => undefined;
    const { clock, calls, events, scheduler } = harness({ acme: [{ extension: 'sync', name: 'minute', expression: 'rate(1 minute)' }] }, () => new Promise((resolve) => {
      release = () => resolve({ functionError: false, json: '{"status":"succeeded"}' });
    }));
    scheduler.start();
    await clock.advance(3 * 60_000 + 1);
    expect(calls).toHaveLength(1);
    expect(events.filter((e) => e.kind === 'schedule skipped')).toHaveLength(2);
    expect(events.find((e) => e.kind === 'schedule skipped')?.fields).toMatchObject({ tenant: 'acme', schedule: 'sync.minute', reason: 'the previous run is still going' });
    release();
    await scheduler.idle();
    await clock.advance(60_000);
    expect(calls).toHaveLength(2);
    scheduler.stop();
  });

  it('logs each fire, finish and failure as dev event lines', async () => {
    const { clock, events, scheduler } = harness(
      { acme: [{ extension: 'sync', name: 'ok', expression: 'rate(1 minute)' }, { extension: 'sync', name: 'bad', expression: 'rate(1 minute)' }] },
      async (_t, event) => (event.schedule === 'ok' ? { functionError: false, json: '{"status":"succeeded"}' } : { functionError: false, json: '{"status":"refused","reason":"schedule-disabled"}' }),
    );
    scheduler.start();
    await clock.advance(60_000);
    await scheduler.idle();
    scheduler.stop();
    expect(events.map((e) => `${e.kind} ${e.fields.schedule}`)).toEqual(['schedule fired sync.ok', 'schedule fired sync.bad', 'schedule finished sync.ok', 'schedule failed sync.bad']);
    expect(events.at(-1)?.fields).toMatchObject({ status: 'refused', detail: 'schedule-disabled' });
  });

  it('picks up tenants that start and forgets those that stop; fires nothing after stop', async () => {
    const tenants: Record<string, DevSchedule[]> = {};
    const { clock, calls, scheduler } = harness(tenants);
    scheduler.start();
    await clock.advance(5 * 60_000);
    tenants.acme = [{ extension: 'sync', name: 'minute', expression: 'rate(1 minute)' }];
    await clock.advance(2 * 60_000 + 1000);
    expect(calls).toHaveLength(2);
    delete tenants.acme;
    await clock.advance(5 * 60_000);
    expect(calls).toHaveLength(2);
    tenants.beta = [{ extension: 'sync', name: 'minute', expression: 'rate(1 minute)' }];
    scheduler.stop();
    await clock.advance(5 * 60_000);
    expect(calls).toHaveLength(2);
  });

  it('fires only the schedules that are on for the tenant', () => {
    const manifests = [{ name: 'sync', schedules: [{ name: 'a', expression: 'rate(1 hour)', handler: 'a' }, { name: 'b', expression: 'rate(1 hour)', handler: 'b', enabled: false }, { name: 'c', expression: 'rate(1 hour)', handler: 'c' }] }];
    expect(enabledDevSchedules(manifests, { sync: { _schedules: { b: true, c: false } } }).map((s) => s.name)).toEqual(['a', 'b']);
  });

  it('a sped-up clock runs minutes in seconds', () => {
    let real = 1_000;
    const waits: number[] = [];
    const clock = spedUpClock(60, { now: () => real, setTimeout: (_run, ms) => waits.push(ms), clearTimeout: () => undefined });
    real += 1_000;
    expect(clock.now()).toBe(1_000 + 60_000);
    clock.setTimeout(() => undefined, 60_000);
    expect(waits).toEqual([1_000]);
  });
});
