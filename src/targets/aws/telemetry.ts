/**
 * Tenant telemetry on aws: figures from CloudWatch `GetMetricData`, health from the tenant's HTTP
 * API, log lines from CloudWatch Logs `FilterLogEvents` on the tenant's log group.
 *
 * Which metrics: the runtime's own (`Sovereign` namespace, dimensions `Stage`, `Tenant`; see
 * `src/runtime/runtime-metrics.ts`): Requests, Errors (5xx answers, a failing route included) and
 * the secret cache's hits and misses on route traffic; and Lambda's own of the tenant's function
 * (`AWS/Lambda`, dimension `FunctionName`, one function per tenant): Invocations (requests before
 * the runtime's first figures), Errors (invocations that crashed or timed out, added to the
 * runtime's), Throttles, and Duration p50/p99.
 */
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery, type MetricDataResult } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, FilterLogEventsCommand, type FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { ExitCode, UserError } from '../../errors.js';
import type { StateStore } from '../../state/store.js';
import type { TenantRecord } from '../../state/registry.js';
import { tenantFunctionName, tenantLogGroupName, tenantStackName } from '../../templates/names.js';
import { parseLambdaLogLine } from '../../telemetry/lambda-log.js';
import { FIGURES_WINDOW_MINUTES, type FleetFigures, type LogLine, type LogQuery, type RuntimeFigures, type TelemetrySource } from '../../telemetry/source.js';
import { clientConfig, type AwsSettings } from './clients.js';
import { abortableSleep } from '../../fleet/run.js';
import { METRICS_NAMESPACE } from '../../runtime/metrics.js';
import { RUNTIME_METRIC_NAMES } from '../../runtime/runtime-metrics.js';
import { awsErrorCode, explainAwsError, isAccessDenied, isCredentialsError, isStackMissing } from './errors.js';
import type { AwsSession } from './session.js';
import { stackOutputs } from './stack.js';

export interface TelemetryClients {
  cloudwatch: CloudWatchClient;
  logs: CloudWatchLogsClient;
}

/** CloudWatch clients with the same endpoint, region, profile and retries as every other client. */
export function createTelemetryClients(settings: AwsSettings): TelemetryClients {
  const config = clientConfig(settings);
  return { cloudwatch: new CloudWatchClient(config), logs: new CloudWatchLogsClient(config) };
}

/** GetMetricData takes at most 500 queries per call. */
export const MAX_QUERIES_PER_CALL = 500;
/** Without `--since`, logs come from the last hour: a log group can hold months. */
export const DEFAULT_LOG_LOOKBACK_MS = 3_600_000;
/** Follow asks again for this much before the newest line seen: CloudWatch Logs ingests late. */
export const FOLLOW_LAG_MS = 10_000;

export interface AwsTelemetryOptions {
  session: Pick<AwsSession, 'clients' | 'stage' | 'now'>;
  state: Pick<StateStore, 'listTenants'>;
  clients: TelemetryClients;
  minutes?: number;
  /**
   * Figures younger than this are answered again without asking CloudWatch (default 30 s): its
   * data points are a minute apart, and `top` refreshes every second.
   */
  cacheMs?: number;
  /** Timeout of the health request (default 3 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Waits between follow rounds; returns early when the signal aborts. */
  wait?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** The queries of one tenant, by the suffix of their id. */
const QUERIES: ReadonlyArray<{ key: string; namespace: 'AWS/Lambda' | typeof METRICS_NAMESPACE; metric: string; stat: string; perMinute: boolean }> = [
  { key: 'requests', namespace: 'AWS/Lambda', metric: 'Invocations', stat: 'Sum', perMinute: true },
  { key: 'errors', namespace: 'AWS/Lambda', metric: 'Errors', stat: 'Sum', perMinute: false },
  { key: 'throttled', namespace: 'AWS/Lambda', metric: 'Throttles', stat: 'Sum', perMinute: false },
  { key: 'p50', namespace: 'AWS/Lambda', metric: 'Duration', stat: 'p50', perMinute: false },
  { key: 'p99', namespace: 'AWS/Lambda', metric: 'Duration', stat: 'p99', perMinute: false },
  { key: 'recentP99', namespace: 'AWS/Lambda', metric: 'Duration', stat: 'p99', perMinute: true },
  { key: 'runtimeErrors', namespace: METRICS_NAMESPACE, metric: RUNTIME_METRIC_NAMES.errors, stat: 'Sum', perMinute: false },
  { key: 'cacheHits', namespace: METRICS_NAMESPACE, metric: RUNTIME_METRIC_NAMES.cacheHits, stat: 'Sum', perMinute: false },
  { key: 'cacheMisses', namespace: METRICS_NAMESPACE, metric: RUNTIME_METRIC_NAMES.cacheMisses, stat: 'Sum', perMinute: false },
];

export interface MetricWindow {
  start: Date;
  end: Date;
  minutes: number;
}

/** The window ends at the next whole minute, so it holds the current minute and whole periods. */
export function metricWindow(now: number, minutes: number): MetricWindow {
  const end = (Math.floor(now / 60_000) + 1) * 60_000;
  return { start: new Date(end - minutes * 60_000), end: new Date(end), minutes };
}

/** The GetMetricData queries of some tenants: ids `q<tenant index>_<key>`, indexes from `first`. */
export function figureQueries(stage: string, tenants: string[], minutes: number, first = 0): MetricDataQuery[] {
  return tenants.flatMap((tenant, index) =>
    QUERIES.map((q) => ({
      Id: `q${first + index}_${q.key}`,
      MetricStat: {
        Metric: {
          Namespace: q.namespace,
          MetricName: q.metric,
          Dimensions: q.namespace === 'AWS/Lambda'
            ? [{ Name: 'FunctionName', Value: tenantFunctionName(stage, tenant) }]
            : [{ Name: 'Stage', Value: stage }, { Name: 'Tenant', Value: tenant }],
        },
        Period: q.perMinute ? 60 : minutes * 60,
        Stat: q.stat,
      },
      ReturnData: true,
    })),
  );
}

interface Series {
  timestamps: number[];
  values: number[];
}

const round = (v: number, places: number): number => Math.round(v * 10 ** places) / 10 ** places;

/** One tenant's figures out of its series (data points of every page, any order). */
export function figuresFrom(tenant: string, series: (key: string) => Series, window: MetricWindow): RuntimeFigures {
  const sum = (key: string) => series(key).values.reduce((a, b) => a + b, 0);
  // One period covers the window; should CloudWatch split it, the larger value is the honest one.
  const max = (key: string) => (series(key).values.length === 0 ? null : round(Math.max(...series(key).values), 2));
  const at = (key: string, minuteStart: number): number | undefined => {
    const s = series(key);
    const i = s.timestamps.indexOf(minuteStart);
    return i < 0 ? undefined : s.values[i];
  };
  const currentMinute = window.end.getTime() - 60_000;
  const newest = (key: string): number | null => {
    const s = series(key);
    if (s.values.length === 0) return null;
    const i = s.timestamps.indexOf(Math.max(...s.timestamps));
    return round(s.values[i]!, 2);
  };
  const requests = sum('requests');
  const errors = sum('errors') + sum('runtimeErrors');
  const hits = sum('cacheHits');
  const misses = sum('cacheMisses');
  const secretCache = hits + misses === 0 ? null : { hits, misses, hitRate: round(hits / (hits + misses), 3) };
  const throttled = sum('throttled');
  const latencyMs = { p50: max('p50'), p99: max('p99') };
  return {
    tenant,
    status: requests > 0 ? 'serving' : 'idle',
    pid: null,
    restarts: 0,
    requests,
    errors,
    throttled,
    statusClasses: {},
    // The last whole minute: the current one is still filling.
    ratePerSecond: round((at('requests', currentMinute - 60_000) ?? 0) / 60, 1),
    latencyMs: { ...latencyMs, recentP99: newest('recentP99') },
    secretCache,
    window: { minutes: window.minutes, since: window.start.toISOString(), requests, errors, throttled, latencyMs, secretCache },
  };
}

/** Never AWS's message: it can quote ARNs, names and values. The error's code only. */
function failure(error: unknown, doing: string, action: string): UserError {
  if (error instanceof UserError) return error;
  if (isCredentialsError(error)) return explainAwsError(error, doing) as UserError;
  const code = awsErrorCode(error);
  if (isAccessDenied(error)) {
    return new UserError(`AWS denied ${doing} (${code})`, {
      exitCode: ExitCode.denied,
      hint: `the identity you act as needs ${action}; see docs/aws.md for the permissions sovereign needs`,
      cause: error,
    });
  }
  return new UserError(`${doing} failed (${code})`, { exitCode: ExitCode.failed, hint: 'run the command again; --verbose shows the cause', cause: error });
}

/** Tenants that have a stack: a successful aws deploy, not deleted. */
function deployedTenants(records: TenantRecord[]): string[] {
  return records.filter((r) => r.status !== 'deleted' && r.deploys.some((d) => d.target === 'aws' && d.outcome === 'success')).map((r) => r.id);
}

/** JSON-safe filter pattern values only; anything else is filtered here instead of server-side. */
const PATTERN_VALUE = /^[A-Za-z0-9._:\-]{1,200}$/;

/** `{ ($.extension = "avalara") && ($.requestId = "r1") }`, or undefined for no filter. */
export function logFilterPattern(query: Pick<LogQuery, 'extension' | 'requestId' | 'reports'>): string | undefined {
  // Lambda's own lines are text, not JSON: a term pattern (the lines are filtered here again).
  if (query.reports === true) return '"REPORT RequestId"';
  const terms: string[] = [];
  if (query.extension !== undefined && PATTERN_VALUE.test(query.extension)) terms.push(`($.extension = "${query.extension}")`);
  if (query.requestId !== undefined && PATTERN_VALUE.test(query.requestId)) terms.push(`($.requestId = "${query.requestId}")`);
  return terms.length === 0 ? undefined : `{ ${terms.join(' && ')} }`;
}

/** One CloudWatch Logs event as a runtime log line (`telemetry/lambda-log.ts`). */
export function parseLogEvent(tenant: string, event: Pick<FilteredLogEvent, 'message' | 'timestamp'>): LogLine | undefined {
  return parseLambdaLogLine(tenant, (event.message ?? '').replace(/\n$/, ''), new Date(event.timestamp ?? 0).toISOString());
}

export function awsTelemetry(options: AwsTelemetryOptions): TelemetrySource {
  const { session, clients } = options;
  const stage = session.stage;
  const defaultMinutes = options.minutes ?? FIGURES_WINDOW_MINUTES;
  const doFetch = options.fetch ?? fetch;
  const timeout = options.timeoutMs ?? 3000;
  const cacheMs = options.cacheMs ?? 30_000;
  let cached: { at: number; key: string; figures: Promise<FleetFigures | undefined> } | undefined;

  /** Every event of the tenant's log group from `startTime` on, page after page. */
  async function* events(tenant: string, startTime: number, pattern: string | undefined): AsyncGenerator<FilteredLogEvent[]> {
    const logGroupName = tenantLogGroupName(stage, tenant);
    let nextToken: string | undefined;
    do {
      let page;
      try {
        page = await clients.logs.send(new FilterLogEventsCommand({ logGroupName, startTime, ...(pattern ? { filterPattern: pattern } : {}), ...(nextToken ? { nextToken } : {}) }));
      } catch (error) {
        if ((error as { name?: string }).name === 'ResourceNotFoundException') {
          throw new UserError(`tenant "${tenant}" has no log group on aws (${logGroupName}): it is not deployed, or has not logged yet`, {
            exitCode: ExitCode.notFound,
            hint: `deploy it with \`sovereign tenant deploy ${tenant}\`; its log group appears with its stack`,
            cause: error,
          });
        }
        throw failure(error, `reading the log group of ${tenant}`, 'logs:FilterLogEvents on its log group');
      }
      yield page.events ?? [];
      nextToken = page.nextToken;
    } while (nextToken);
  }

  async function fleetFigures(now: number, minutes: number, only: string[] | undefined): Promise<FleetFigures | undefined> {
    const tenants = deployedTenants(await options.state.listTenants()).filter((t) => only === undefined || only.includes(t));
    if (tenants.length === 0) return undefined;
    const window = metricWindow(now, minutes);
    const found = new Map<string, Series>();
    const perCall = Math.floor(MAX_QUERIES_PER_CALL / QUERIES.length);
    for (let offset = 0; offset < tenants.length; offset += perCall) {
      const batch = tenants.slice(offset, offset + perCall);
      const queries = figureQueries(stage, batch, minutes, offset);
      let nextToken: string | undefined;
      do {
        let page;
        try {
          page = await clients.cloudwatch.send(new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: window.start, EndTime: window.end, ...(nextToken ? { NextToken: nextToken } : {}) }));
        } catch (error) {
          throw failure(error, 'reading tenant metrics from CloudWatch', 'cloudwatch:GetMetricData');
        }
        for (const result of page.MetricDataResults ?? []) addSeries(found, result);
        nextToken = page.NextToken;
      } while (nextToken);
    }
    const empty: Series = { timestamps: [], values: [] };
    return {
      source: `CloudWatch metrics (the runtime's and AWS/Lambda), last ${minutes} min`,
      since: window.start.toISOString(),
      serves: 'tenants deployed to aws',
      tenants: tenants.map((tenant, index) => figuresFrom(tenant, (key) => found.get(`q${index}_${key}`) ?? empty, window)),
    };
  }

  const toLines = (tenant: string, page: FilteredLogEvent[]): LogLine[] => page.flatMap<LogLine>((e) => parseLogEvent(tenant, e) ?? []);

  return {
    unavailableHint: `no tenant of stage ${stage} has been deployed to aws yet`,

    figures(query = {}): Promise<FleetFigures | undefined> {
      const now = session.now();
      const minutes = query.minutes ?? defaultMinutes;
      const key = `${minutes}|${query.tenants?.join(',') ?? '*'}`;
      if (cached === undefined || cached.key !== key || now - cached.at >= cacheMs) {
        const figures = fleetFigures(now, minutes, query.tenants);
        cached = { at: now, key, figures };
        // A failure is not kept: the next call asks again.
        figures.catch(() => {
          if (cached?.figures === figures) cached = undefined;
        });
      }
      return cached.figures;
    },

    async health(tenant) {
      const stackName = tenantStackName(stage, tenant);
      let url: string | undefined;
      try {
        const answer = await session.clients.cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
        url = stackOutputs(answer.Stacks?.[0]).ApiUrl;
      } catch (error) {
        if (isStackMissing(error)) return undefined;
        throw failure(error, `reading the stack of ${tenant}`, 'cloudformation:DescribeStacks on its stack');
      }
      if (!url) return undefined;
      try {
        const answer = await doFetch(`${url.replace(/\/+$/, '')}/_sovereign/health`, { signal: AbortSignal.timeout(timeout) });
        const body = (await answer.json()) as unknown;
        return body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
      } catch {
        return undefined;
      }
    },

    async logs(tenant, query) {
      const startTime = query.since ?? session.now() - DEFAULT_LOG_LOOKBACK_MS;
      const keep = query.limit;
      let lines: LogLine[] = [];
      for await (const page of events(tenant, startTime, logFilterPattern(query))) {
        lines.push(...toLines(tenant, page));
        // Only the newest `limit` lines are kept, however many pages the range holds.
        if (keep !== undefined && lines.length > 2 * keep) lines = lines.slice(-keep);
      }
      return keep === undefined ? lines : lines.slice(-keep);
    },

    async follow(tenant, query, onLine, signal) {
      const wait = options.wait ?? abortableSleep;
      const pattern = logFilterPattern(query);
      // The first round prints the newest `limit` lines; then every event once, by event id.
      let edge = query.since ?? session.now() - DEFAULT_LOG_LOOKBACK_MS;
      const seen = new Map<string, number>();
      let first = true;
      while (!signal.aborted) {
        const fresh: FilteredLogEvent[] = [];
        for await (const page of events(tenant, first ? edge : Math.max(0, edge - FOLLOW_LAG_MS), pattern)) {
          for (const event of page) {
            const id = event.eventId ?? `${event.timestamp}|${event.logStreamName}|${event.message}`;
            if (seen.has(id)) continue;
            seen.set(id, event.timestamp ?? 0);
            fresh.push(event);
          }
        }
        fresh.sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0));
        const lines = toLines(tenant, fresh);
        for (const line of first && query.limit !== undefined ? lines.slice(-query.limit) : lines) onLine(line);
        first = false;
        for (const event of fresh) edge = Math.max(edge, event.timestamp ?? 0);
        // Ids older than the next round's start cannot come back.
        for (const [id, at] of seen) if (at < edge - FOLLOW_LAG_MS) seen.delete(id);
        await wait(query.intervalMs ?? 1000, signal);
      }
    },
  };
}

function addSeries(found: Map<string, Series>, result: MetricDataResult): void {
  if (!result.Id) return;
  const series = found.get(result.Id) ?? { timestamps: [], values: [] };
  const timestamps = result.Timestamps ?? [];
  const values = result.Values ?? [];
  for (let i = 0; i < Math.min(timestamps.length, values.length); i += 1) {
    series.timestamps.push(new Date(timestamps[i]!).getTime());
    series.values.push(values[i]!);
  }
  found.set(result.Id, series);
}
