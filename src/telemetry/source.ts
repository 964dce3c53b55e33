/**
 * Where tenant telemetry comes from. Both targets answer the same interface:
 *
 * - local: the running `sovereign dev` (its gateway counters at `GET /_sovereign/dev/stats`, each
 *   tenant's `/_sovereign/health` through the gateway) and the runtime's JSON log lines in
 *   `.sovereign/data/<tenant>/runtime.log`;
 * - aws: CloudWatch `GetMetricData` over the tenant functions' metrics, each tenant's health through
 *   its HTTP API, CloudWatch Logs `FilterLogEvents` on its log group (`targets/aws/telemetry.ts`,
 *   loaded with the CloudWatch clients only when the aws target is used).
 */
import { join } from 'node:path';
import type { CommandContext } from '../commands/types.js';
import { runningDevState } from '../dev/state-file.js';
import { MINUTE_SLOTS, WINDOW_MINUTES, type TenantStatsSnapshot } from '../dev/stats.js';
import type { Project } from '../project.js';
import { matchesLogFilter } from './format.js';
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

export interface LocalTelemetryOptions {
  timeoutMs?: number;
}

export function localTelemetry(project: Project, options: LocalTelemetryOptions = {}): TelemetrySource {
  const timeout = options.timeoutMs ?? 3000;
  const base = () => {
    const dev = runningDevState(project.paths.devState);
    return dev ? { dev, url: `http://127.0.0.1:${dev.port}` } : undefined;
  };
  return {
    unavailableHint: 'start `sovereign dev` in this project: runtime figures come from its gateway',
    async figures(query = {}) {
      const b = base();
      if (!b) return undefined;
      try {
        const minutes = query.minutes === undefined ? '' : `?minutes=${query.minutes}`;
        const answer = await fetch(`${b.url}/_sovereign/dev/stats${minutes}`, { signal: AbortSignal.timeout(timeout) });
        if (!answer.ok) return undefined;
        const doc = (await answer.json()) as { port: number; startedAt: string; tenants: RuntimeFigures[] };
        return { source: `sovereign dev on port ${doc.port}`, since: doc.startedAt, tenants: doc.tenants };
      } catch {
        return undefined;
      }
    },
    async health(tenant) {
      const b = base();
      if (!b) return undefined;
      try {
        const answer = await fetch(`${b.url}/t/${tenant}/_sovereign/health`, { signal: AbortSignal.timeout(timeout) });
        if (answer.status === 404 || answer.status === 503) return undefined;
        return (await answer.json()) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    },
    async logs(tenant, query) {
      const { tailLines } = await import('../dev/gateway.js');
      const lines: LogLine[] = [];
      for (const text of tailLines(join(project.paths.data, tenant, 'runtime.log'), 8 * 1024 * 1024)) {
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          line = { level: 'info', tenant, message: text };
        }
        if (query.since !== undefined && !((lineTime(line) ?? 0) >= query.since)) continue;
        if (!matchesLogFilter(line, query)) continue;
        lines.push(line);
      }
      return query.limit === undefined ? lines : lines.slice(-query.limit);
    },
  };
}

/**
 * The aws side, loaded on first use so other targets never load the CloudWatch clients. Figures
 * cover every deployed tenant of the stage in the state.
 */
export function awsTelemetry(ctx: Pick<CommandContext, 'state' | 'globals' | 'project' | 'out'>): TelemetrySource {
  let loaded: Promise<TelemetrySource> | undefined;
  const load = () =>
    (loaded ??= (async () => {
      const [{ awsTelemetry: create, createTelemetryClients }, { awsSessionFor }] = await Promise.all([import('../targets/aws/telemetry.js'), import('../targets/aws/command-context.js')]);
      const session = awsSessionFor(ctx as CommandContext);
      return create({ session, state: ctx.state(), clients: createTelemetryClients(session.settings) });
    })());
  return {
    unavailableHint: `no tenant of stage ${ctx.globals.stage} has been deployed to aws yet`,
    figures: async () => (await load()).figures(),
    health: async (tenant) => (await load()).health(tenant),
    logs: async (tenant, query) => (await load()).logs(tenant, query),
    follow: async (tenant, query, onLine, signal) => (await load()).follow!(tenant, query, onLine, signal),
  };
}

export function telemetryFor(ctx: Pick<CommandContext, 'state' | 'globals' | 'project' | 'out'>): TelemetrySource {
  return ctx.globals.target === 'aws' ? awsTelemetry(ctx) : localTelemetry(ctx.project());
}
