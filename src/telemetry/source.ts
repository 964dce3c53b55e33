/**
 * Where tenant telemetry comes from. Both targets answer the same interface:
 *
 * - local: the running `sovereign dev` (its gateway counters at `GET /_sovereign/dev/stats`, each
 *   tenant's `/_sovereign/health` through the gateway) and the runtime's JSON log lines in
 *   `.sovereign/data/<tenant>/runtime.log`;
 * - aws: CloudWatch `GetMetricData` over the tenant functions' metrics, each tenant's health through
 *   its HTTP API, CloudWatch Logs `FilterLogEvents` on its log group (`targets/aws/telemetry.ts`,
 *   loaded with the CloudWatch clients only when the aws target is used).
 *
 * Each target's `telemetry()` gives its source (`targets/local/telemetry.ts`, `targets/aws/index.ts`).
 */
import { MINUTE_SLOTS, WINDOW_MINUTES, type TenantStatsSnapshot } from '../targets/local/dev/stats.js';
import { badInput } from '../errors.js';

/** One tenant's runtime figures. */
export type RuntimeFigures = TenantStatsSnapshot;

export interface FleetFigures {
  /** Where the figures come from (`sovereign dev on port 4000`). */
  source: string;
  /** The figures cover the time since this moment (the dev server's start, or the window's). */
  since: string;
  /** Which tenants the source has figures for, for the message about one it has none for. */
  serves?: string;
  tenants: RuntimeFigures[];
}

/** One runtime log line, parsed. */
export type LogLine = Record<string, unknown>;

export interface LogQuery {
  /** Epoch milliseconds: only lines at or after. */
  since?: number;
  /** The newest lines only. */
  limit?: number;
  /** Only lines of this extension / request (a source may filter where the lines are stored). */
  extension?: string;
  requestId?: string;
  /** Only Lambda's `REPORT` lines (one per invocation). */
  reports?: boolean;
}

export interface FollowQuery extends LogQuery {
  /** Delay between polls. */
  intervalMs?: number;
}

/** Which figures: the window's length and, for a source that asks per tenant, which tenants. */
export interface FiguresQuery {
  /** Minutes the window covers, the current one included (1–60; default {@link FIGURES_WINDOW_MINUTES}). */
  minutes?: number;
  /** Only these tenants (a source may still answer more). */
  tenants?: string[];
}

/** The window `tenant status` and `top` show unless `--minutes` says otherwise. */
export const FIGURES_WINDOW_MINUTES = WINDOW_MINUTES;
/** The longest window: the one-minute slots `sovereign dev` keeps. */
export const MAX_WINDOW_MINUTES = MINUTE_SLOTS;

/** `--minutes`: a whole number of minutes, 1–60. */
export function parseWindowMinutes(value: unknown): number {
  const minutes = Number(value ?? FIGURES_WINDOW_MINUTES);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_WINDOW_MINUTES) {
    throw badInput(`--minutes ${String(value)} is not a whole number of minutes from 1 to ${MAX_WINDOW_MINUTES}`, 'e.g. --minutes 5');
  }
  return minutes;
}

export interface TelemetrySource {
  /** Every served tenant's figures, or undefined when nothing is running. */
  figures(query?: FiguresQuery): Promise<FleetFigures | undefined>;
  /** The tenant's health document, or undefined when it is not served. */
  health(tenant: string): Promise<Record<string, unknown> | undefined>;
  /** The tenant's log lines, oldest first. */
  logs(tenant: string, query: LogQuery): Promise<LogLine[]>;
  /** Follows the tenant's log itself (every line once) instead of the generic polling of `logs`. */
  follow?(tenant: string, query: FollowQuery, onLine: (line: LogLine) => void, signal: AbortSignal): Promise<void>;
  /** Why `figures()` is undefined, for the user. */
  readonly unavailableHint: string;
}

/** A line's time in epoch ms: `time` (ISO) or the EMF `_aws.Timestamp`. */
export function lineTime(line: LogLine): number | undefined {
  if (typeof line.time === 'string') {
    const t = Date.parse(line.time);
    if (!Number.isNaN(t)) return t;
  }
  const emf = (line._aws as { Timestamp?: unknown } | undefined)?.Timestamp;
  return typeof emf === 'number' ? emf : undefined;
}
