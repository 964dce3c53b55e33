/** Reading and following a tenant's runtime log lines, filtered. */
import { badInput } from '../errors.js';
import { abortableSleep } from '../fleet/run.js';
import { lineTime, type LogLine, type TelemetrySource } from './source.js';
import { matchesLogFilter, type LogFilter } from './format.js';

/** Parses `--since`: `30s`, `5m`, `2h`, `1d`, or an ISO date; returns epoch ms. */
export function parseSinceOption(value: string, now = Date.now()): number {
  const duration = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  if (duration) return now - Number(duration[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[duration[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  const parsed = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(parsed)) throw badInput(`--since "${value}" is neither a duration nor an ISO date`, 'e.g. --since 10m, --since 2h or --since 2026-01-01T12:00:00Z');
  return parsed;
}

export interface FollowOptions extends LogFilter {
  since?: number;
  limit?: number;
  intervalMs?: number;
  signal: AbortSignal;
  onLine: (line: LogLine) => void;
}

/** Prints what is there, then new lines as they are written, until the signal aborts. */
export async function followLogs(source: TelemetrySource, tenant: string, options: FollowOptions): Promise<void> {
  const filter: LogFilter = { ...(options.extension ? { extension: options.extension } : {}), ...(options.requestId ? { requestId: options.requestId } : {}) };
  if (source.follow) {
    const query = { ...filter, ...(options.since === undefined ? {} : { since: options.since }), ...(options.limit ? { limit: options.limit } : {}), ...(options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs }) };
    await source.follow(tenant, query, (line) => {
      if (matchesLogFilter(line, filter)) options.onLine(line);
    }, options.signal);
    return;
  }
  let since = options.since;
  let seenAtEdge = new Set<string>();
  let first = true;
  while (!options.signal.aborted) {
    const lines = await source.logs(tenant, { ...filter, ...(since === undefined ? {} : { since }), ...(first && options.limit ? { limit: options.limit } : {}) });
    first = false;
    let edge = since ?? 0;
    const nextSeen = new Set<string>();
    for (const line of lines) {
      const key = JSON.stringify(line);
      const time = lineTime(line) ?? 0;
      if (seenAtEdge.has(key)) continue;
      if (time > edge) {
        edge = time;
        nextSeen.clear();
      }
      if (time === edge) nextSeen.add(key);
      if (matchesLogFilter(line, filter)) options.onLine(line);
    }
    // Lines at the newest time are asked for again (more may arrive in the same millisecond); the
    // ones already shown are skipped.
    if (lines.length > 0) {
      seenAtEdge = since === edge ? new Set([...seenAtEdge, ...nextSeen]) : nextSeen;
      since = edge;
    }
    await abortableSleep(options.intervalMs ?? 500, options.signal);
  }
}
