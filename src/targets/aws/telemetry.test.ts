import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { TenantRecord } from '../../state/registry.js';
import { newTenantRecord } from '../../tenants/tenants.js';
import { followLogs } from '../../telemetry/logs.js';
import { statusReport } from '../../telemetry/format.js';
import type { LogLine } from '../../telemetry/source.js';
import type { AwsClients } from './clients.js';
import { awsTelemetry, logFilterPattern, parseLogEvent } from './telemetry.js';

const CANARY = 'canary-telemetry-5d21';
const cw = mockClient(CloudWatchClient);
const logs = mockClient(CloudWatchLogsClient);
const cfn = mockClient(CloudFormationClient);

const MIN = 60_000;
// 12:07:30 — the window of 15 minutes runs 11:53 to 12:08.
const NOW = Date.parse('2026-03-01T12:07:30.000Z');

function tenant(id: string, deployed: boolean): TenantRecord {
  const record = { ...newTenantRecord({ id, tier: 'basic', stage: 'prod', extensions: [], by: 't', now: '2026-01-01T00:00:00.000Z' }), status: 'active' as const };
  return deployed ? { ...record, deploys: [{ at: '2026-01-01T00:00:00.000Z', by: 't', target: 'aws', artifact: 'a'.repeat(64), extensions: [], outcome: 'success' }] } : record;
}

function awsError(name: string, status = 400): Error {
  return Object.assign(new Error(`${name}: User arn:aws:iam::123:user/x ${CANARY}`), { name, $fault: 'client', $metadata: { httpStatusCode: status } });
}

function source(records: TenantRecord[], extra: { fetch?: typeof fetch; wait?: (ms: number, signal: AbortSignal) => Promise<void> } = {}) {
  const clients = { cloudformation: new CloudFormationClient({ region: 'eu-west-1' }) } as AwsClients;
  return awsTelemetry({
    session: { clients, stage: 'prod', now: () => NOW },
    state: { listTenants: async () => records },
    clients: { cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }), logs: new CloudWatchLogsClient({ region: 'eu-west-1' }) },
    ...extra,
  });
}

async function rejection(promise: Promise<unknown>): Promise<{ message: string; hint?: string; exitCode: number }> {
  const error = (await promise.then(() => undefined, (e: unknown) => e)) as { message: string; hint?: string; exitCode: number };
  expect(error).toBeDefined();
  expect(`${error.message} ${error.hint ?? ''}`).not.toContain(CANARY);
  return error;
}

beforeEach(() => {
  cw.reset();
  logs.reset();
  cfn.reset();
});

describe('figures', () => {
  it('asks for each deployed tenant function’s metrics over the window, with the exact queries', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    await source([tenant('acme', true), tenant('initech', false)]).figures();
    const input = cw.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    expect(input.StartTime).toEqual(new Date('2026-03-01T11:53:00.000Z'));
    expect(input.EndTime).toEqual(new Date('2026-03-01T12:08:00.000Z'));
    const fn = [{ Name: 'FunctionName', Value: 'sovereign-prod-acme' }];
    // The runtime's own figures (src/runtime/runtime-metrics.ts).
    const own = [{ Name: 'Stage', Value: 'prod' }, { Name: 'Tenant', Value: 'acme' }];
    expect(input.MetricDataQueries).toEqual([
      { Id: 'q0_requests', MetricStat: { Metric: { Namespace: 'AWS/Lambda', MetricName: 'Invocations', Dimensions: fn }, Period: 60, Stat: 'Sum' }, ReturnData: true },
      { Id: 'q0_errors', MetricStat: { Metric: { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: fn }, Period: 900, Stat: 'Sum' }, ReturnData: true },
      { Id: 'q0_throttled', MetricStat: { Metric: { Namespace: 'AWS/Lambda', MetricName: 'Throttles', Dimensions: fn }, Period: 900, Stat: 'Sum' }, ReturnData: true },
      { Id: 'q0_p50', MetricStat: { Metric: { Namespace: 'AWS/Lambda', MetricName: 'Duration', Dimensions: fn }, Period: 900, Stat: 'p50' }, ReturnData: true },
      { Id: 'q0_p99', MetricStat: { Metric: { Namespace: 'AWS/Lambda', MetricName: 'Duration', Dimensions: fn }, Period: 900, Stat: 'p99' }, ReturnData: true },
      { Id: 'q0_recentP99', MetricStat: { Metric: { Namespace: 'AWS/Lambda', MetricName: 'Duration', Dimensions: fn }, Period: 60, Stat: 'p99' }, ReturnData: true },
      { Id: 'q0_runtimeErrors', MetricStat: { Metric: { Namespace: 'Sovereign', MetricName: 'Errors', Dimensions: own }, Period: 900, Stat: 'Sum' }, ReturnData: true },
      { Id: 'q0_cacheHits', MetricStat: { Metric: { Namespace: 'Sovereign', MetricName: 'SecretCacheHits', Dimensions: own }, Period: 900, Stat: 'Sum' }, ReturnData: true },
      { Id: 'q0_cacheMisses', MetricStat: { Metric: { Namespace: 'Sovereign', MetricName: 'SecretCacheMisses', Dimensions: own }, Period: 900, Stat: 'Sum' }, ReturnData: true },
    ]);
  });

  it('joins data points across NextToken pages into the figures status and top render', async () => {
    const t = (iso: string) => new Date(`2026-03-01T${iso}:00.000Z`);
    cw.on(GetMetricDataCommand)
      .resolvesOnce({
        MetricDataResults: [
          { Id: 'q0_requests', Timestamps: [t('12:07'), t('12:06')], Values: [30, 120], StatusCode: 'PartialData' },
          { Id: 'q0_p50', Timestamps: [t('11:53')], Values: [12.345], StatusCode: 'Complete' },
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        MetricDataResults: [
          { Id: 'q0_requests', Timestamps: [t('11:55')], Values: [50], StatusCode: 'Complete' },
          { Id: 'q0_errors', Timestamps: [t('11:53')], Values: [4] },
          { Id: 'q0_throttled', Timestamps: [t('11:53')], Values: [2] },
          { Id: 'q0_p99', Timestamps: [t('11:53')], Values: [250.5] },
          { Id: 'q0_recentP99', Timestamps: [t('12:06'), t('12:07')], Values: [100, 80] },
          { Id: 'q0_runtimeErrors', Timestamps: [t('11:53')], Values: [6] },
          { Id: 'q0_cacheHits', Timestamps: [t('11:53')], Values: [95] },
          { Id: 'q0_cacheMisses', Timestamps: [t('11:53')], Values: [5] },
        ],
      });
    const fleet = await source([tenant('acme', true)]).figures();
    expect(cw.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input.NextToken)).toEqual([undefined, 'page-2']);
    expect(fleet).toMatchObject({ since: '2026-03-01T11:53:00.000Z', source: "CloudWatch metrics (the runtime's and AWS/Lambda), last 15 min" });
    expect(fleet!.tenants[0]).toMatchObject({
      // Errors: 4 invocations failed (Lambda) + 6 answered 5xx (the runtime).
      tenant: 'acme', status: 'serving', requests: 200, errors: 10, throttled: 2,
      secretCache: { hits: 95, misses: 5, hitRate: 0.95 },
      // 120 in the last whole minute (12:06).
      ratePerSecond: 2,
      latencyMs: { p50: 12.35, p99: 250.5, recentP99: 80 },
      window: { minutes: 15, since: '2026-03-01T11:53:00.000Z', requests: 200, errors: 10, secretCache: { hitRate: 0.95 } },
    });
    const report = statusReport(tenant('acme', true), fleet, { status: 'ok', secretCache: { hits: 9, misses: 1 } }, 'hint');
    expect(report.runtime).toMatchObject({ requests: 200, errorRate: 0.05 });
  });

  it('batches 55 tenants (495 queries) per call, under the limit of 500', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    const records = Array.from({ length: 100 }, (_, i) => tenant(`t${String(i).padStart(3, '0')}`, true));
    const fleet = await source(records).figures();
    const calls = cw.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input.MetricDataQueries!);
    expect(calls.map((q) => q.length)).toEqual([495, 405]);
    expect(calls[1]![0]!.Id).toBe('q55_requests');
    expect(calls[1]![0]!.MetricStat!.Metric!.Dimensions).toEqual([{ Name: 'FunctionName', Value: 'sovereign-prod-t055' }]);
    expect(new Set(calls.flat().map((q) => q.Id)).size).toBe(900);
    expect(fleet!.tenants).toHaveLength(100);
    expect(fleet!.tenants[99]).toMatchObject({ tenant: 't099', requests: 0, status: 'idle', latencyMs: { p50: null } });
  });

  it('asks for one tenant over the window it is given (tenant status --minutes 5), and caches per window', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    const telemetry = source([tenant('acme', true), tenant('globex', true)]);
    const fleet = await telemetry.figures({ minutes: 5, tenants: ['globex'] });
    const [call] = cw.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input);
    expect(call!.StartTime).toEqual(new Date('2026-03-01T12:03:00.000Z'));
    expect(call!.EndTime).toEqual(new Date('2026-03-01T12:08:00.000Z'));
    expect(new Set(call!.MetricDataQueries!.map((q) => q.MetricStat!.Period))).toEqual(new Set([60, 300]));
    expect(call!.MetricDataQueries!.every((q) => JSON.stringify(q.MetricStat!.Metric!.Dimensions).includes('globex'))).toBe(true);
    expect(fleet).toMatchObject({ source: expect.stringContaining('last 5 min'), tenants: [{ tenant: 'globex', window: { minutes: 5 } }] });
    await telemetry.figures({ minutes: 5, tenants: ['globex'] });
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(1);
    await telemetry.figures();
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(2);
  });

  it('has no figures when no tenant has been deployed, without calling CloudWatch', async () => {
    expect(await source([tenant('acme', false)]).figures()).toBeUndefined();
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(0);
  });

  it('answers again from the last figures for 30 s (top refreshes every second); a failure is not kept', async () => {
    let now = NOW;
    const telemetry = awsTelemetry({
      session: { clients: {} as AwsClients, stage: 'prod', now: () => now },
      state: { listTenants: async () => [tenant('acme', true)] },
      clients: { cloudwatch: new CloudWatchClient({ region: 'eu-west-1' }), logs: new CloudWatchLogsClient({ region: 'eu-west-1' }) },
    });
    cw.on(GetMetricDataCommand).rejectsOnce(awsError('InternalServiceError', 500)).resolves({ MetricDataResults: [] });
    await expect(telemetry.figures()).rejects.toMatchObject({ exitCode: 1, message: 'reading tenant metrics from CloudWatch failed (InternalServiceError)' });
    await telemetry.figures();
    now += 29_999;
    await telemetry.figures();
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(2);
    now += 1;
    await telemetry.figures();
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(3);
  });

  it('AccessDenied is exit 5 naming cloudwatch:GetMetricData, without AWS’s text', async () => {
    cw.on(GetMetricDataCommand).rejects(awsError('AccessDenied', 403));
    const error = await rejection(source([tenant('acme', true)]).figures());
    expect(error.exitCode).toBe(5);
    expect(error.hint).toContain('cloudwatch:GetMetricData');
  });
});

describe('health', () => {
  it('reads the ApiUrl output of the tenant stack and asks its health route', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'sovereign-prod-acme' }).resolves({ Stacks: [{ StackName: 'sovereign-prod-acme', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: [{ OutputKey: 'ApiUrl', OutputValue: 'https://abc.execute-api.eu-west-1.amazonaws.com' }] }] });
    const asked: string[] = [];
    const fakeFetch = (async (url: string) => {
      asked.push(url);
      return new Response(JSON.stringify({ status: 'ok', tenant: 'acme' }), { headers: { 'content-type': 'application/json' } });
    }) as unknown as typeof fetch;
    expect(await source([], { fetch: fakeFetch }).health('acme')).toEqual({ status: 'ok', tenant: 'acme' });
    expect(asked).toEqual(['https://abc.execute-api.eu-west-1.amazonaws.com/_sovereign/health']);
  });

  it('is undefined for a tenant without a stack, and exit 5 when DescribeStacks is denied', async () => {
    cfn.on(DescribeStacksCommand).rejectsOnce(Object.assign(new Error('Stack with id sovereign-prod-acme does not exist'), { name: 'ValidationError' }));
    expect(await source([]).health('acme')).toBeUndefined();
    cfn.on(DescribeStacksCommand).rejects(awsError('AccessDenied', 403));
    const error = await rejection(source([]).health('acme'));
    expect([error.exitCode, error.hint]).toEqual([5, expect.stringContaining('cloudformation:DescribeStacks')]);
  });
});

describe('logs', () => {
  const json = (time: string, extension: string, requestId: string, message: string) => JSON.stringify({ time, level: 'info', tenant: 'acme', stage: 'prod', extension, requestId, message });

  it('pages through FilterLogEvents from --since, server-side filtered, Lambda lines handled', async () => {
    logs.on(FilterLogEventsCommand)
      .resolvesOnce({
        events: [
          { eventId: 'e1', timestamp: NOW - 5000, message: 'START RequestId: 7f3a Version: $LATEST\n' },
          { eventId: 'e2', timestamp: NOW - 4000, message: `${json('2026-03-01T12:07:26.000Z', 'avalara', 'r1', 'quote')}\n` },
        ],
        nextToken: 'n2',
      })
      .resolvesOnce({ events: [], nextToken: 'n3' })
      .resolvesOnce({
        events: [
          { eventId: 'e3', timestamp: NOW - 3000, message: 'END RequestId: 7f3a\n' },
          { eventId: 'e4', timestamp: NOW - 2000, message: 'REPORT RequestId: 7f3a\tDuration: 12.50 ms\tBilled Duration: 13 ms\tMemory Size: 256 MB\tMax Memory Used: 81 MB\t\n' },
          { eventId: 'e5', timestamp: NOW - 1000, message: '2026-03-01T12:07:29.000Z\t7f3a\tINFO\tplain text' },
        ],
      });
    const lines = await source([]).logs('acme', { since: NOW - 60_000, extension: 'avalara' });
    const inputs = logs.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input);
    expect(inputs).toEqual([
      { logGroupName: '/aws/lambda/sovereign-prod-acme', startTime: NOW - 60_000, filterPattern: '{ ($.extension = "avalara") }' },
      { logGroupName: '/aws/lambda/sovereign-prod-acme', startTime: NOW - 60_000, filterPattern: '{ ($.extension = "avalara") }', nextToken: 'n2' },
      { logGroupName: '/aws/lambda/sovereign-prod-acme', startTime: NOW - 60_000, filterPattern: '{ ($.extension = "avalara") }', nextToken: 'n3' },
    ]);
    expect(lines).toEqual([
      { time: '2026-03-01T12:07:26.000Z', level: 'info', tenant: 'acme', stage: 'prod', extension: 'avalara', requestId: 'r1', message: 'quote' },
      { time: new Date(NOW - 2000).toISOString(), level: 'info', tenant: 'acme', extension: null, requestId: '7f3a', message: 'lambda report', fields: { durationMs: 12.5, billedMs: 13, memoryMb: 256, maxMemoryMb: 81 } },
      { time: new Date(NOW - 1000).toISOString(), level: 'info', tenant: 'acme', message: 'plain text' },
    ]);
  });

  it('without --since reads the last hour; keeps only the newest --limit lines', async () => {
    logs.on(FilterLogEventsCommand).resolves({ events: Array.from({ length: 10 }, (_, i) => ({ eventId: `e${i}`, timestamp: NOW - 10_000 + i, message: json('2026-03-01T12:00:00.000Z', 'x', `r${i}`, `m${i}`) })) });
    const lines = await source([]).logs('acme', { limit: 3 });
    expect(logs.commandCalls(FilterLogEventsCommand)[0]!.args[0].input.startTime).toBe(NOW - 3_600_000);
    expect(lines.map((l) => l.message)).toEqual(['m7', 'm8', 'm9']);
  });

  it('a missing log group says the tenant is not deployed or has not logged (exit 3); denied is exit 5', async () => {
    logs.on(FilterLogEventsCommand).rejectsOnce(awsError('ResourceNotFoundException'));
    const missing = await rejection(source([]).logs('acme', {}));
    expect(missing.exitCode).toBe(3);
    expect(missing.message).toMatch(/has no log group on aws .*not deployed, or has not logged yet/);
    logs.on(FilterLogEventsCommand).rejects(awsError('AccessDeniedException'));
    const denied = await rejection(source([]).logs('acme', {}));
    expect([denied.exitCode, denied.hint]).toEqual([5, expect.stringContaining('logs:FilterLogEvents')]);
  });

  it('--follow asks again from the newest timestamp seen and prints every event once, by event id', async () => {
    const ev = (id: string, at: number, message: string) => ({ eventId: id, timestamp: at, message: json(new Date(at).toISOString(), 'avalara', id, message) });
    logs.on(FilterLogEventsCommand)
      .resolvesOnce({ events: [ev('e1', NOW - 3000, 'one'), ev('e2', NOW - 2000, 'two')] })
      // The same events again, a late one in the same millisecond, and a new one.
      .resolvesOnce({ events: [ev('e2', NOW - 2000, 'two'), ev('e2b', NOW - 2000, 'two b'), ev('e3', NOW - 1000, 'three')] })
      .resolves({ events: [ev('e3', NOW - 1000, 'three')] });
    const abort = new AbortController();
    let rounds = 0;
    const wait = async () => {
      rounds += 1;
      if (rounds === 3) abort.abort();
    };
    const seen: LogLine[] = [];
    await followLogs(source([], { wait }), 'acme', { since: NOW - 60_000, extension: 'avalara', signal: abort.signal, onLine: (l) => seen.push(l) });
    expect(seen.map((l) => l.message)).toEqual(['one', 'two', 'two b', 'three']);
    const starts = logs.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input.startTime);
    // First from --since; then from the newest timestamp seen, less the ingestion lag allowance.
    expect(starts).toEqual([NOW - 60_000, NOW - 2000 - 10_000, NOW - 1000 - 10_000]);
    expect(logs.commandCalls(FilterLogEventsCommand).every((c) => c.args[0].input.filterPattern === '{ ($.extension = "avalara") }')).toBe(true);
  });

  it('filter patterns only carry values that need no escaping', () => {
    expect(logFilterPattern({ extension: 'avalara', requestId: 'r-1' })).toBe('{ ($.extension = "avalara") && ($.requestId = "r-1") }');
    expect(logFilterPattern({ requestId: 'a" || $.x = "y' })).toBeUndefined();
    expect(logFilterPattern({})).toBeUndefined();
    // Lambda's own REPORT lines are text: a term pattern.
    expect(logFilterPattern({ reports: true })).toBe('"REPORT RequestId"');
  });

  it('EMF lines keep their own timestamp', () => {
    const emf = { _aws: { Timestamp: 1, CloudWatchMetrics: [] }, Tenant: 'acme', quotes: 1 };
    expect(parseLogEvent('acme', { timestamp: NOW, message: JSON.stringify(emf) })).toEqual(emf);
  });
});
