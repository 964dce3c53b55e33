/**
 * Scheduled handlers: the event a schedule sends the tenant's function, and the rule that says
 * whether a declared schedule runs for a tenant. The tenant template writes this event as the
 * EventBridge Scheduler target's `Input`, `sovereign tenant run` and `sovereign dev` send the same
 * one, and the runtime reads it back here: one shape, one reader.
 *
 * Only a direct invocation of the function can carry it. API Gateway builds the payload 2.0 event
 * itself (`version`, `routeKey`, `requestContext`, …) and a caller controls only the values inside
 * its headers, query and body, never its top-level members; so an event is a scheduled one only
 * when its top level is exactly this shape and nothing else.
 *
 * Pure and dependency-free: it is bundled into every tenant runtime.
 */

/** The marker of a scheduled event (`source`). */
export const SCHEDULE_EVENT_SOURCE = 'sovereign.schedule';

/** What a schedule sends the tenant's function. */
export interface ScheduledEvent {
  source: typeof SCHEDULE_EVENT_SOURCE;
  /** The extension that declares the schedule. */
  extension: string;
  /** The schedule's name in its manifest. */
  schedule: string;
  /** The manifest's `payload` (or the one `tenant run --payload` gives); absent when there is none. */
  payload?: unknown;
}

const EVENT_KEYS = new Set(['source', 'extension', 'schedule', 'payload']);

/** Schedule names: lower-case words joined by `-`, 1–40 characters (they become part of AWS names). */
export const SCHEDULE_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
export const SCHEDULE_NAME_MAX = 40;

/**
 * The largest manifest `payload`, as JSON characters. The payload is written into the tenant
 * template (the schedule's `Input`) once per schedule, and CloudFormation caps a template's size:
 * schedules carry small inputs and keep large ones in the tenant's table or settings.
 */
export const SCHEDULE_PAYLOAD_MAX = 8192;

/** The event for one run of `extension`'s schedule `schedule`. */
export function scheduledEvent(extension: string, schedule: string, payload?: unknown): ScheduledEvent {
  return { source: SCHEDULE_EVENT_SOURCE, extension, schedule, ...(payload === undefined ? {} : { payload }) };
}

/**
 * The event as a scheduled one, or undefined: an object whose only members are those of
 * {@link ScheduledEvent}, with the marker and two string names.
 */
export function asScheduledEvent(event: unknown): ScheduledEvent | undefined {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return undefined;
  const e = event as Record<string, unknown>;
  if (e.source !== SCHEDULE_EVENT_SOURCE || typeof e.extension !== 'string' || typeof e.schedule !== 'string') return undefined;
  for (const key of Object.keys(e)) if (!EVENT_KEYS.has(key)) return undefined;
  return e as unknown as ScheduledEvent;
}

/**
 * The member of an extension's tenant-level settings (`tenantConfig.<extension>` in the config
 * file, or the tenant's own settings) that turns its schedules off or on for the tenant:
 * `{ "_schedules": { "sync": false } }`. It is taken out before the settings are parsed with the
 * extension's config schema, so no extension can declare a setting of that name.
 */
export const SCHEDULE_SETTINGS_KEY = '_schedules';

/** The tenant's `_schedules` overrides for one extension (name → enabled), from its settings. */
export function scheduleOverrides(settings: unknown): Record<string, boolean> {
  if (typeof settings !== 'object' || settings === null) return {};
  const raw = (settings as Record<string, unknown>)[SCHEDULE_SETTINGS_KEY];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return {};
  const out: Record<string, boolean> = {};
  for (const [name, value] of Object.entries(raw)) if (typeof value === 'boolean') out[name] = value;
  return out;
}

/**
 * Whether a declared schedule runs for a tenant: the tenant's override when it sets one, else the
 * manifest's `enabled` (default true).
 */
export function scheduleEnabledFor(schedule: { name: string; enabled?: boolean }, settings: unknown): boolean {
  return scheduleOverrides(settings)[schedule.name] ?? schedule.enabled ?? true;
}

/** The settings without {@link SCHEDULE_SETTINGS_KEY}, for the extension's config schema. */
export function withoutScheduleSettings(settings: unknown): unknown {
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings) || !(SCHEDULE_SETTINGS_KEY in settings)) return settings;
  const { [SCHEDULE_SETTINGS_KEY]: _dropped, ...rest } = settings as Record<string, unknown>;
  return rest;
}

/** `<extension>.<schedule>` (what `sovereign tenant run` takes), or undefined when it is not one. */
export function parseScheduleTarget(text: string): { extension: string; schedule: string } | undefined {
  const match = /^([a-z][a-z0-9]*(?:-[a-z0-9]+)*)\.([a-z][a-z0-9]*(?:-[a-z0-9]+)*)$/.exec(text);
  if (!match || match[2]!.length > SCHEDULE_NAME_MAX) return undefined;
  return { extension: match[1]!, schedule: match[2]! };
}
