/**
 * `sovereign dev`'s scheduler: the local stand-in for the tenant stack's EventBridge Scheduler
 * schedules. For every tenant dev serves (idle ones too: the run starts an environment) it computes each schedule's next fire time from its
 * expression (UTC, the same parser as the manifest check and the template: a rate counts from when
 * dev first saw the schedule, as a new rate schedule on aws counts from its creation), and at that
 * time invokes the tenant with the event the schedule's `Input` carries (`Gateway.invokeEvent`).
 *
 * - Never two runs of one schedule of one tenant at once: a fire that finds the previous run still
 *   going is skipped and logged (EventBridge Scheduler does not wait; the skip is dev's choice, so a
 *   slow sync never piles up on a laptop).
 * - Only schedules that are on for the tenant (manifest `enabled`, then the tenant's `_schedules`),
 *   taken from the manifests of the artifact the tenant's process runs.
 * - Every fire, finish, failure and skip is an event line of dev's output.
 *
 * The clock is injected: tests drive it by hand, and `SOVEREIGN_DEV_SCHEDULE_SPEEDUP` (e.g. `60`:
 * a minute passes in a second) lets an end-to-end test see `rate(1 minute)` fire without waiting.
 */
import { nextFireTime, parseScheduleExpression, type ScheduleExpression } from '../../../contract/schedule-expression.js';
import { scheduledEvent, scheduleEnabledFor } from '../../../contract/schedules.js';
import type { ExtensionManifest } from '../../../runtime/extension.js';
import type { InvocationResult } from './channel.js';

/** One schedule of a tenant that dev fires. */
export interface DevSchedule {
  extension: string;
  name: string;
  expression: string;
  payload?: unknown;
}

/** Time as the scheduler sees it. */
export interface SchedulerClock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The machine's clock. */
export const SYSTEM_CLOCK: SchedulerClock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => {
    const timer = setTimeout(run, ms);
    timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** A clock that runs `factor` times faster than `base` from the moment it is made (tests only). */
export function spedUpClock(factor: number, base: SchedulerClock = SYSTEM_CLOCK): SchedulerClock {
  const start = base.now();
  return {
    now: () => start + (base.now() - start) * factor,
    setTimeout: (run, ms) => base.setTimeout(run, ms / factor),
    clearTimeout: (handle) => base.clearTimeout(handle),
  };
}

/** The clock `sovereign dev` uses: the machine's, or sped up by `SOVEREIGN_DEV_SCHEDULE_SPEEDUP`. */
export function devSchedulerClock(env: Record<string, string | undefined>): SchedulerClock {
  const factor = Number(env.SOVEREIGN_DEV_SCHEDULE_SPEEDUP ?? '1');
  return Number.isFinite(factor) && factor > 1 ? spedUpClock(Math.min(factor, 3600)) : SYSTEM_CLOCK;
}

/** The schedules of `manifests` that are on for a tenant with these settings (extension → settings). */
export function enabledDevSchedules(manifests: ReadonlyArray<Pick<ExtensionManifest<any>, 'name' | 'schedules'>>, settings: Record<string, unknown>): DevSchedule[] {
  return manifests.flatMap((manifest) =>
    (manifest.schedules ?? [])
      .filter((s) => scheduleEnabledFor(s, settings[manifest.name]))
      .map((s) => ({ extension: manifest.name, name: s.name, expression: s.expression, ...(s.payload === undefined ? {} : { payload: s.payload }) })),
  );
}

export interface DevSchedulerOptions {
  /** The running tenants and their schedules now (read at every tick). */
  tenants(): Array<{ id: string; schedules: readonly DevSchedule[] }>;
  /** Invokes a running tenant with an event. */
  invoke(tenant: string, event: unknown): Promise<InvocationResult>;
  emit(kind: string, fields: Record<string, unknown>): void;
  clock?: SchedulerClock;
  /** How often the set of tenants and schedules is read again at the latest (default 1 s of the clock). */
  refreshMs?: number;
}

interface Slot {
  schedule: DevSchedule;
  expression: ScheduleExpression;
  origin: number;
  nextAt: number | undefined;
  running: boolean;
}

export class DevScheduler {
  private readonly slots = new Map<string, Slot>();
  private readonly clock: SchedulerClock;
  private timer: unknown;
  private stopped = true;
  /** Runs under way, so `stop` can wait for them. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: DevSchedulerOptions) {
    this.clock = options.clock ?? SYSTEM_CLOCK;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.tick();
  }

  /** Stops firing (runs under way end with their tenant's process, which dev stops next). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Resolves when every run under way has answered. */
  async idle(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  /** When each schedule fires next, by `<tenant> <extension>.<schedule>` (for tests and the view). */
  nextFires(): Record<string, string | null> {
    return Object.fromEntries([...this.slots].map(([key, slot]) => [key, slot.nextAt === undefined ? null : new Date(slot.nextAt).toISOString()]));
  }

  /** Reads the tenants again, fires what is due, and sets the timer for the next due schedule. */
  private tick(): void {
    if (this.stopped) return;
    this.timer = undefined;
    const now = this.clock.now();
    this.refresh(now);
    for (const [key, slot] of this.slots) {
      if (slot.nextAt === undefined || slot.nextAt > now) continue;
      const tenant = key.slice(0, key.indexOf(' '));
      this.fire(tenant, slot, slot.nextAt);
      slot.nextAt = nextFireTime(slot.expression, Math.max(now, slot.nextAt), slot.origin);
    }
    const refresh = this.options.refreshMs ?? 1000;
    const due = Math.min(now + refresh, ...[...this.slots.values()].map((s) => s.nextAt ?? Infinity));
    this.timer = this.clock.setTimeout(() => this.tick(), Math.max(0, due - now));
  }

  private refresh(now: number): void {
    const seen = new Set<string>();
    for (const tenant of this.options.tenants()) {
      for (const schedule of tenant.schedules) {
        const key = `${tenant.id} ${schedule.extension}.${schedule.name}`;
        seen.add(key);
        const existing = this.slots.get(key);
        if (existing && existing.schedule.expression === schedule.expression) {
          existing.schedule = schedule;
          continue;
        }
        const parsed = parseScheduleExpression(schedule.expression);
        if (!parsed.ok) continue; // the manifest check refused it; nothing of it was built
        this.slots.set(key, { schedule, expression: parsed.expression, origin: now, nextAt: nextFireTime(parsed.expression, now, now), running: false });
      }
    }
    for (const key of [...this.slots.keys()]) if (!seen.has(key) && !this.slots.get(key)!.running) this.slots.delete(key);
  }

  private fire(tenant: string, slot: Slot, dueAt: number): void {
    const { extension, name } = slot.schedule;
    const fields = { tenant, schedule: `${extension}.${name}`, due: new Date(dueAt).toISOString() };
    if (slot.running) {
      this.options.emit('schedule skipped', { ...fields, reason: 'the previous run is still going' });
      return;
    }
    slot.running = true;
    this.options.emit('schedule fired', fields);
    const started = this.clock.now();
    const run = this.options
      .invoke(tenant, scheduledEvent(extension, name, slot.schedule.payload))
      .then(
        (answer) => {
          const took = `${Math.round(this.clock.now() - started)}ms`;
          let status = 'failed';
          let detail: string | undefined;
          try {
            const result = JSON.parse(answer.json) as { status?: string; reason?: string; error?: string; errorMessage?: string };
            status = answer.functionError ? 'failed' : (result.status ?? 'failed');
            detail = answer.functionError ? result.errorMessage : (result.reason ?? result.error);
          } catch {
            detail = 'the answer is not JSON';
          }
          this.options.emit(status === 'succeeded' ? 'schedule finished' : 'schedule failed', { tenant, schedule: fields.schedule, status, took, ...(detail ? { detail } : {}) });
        },
        (error: Error) => this.options.emit('schedule failed', { tenant, schedule: fields.schedule, status: 'not-invoked', detail: error.message }),
      )
      .finally(() => {
        slot.running = false;
        this.inFlight.delete(run);
      });
    this.inFlight.add(run);
  }
}
