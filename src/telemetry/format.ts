/** Pure renderings of telemetry: the status report, the rows of `top`, readable log lines. */
import { secretCacheFromHealth, type WindowFigures } from '../targets/local/dev/stats.js';
import type { TenantRecord } from '../state/registry.js';
import type { FleetFigures, LogLine, RuntimeFigures } from './source.js';
import { lineTime } from './source.js';
import { REPORT_MESSAGE, type FunctionFigures } from './lambda-log.js';

export interface TenantStatusReport {
  tenant: string;
  state: string;
  tier: string;
  /** Null when no runtime serves the tenant (dev not running, or the tenant not served). */
  runtime: null | {
    source: string;
    since: string;
    process: { status: string; pid: number | null; restarts: number };
    health: Record<string, unknown> | null;
    requests: number;
    errors: number;
    throttled: number;
    errorRate: number | null;
    ratePerSecond: number;
    latencyMs: { p50: number | null; p99: number | null; recentP99: number | null };
    secretCache: { hits: number; misses: number; hitRate: number | null } | null;
    /** The last minutes, with their error rate; null where the source keeps no per-minute figures. */
    window: (WindowFigures & { errorRate: number | null }) | null;
  };
  /** The function's own figures over the window, from Lambda's `REPORT` lines; null when its log could not be read. */
  function: (FunctionFigures & { minutes: number }) | null;
  message?: string;
}

const errorRate = (errors: number, requests: number): number | null => (requests === 0 ? null : Math.round((errors / requests) * 10000) / 10000);

export function statusReport(
  record: TenantRecord,
  fleet: FleetFigures | undefined,
  health: Record<string, unknown> | undefined,
  hint: string,
  fn: (FunctionFigures & { minutes: number }) | null = null,
): TenantStatusReport {
  const base = { tenant: record.id, state: record.status, tier: record.tier, function: fn };
  const figures = fleet?.tenants.find((t) => t.tenant === record.id);
  if (!fleet) return { ...base, runtime: null, message: `no runtime figures: ${hint}` };
  if (!figures) return { ...base, runtime: null, message: `${fleet.source} does not serve ${record.id} (it serves ${fleet.serves ?? 'provisioning, active and suspended tenants'})` };
  return {
    ...base,
    runtime: {
      source: fleet.source,
      since: fleet.since,
      process: { status: figures.status, pid: figures.pid, restarts: figures.restarts },
      health: health ?? null,
      requests: figures.requests,
      errors: figures.errors,
      throttled: figures.throttled,
      errorRate: errorRate(figures.errors, figures.requests),
      ratePerSecond: figures.ratePerSecond,
      latencyMs: figures.latencyMs,
      // Where the source has no cache figures (CloudWatch), the health document's are the runtime's own.
      secretCache: figures.secretCache ?? secretCacheFromHealth(health),
      window: figures.window ? { ...figures.window, errorRate: errorRate(figures.window.errors, figures.window.requests) } : null,
    },
  };
}

export const ms = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : v < 10 ? `${v.toFixed(1)}ms` : `${Math.round(v)}ms`);
const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : `${Math.round(v * 1000) / 10}%`);

function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

export function formatStatus(report: TenantStatusReport, now = Date.now()): string {
  const lines = [`tenant        ${report.tenant}  (${report.state}, tier ${report.tier})`];
  const r = report.runtime;
  if (!r) {
    lines.push(`runtime       -  ${report.message ?? ''}`);
    if (report.function) lines.push(functionLine(report.function));
    return lines.join('\n');
  }
  const health = r.health;
  const extensions = Array.isArray(health?.extensions) ? (health.extensions as Array<{ name: string; status: string }>).map((e) => `${e.name} ${e.status}`).join(', ') : '';
  lines.push(`runtime       ${r.process.status}, pid ${r.process.pid ?? '-'}, restarts ${r.process.restarts}  (${r.source})`);
  lines.push(`health        ${health ? String(health.status ?? 'unknown') : 'unreachable'}${extensions ? `  extensions: ${extensions}` : ''}`);
  lines.push(`requests      ${r.requests}  (${r.ratePerSecond}/s now)   errors ${r.errors} (${pct(r.errorRate)})   throttled ${r.throttled}`);
  lines.push(`latency       p50 ${ms(r.latencyMs.p50)}   p99 ${ms(r.latencyMs.p99)}   p99 of the last 10–20 s ${ms(r.latencyMs.recentP99)}`);
  lines.push(`secret cache  ${r.secretCache ? `${pct(r.secretCache.hitRate)} hits (${r.secretCache.hits} hits, ${r.secretCache.misses} misses)` : '-'}`);
  lines.push(`window        since ${r.since} (${ago(r.since, now)} ago)`);
  // A source whose figures are the window itself (CloudWatch) has nothing more to show.
  const w = r.window;
  if (w && w.since !== r.since) {
    lines.push(`last ${w.minutes} min   requests ${w.requests}   errors ${w.errors} (${pct(w.errorRate)})   throttled ${w.throttled}   p50 ${ms(w.latencyMs.p50)}   p99 ${ms(w.latencyMs.p99)}   secret cache ${w.secretCache ? `${pct(w.secretCache.hitRate)} hits` : '-'}`);
  }
  if (report.function) lines.push(functionLine(report.function));
  return lines.join('\n');
}

/** `function      12 invocations in 15 min, 2 cold starts (init p50 180ms), duration p50 3.1ms p99 9.8ms, memory 71 of 512 MB`. */
function functionLine(f: FunctionFigures & { minutes: number }): string {
  if (f.invocations === 0) return `function      no invocations reported in the last ${f.minutes} min`;
  const parts = [
    `${f.invocations} invocation${f.invocations === 1 ? '' : 's'} in ${f.minutes} min`,
    `${f.coldStarts} cold start${f.coldStarts === 1 ? '' : 's'}${f.initMs ? ` (init p50 ${ms(f.initMs.p50)}, max ${ms(f.initMs.max)})` : ''}`,
  ];
  if (f.timeouts > 0) parts.push(`${f.timeouts} timed out`);
  if (f.durationMs) parts.push(`duration p50 ${ms(f.durationMs.p50)} p99 ${ms(f.durationMs.p99)}`);
  if (f.maxMemoryUsedMb !== null && f.memoryMb !== null) parts.push(`memory ${f.maxMemoryUsedMb} of ${f.memoryMb} MB`);
  return `function      ${parts.join(', ')}`;
}

export interface TopRow {
  tenant: string;
  state: string;
  tier: string;
  /** The process status under dev (`running`, `crashed`, …); null when not served. */
  runtime: string | null;
  pid: number | null;
  ratePerSecond: number | null;
  requests: number | null;
  errors: number | null;
  throttled: number | null;
  p50: number | null;
  p99: number | null;
  secretCacheHitRate: number | null;
}

/** `top`'s rows: every registered tenant, with its runtime figures when served. */
export function topRows(records: TenantRecord[], fleet: FleetFigures | undefined): TopRow[] {
  const byId = new Map<string, RuntimeFigures>((fleet?.tenants ?? []).map((t) => [t.tenant, t]));
  return records.map((record) => {
    const f = byId.get(record.id);
    return {
      tenant: record.id,
      state: record.status,
      tier: record.tier,
      runtime: f?.status ?? null,
      pid: f?.pid ?? null,
      ratePerSecond: f?.ratePerSecond ?? null,
      requests: f?.requests ?? null,
      errors: f?.errors ?? null,
      throttled: f?.throttled ?? null,
      p50: f?.latencyMs.p50 ?? null,
      p99: f?.latencyMs.recentP99 ?? f?.latencyMs.p99 ?? null,
      secretCacheHitRate: f?.secretCache?.hitRate ?? null,
    };
  });
}

export const TOP_COLUMNS: Array<[keyof TopRow, string]> = [
  ['tenant', 'TENANT'],
  ['state', 'STATE'],
  ['tier', 'TIER'],
  ['runtime', 'RUNTIME'],
  ['pid', 'PID'],
  ['ratePerSecond', 'REQ/S'],
  ['requests', 'REQUESTS'],
  ['errors', 'ERRORS'],
  ['throttled', '429'],
  ['p50', 'P50'],
  ['p99', 'P99'],
  ['secretCacheHitRate', 'SECRET CACHE'],
];

/** A row's cells as text. */
export function topCells(row: TopRow): Record<string, string> {
  const n = (v: number | null) => (v === null ? '-' : String(v));
  return {
    tenant: row.tenant,
    state: row.state,
    tier: row.tier,
    runtime: row.runtime ?? '-',
    pid: n(row.pid),
    ratePerSecond: row.ratePerSecond === null ? '-' : row.ratePerSecond.toFixed(1),
    requests: n(row.requests),
    errors: n(row.errors),
    throttled: n(row.throttled),
    p50: ms(row.p50),
    p99: ms(row.p99),
    secretCacheHitRate: row.secretCacheHitRate === null ? '-' : `${Math.round(row.secretCacheHitRate * 100)}%`,
  };
}

/** The plain table of `top` without a TTY. */
export function formatTopTable(rows: TopRow[]): string {
  const cells = rows.map(topCells);
  const widths = TOP_COLUMNS.map(([key, title]) => Math.max(title.length, ...cells.map((c) => c[key]!.length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(TOP_COLUMNS.map(([, title]) => title)), ...cells.map((c) => line(TOP_COLUMNS.map(([key]) => c[key]!)))].join('\n');
}

const KNOWN = new Set(['time', 'level', 'tenant', 'stage', 'extension', 'requestId', 'message', 'msg']);

/** `12:00:01.123 INFO  avalara  req-1  quote computed  total=12.5 items=3`. */
export function formatLogLine(line: LogLine): string {
  const time = lineTime(line);
  const stamp = time === undefined ? '--:--:--.---' : new Date(time).toISOString().slice(11, 23);
  const level = String(line.level ?? (line._aws ? 'metric' : 'info')).toUpperCase().padEnd(5);
  const extension = typeof line.extension === 'string' ? line.extension : '-';
  const requestId = typeof line.requestId === 'string' ? line.requestId : '-';
  const message = String(line.message ?? line.msg ?? (line._aws ? 'metrics' : ''));
  // A logger's structured fields sit under `fields`; shown inline like the line's own keys.
  const nested = line.fields && typeof line.fields === 'object' && !Array.isArray(line.fields) ? (line.fields as Record<string, unknown>) : {};
  const rest = [...Object.entries(line).filter(([key]) => key !== 'fields'), ...Object.entries(nested)]
    .filter(([key]) => !KNOWN.has(key) && key !== '_aws')
    .map(([key, value]) => `${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${stamp} ${level} ${extension} ${requestId} ${message}${rest ? `  ${rest}` : ''}`;
}

export interface LogFilter {
  extension?: string;
  requestId?: string;
  reports?: boolean;
}

export function matchesLogFilter(line: LogLine, filter: LogFilter): boolean {
  if (filter.extension !== undefined && line.extension !== filter.extension) return false;
  if (filter.requestId !== undefined && line.requestId !== filter.requestId) return false;
  if (filter.reports === true && line.message !== REPORT_MESSAGE) return false;
  return true;
}
