/**
 * What the console shows, read from the running dev server and the project: plain documents that
 * the server-rendered pages and the JSON the console's script polls are both made from. Nothing
 * here reads a secret's value: secrets are listed by `listTenantSecrets`, the code behind
 * `sovereign secrets list`, which returns references and version metadata only.
 */
import { statSync } from 'node:fs';
import type { Project } from '../../../../project.js';
import type { TenantRecord } from '../../../../state/registry.js';
import type { TrailVerification } from '../../../../audit/trail.js';
import type { SecretListEntry } from '../../../../secrets/list.js';
import { lineTime, type LogLine } from '../../../../telemetry/source.js';
import { parseLogFileLines } from '../../../../telemetry/lambda-log.js';
import { firstLine } from '../../../../errors.js';
import { checkpointPaths } from '../../../../audit/checkpoint-files.js';
import { tailLines } from '../gateway.js';
import { MINUTE_SLOTS, type TenantStats } from '../stats.js';

/** One tenant as the dev server serves it now. */
export interface ConsoleTenant {
  /** Its registry record as dev last read it (dev re-reads the registry every 400 ms). */
  record: TenantRecord;
  /** The function's status in dev (`running`, `building`, `failed`, …). */
  process: string;
  environments: number;
  restarts: number;
  stats: TenantStats;
  logFile: string;
}

/** What the console reads from the dev server. */
export interface ConsoleSource {
  project: Project;
  tenants(): ConsoleTenant[];
}

/** One minute of a tenant's traffic. */
export interface MinutePoint {
  /** Start of the minute (ISO). */
  minute: string;
  requests: number;
  errors: number;
  throttled: number;
  /** Requests per second over the part of the minute that has passed (and that dev was counting). */
  rps: number;
  p99: number | null;
}

export interface TenantOverview {
  id: string;
  /** The registry's status: `active`, `suspended`, `provisioning`. */
  status: string;
  suspended: boolean;
  tier: string;
  extensions: string[];
  deploy: { at: string; target: string; outcome: string; artifact: string; error: string | null } | null;
  process: string;
  environments: number;
  restarts: number;
  /** Tenant-level settings per extension, as the registry holds them. */
  config: Record<string, Record<string, unknown>>;
  /** Since dev started, and now (the last few seconds). */
  totals: { requests: number; errors: number; throttled: number; rps: number; p99: number | null };
  /** The last `minutes` minutes, oldest first, the current (partial) minute last. */
  series: MinutePoint[];
}

export interface OverviewDocument {
  generatedAt: string;
  minutes: number;
  tenants: TenantOverview[];
}

/** Chart spans the console offers. */
export const CONSOLE_MINUTES = [5, 15, 60] as const;

/** The `?minutes=` of a request, one of {@link CONSOLE_MINUTES} (default 15). */
export function consoleMinutes(value: string | null): number {
  const n = Number(value);
  return (CONSOLE_MINUTES as readonly number[]).includes(n) ? Math.min(n, MINUTE_SLOTS) : 15;
}

function minuteSeries(stats: TenantStats, minutes: number, now: number): MinutePoint[] {
  const points: MinutePoint[] = [];
  for (let back = minutes - 1; back >= 0; back -= 1) {
    const at = now - back * 60_000;
    const start = Math.floor(at / 60_000) * 60_000;
    const figures = stats.minutes.window(1, at);
    const counted = (Math.min(now, start + 60_000) - Date.parse(figures.since)) / 1000;
    points.push({
      minute: new Date(start).toISOString(),
      requests: figures.requests,
      errors: figures.errors,
      throttled: figures.throttled,
      rps: Math.round((figures.requests / Math.max(1, counted)) * 100) / 100,
      p99: figures.latencyMs.p99,
    });
  }
  return points;
}

export function overviewDocument(source: ConsoleSource, minutes: number, now = Date.now()): OverviewDocument {
  const tenants = source.tenants().map((t): TenantOverview => {
    const snapshot = t.stats.snapshot({ status: t.process, pid: null, restarts: t.restarts }, now, 1);
    const last = t.record.deploys.at(-1);
    return {
      id: t.record.id,
      status: t.record.status,
      suspended: t.record.status === 'suspended',
      tier: t.record.tier,
      extensions: [...t.record.extensions],
      deploy: last ? { at: last.at, target: last.target, outcome: last.outcome, artifact: last.artifact.slice(0, 12), error: last.error ?? null } : null,
      process: t.process,
      environments: t.environments,
      restarts: t.restarts,
      config: t.record.config ?? {},
      totals: { requests: snapshot.requests, errors: snapshot.errors, throttled: snapshot.throttled, rps: snapshot.ratePerSecond, p99: snapshot.latencyMs.recentP99 ?? snapshot.latencyMs.p99 },
      series: minuteSeries(t.stats, minutes, now),
    };
  });
  return { generatedAt: new Date(now).toISOString(), minutes, tenants };
}

/** Log levels from least to most severe; a filter by level shows that level and above. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
const severity = (level: unknown) => Math.max(0, LOG_LEVELS.indexOf(String(level ?? 'info').toLowerCase() as (typeof LOG_LEVELS)[number]));

export interface LogQuery {
  tenant: string | null;
  level: string | null;
  text: string | null;
  limit: number;
}

export function logQuery(params: URLSearchParams): LogQuery {
  const pick = (name: string) => {
    const value = params.get(name)?.trim();
    return value ? value.slice(0, 200) : null;
  };
  const level = pick('level');
  return { tenant: pick('tenant'), level: level && (LOG_LEVELS as readonly string[]).includes(level) ? level : null, text: pick('q'), limit: 200 };
}

export interface ConsoleLogLine {
  time: string;
  tenant: string;
  level: string;
  extension: string | null;
  message: string;
  /** The line's other fields as JSON. */
  fields: string;
}

/**
 * How much of the tenants' log files the console reads per request, split between the tenants it
 * reads (each file's newest part, at least {@link MIN_TAIL_BYTES}): the logs page polls every 2 s,
 * and the reads block dev's event loop while they run.
 */
const LOG_BUDGET_BYTES = 2 * 1024 * 1024;
const MIN_TAIL_BYTES = 16 * 1024;

/** The newest lines of the tenants' logs that match the query, oldest first. */
export function logLines(source: ConsoleSource, query: LogQuery): ConsoleLogLine[] {
  const lines: Array<{ at: number; line: ConsoleLogLine }> = [];
  const text = query.text?.toLowerCase();
  const tenants = source.tenants().filter((t) => query.tenant === null || t.record.id === query.tenant);
  const tailBytes = Math.max(MIN_TAIL_BYTES, Math.floor(LOG_BUDGET_BYTES / Math.max(1, tenants.length)));
  for (const tenant of tenants) {
    const id = tenant.record.id;
    for (const parsed of parseLogFileLines(id, tailLines(tenant.logFile, tailBytes)) as LogLine[]) {
      if (query.level !== null && severity(parsed.level) < severity(query.level)) continue;
      const { time, level, tenant: _tenant, extension, message, ...rest } = parsed;
      const fields = Object.keys(rest).length > 0 ? JSON.stringify(rest) : '';
      const line: ConsoleLogLine = {
        time: typeof time === 'string' ? time : new Date(lineTime(parsed) ?? 0).toISOString(),
        tenant: id,
        level: typeof level === 'string' ? level : 'info',
        extension: typeof extension === 'string' ? extension : null,
        message: typeof message === 'string' ? message : JSON.stringify(message ?? ''),
        fields,
      };
      if (text !== undefined && !`${line.message} ${line.extension ?? ''} ${fields}`.toLowerCase().includes(text)) continue;
      lines.push({ at: lineTime(parsed) ?? 0, line });
    }
  }
  lines.sort((a, b) => a.at - b.at);
  return lines.slice(-query.limit).map((l) => l.line);
}

/** One secret reference as the console lists it. */
export interface ConsoleSecret extends SecretListEntry {
  /** Days since its last rotation (or since it was set, when never rotated). */
  ageDays: number | null;
  /** `ok`, `due` (older than the rotation age audit reports flag), or the metadata's problem. */
  rotation: 'ok' | 'due' | 'unknown' | 'missing' | 'denied' | 'error';
}

export interface TenantSecrets {
  tenant: string;
  secrets: ConsoleSecret[];
  /** Why none could be listed (a rolled-back vault, say): one line, no values. */
  problem: string | null;
}

const DAY_MS = 86_400_000;

/** Every served tenant's secret references, through the code `sovereign secrets list` runs. */
export async function secretsDocument(source: ConsoleSource, now = Date.now()): Promise<{ rotationMaxAgeDays: number; tenants: TenantSecrets[] }> {
  const [{ listTenantSecrets }, { localSecretsPlumbing }, { LocalState }, { ROTATION_MAX_AGE_DAYS }] = await Promise.all([
    import('../../../../secrets/list.js'),
    import('../../secrets.js'),
    import('../../state.js'),
    import('../../../../audit/evidence.js'),
  ]);
  const plumbing = localSecretsPlumbing(source.project);
  const env = { project: source.project, state: new LocalState(source.project), backendFor: plumbing.storeFor, notifyRuntime: plumbing.notifyRuntime };
  const tenants: TenantSecrets[] = [];
  for (const tenant of source.tenants()) {
    const id = tenant.record.id;
    try {
      const listed = await listTenantSecrets(env, id);
      const secrets = listed.secrets.map((s): ConsoleSecret => {
        const basis = Date.parse(s.lastRotatedAt ?? s.setAt);
        const ageDays = Number.isNaN(basis) ? null : Math.max(0, Math.floor((now - basis) / DAY_MS));
        const rotation = s.status !== 'ok' ? s.status : ageDays === null ? 'unknown' : ageDays > ROTATION_MAX_AGE_DAYS ? 'due' : 'ok';
        return { ...s, ageDays, rotation };
      });
      tenants.push({ tenant: id, secrets, problem: null });
    } catch (error) {
      tenants.push({ tenant: id, secrets: [], problem: firstLine(error) });
    }
  }
  return { rotationMaxAgeDays: ROTATION_MAX_AGE_DAYS, tenants };
}

/** The audit chain's status, as `sovereign audit log --verify` reports it. */
export interface AuditStatus {
  checkedAt: string;
  result: TrailVerification | null;
  /** Why it could not be verified at all (one line). */
  problem: string | null;
}

/**
 * The audit chain's verification, redone only when the log or its checkpoint changed (their sizes
 * and modification times): a console polled every second costs one `stat` each time, not a walk
 * of the whole chain.
 */
export class AuditStatusCache {
  private key = '';
  private current: Promise<AuditStatus> | undefined;

  constructor(private readonly project: Project) {}

  private signature(): string {
    const checkpoints = checkpointPaths(this.project.paths.auditLog);
    const paths = [this.project.paths.auditLog, checkpoints.latest, checkpoints.history, this.project.paths.journal];
    return paths
      .map((path) => {
        try {
          const s = statSync(path);
          return `${s.size}:${s.mtimeMs}`;
        } catch {
          return '-';
        }
      })
      .join('|');
  }

  status(): Promise<AuditStatus> {
    const key = this.signature();
    if (this.current === undefined || key !== this.key) {
      this.key = key;
      this.current = this.verify();
    }
    return this.current;
  }

  private async verify(): Promise<AuditStatus> {
    try {
      const { LocalState } = await import('../../state.js');
      const result = await new LocalState(this.project).verifyAuditTrail();
      return { checkedAt: new Date().toISOString(), result, problem: null };
    } catch (error) {
      return { checkedAt: new Date().toISOString(), result: null, problem: firstLine(error) };
    }
  }
}

/** One line saying where the chain stands. */
export function auditSummary(status: AuditStatus): { ok: boolean; text: string } {
  const r = status.result;
  if (!r) return { ok: false, text: `not verified: ${status.problem ?? 'unknown'}` };
  if (r.ok) return { ok: true, text: `intact: ${r.events} events, last seq ${r.lastSeq}${r.checkpoint ? `, signed checkpoint at seq ${r.checkpoint.seq}` : ''}` };
  const where = r.firstBadSeq !== undefined ? `at seq ${r.firstBadSeq}` : r.problem?.seq !== null && r.problem?.seq !== undefined ? `at seq ${r.problem.seq}` : `at line ${r.problem?.line ?? '?'}`;
  return { ok: false, text: `broken ${where}: ${r.problem?.message ?? r.kind ?? 'unknown problem'}` };
}
