/**
 * Scheduled runs: a scheduled event (`contract/schedules.ts`) routed to the handler its extension
 * declared, with the same context a route handler gets (tenant, settings, secrets, table, log,
 * metrics) and `ctx.identity` `{ kind: 'schedule', subject: '<extension>.<schedule>' }`.
 *
 * The runtime refuses, without running anything, an event naming an extension the tenant has not
 * enabled or that failed to load, a schedule its manifest does not declare, a schedule that is off
 * for the tenant (manifest `enabled: false` or the tenant's `_schedules` setting), and any event
 * while the tenant is suspended. A run's start, end and failure are JSON log lines; a failure is
 * answered (`status: 'failed'`), not thrown, so Lambda does not retry a run that may have done part
 * of its work: the next run starts again, from whatever checkpoint the handler saved.
 */
import { createRouteContext, type ExtensionScope } from './context.js';
import { describeError } from './errors.js';
import type { CallerIdentity, ScheduleDefinition, ScheduleHandler } from './extension.js';
import type { ScheduledEvent } from '../contract/schedules.js';

/** What the runtime holds for one declared schedule of a loaded extension. */
export interface ScheduleEntry {
  definition: ScheduleDefinition;
  handler: ScheduleHandler<any, any, any>;
  /** On for this tenant (manifest default, then the tenant's `_schedules` override). */
  enabled: boolean;
}

/** Why a scheduled event ran nothing. */
export type ScheduleRefusal = 'unknown-extension' | 'extension-unavailable' | 'unknown-schedule' | 'schedule-disabled' | 'tenant-suspended';

/** What the function answers to a scheduled event (and what `tenant run` prints). */
export type ScheduleRunResult =
  | { status: 'succeeded'; extension: string; schedule: string; requestId: string; durationMs: number; result: unknown }
  | { status: 'failed'; extension: string; schedule: string; requestId: string; durationMs: number; error: string }
  | { status: 'refused'; extension: string; schedule: string; requestId: string; reason: ScheduleRefusal; message: string };

/** One loaded extension as the scheduled path needs it. */
export interface ScheduleTarget {
  status: 'ok' | 'failed';
  scope?: ExtensionScope;
  schedules?: Map<string, ScheduleEntry>;
}

export interface ScheduleRunDeps {
  extensions: ReadonlyMap<string, ScheduleTarget>;
  suspended: boolean;
  now: () => number;
  /** A runtime log line (no extension). */
  log(level: 'info' | 'warn', message: string, fields: Record<string, unknown>, requestId: string): void;
}

/** `ctx.identity` of a run of `extension`'s schedule `schedule`. */
export function scheduleIdentity(extension: string, schedule: string): CallerIdentity {
  return Object.freeze({ kind: 'schedule', subject: `${extension}.${schedule}`, scopes: Object.freeze([]) as unknown as string[], claims: Object.freeze({}) as Record<string, string> });
}

/** The refusal for `event`, or the schedule to run. */
function lookup(event: ScheduledEvent, deps: ScheduleRunDeps): { refused: ScheduleRefusal; message: string } | { scope: ExtensionScope; entry: ScheduleEntry } {
  const { extension, schedule } = event;
  if (deps.suspended) return { refused: 'tenant-suspended', message: 'the tenant is suspended' };
  const state = deps.extensions.get(extension);
  if (state === undefined) return { refused: 'unknown-extension', message: `extension "${extension}" is not enabled for the tenant` };
  if (state.status !== 'ok' || state.scope === undefined) return { refused: 'extension-unavailable', message: `extension "${extension}" failed to load` };
  const entry = state.schedules?.get(schedule);
  if (entry === undefined) return { refused: 'unknown-schedule', message: `extension "${extension}" declares no schedule "${schedule}"` };
  if (!entry.enabled) return { refused: 'schedule-disabled', message: `schedule ${extension}.${schedule} is disabled for the tenant` };
  return { scope: state.scope, entry };
}

/** Runs the schedule `event` names, or refuses it. Never rejects. */
export async function runScheduledEvent(event: ScheduledEvent, requestId: string, deps: ScheduleRunDeps): Promise<ScheduleRunResult> {
  const { extension, schedule } = event;
  const found = lookup(event, deps);
  if ('refused' in found) {
    deps.log('warn', 'scheduled event refused', { extension, schedule, reason: found.refused }, requestId);
    return { status: 'refused', extension, schedule, requestId, reason: found.refused, message: found.message };
  }
  const ctx = createRouteContext(found.scope, `schedule ${schedule}`, requestId, scheduleIdentity(extension, schedule));
  const payload = event.payload === undefined ? found.entry.definition.payload : event.payload;
  const started = deps.now();
  ctx.log.info('schedule started', { schedule, expression: found.entry.definition.expression });
  try {
    const result: unknown = await found.entry.handler({ extension, schedule, payload }, ctx);
    const durationMs = deps.now() - started;
    ctx.log.info('schedule finished', { schedule, durationMs });
    return { status: 'succeeded', extension, schedule, requestId, durationMs, result: result === undefined ? null : result };
  } catch (error) {
    const durationMs = deps.now() - started;
    ctx.log.error('schedule failed', { schedule, durationMs, error: describeError(error), ...(error instanceof Error && error.stack ? { stack: error.stack } : {}) });
    // The answer leaves the runtime (Lambda's response, `tenant run`): masked like a log line.
    return { status: 'failed', extension, schedule, requestId, durationMs, error: found.scope.redactor.redactString(describeError(error)) };
  }
}
