/**
 * Tenant telemetry with the real CloudWatch and CloudWatch Logs clients against a loopback HTTP
 * endpoint given by AWS_ENDPOINT_URL: what goes on the wire, pages followed, AccessDenied from the
 * wire as exit 5. (A separate file: aws-sdk-client-mock replaces `send` on every client of a class.)
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sendJson, startLoopbackServer, type LoopbackServer } from '../../../test/fakes/http.js';
import type { TenantRecord } from '../../state/registry.js';
import { newTenantRecord } from '../../tenants/tenants.js';
import type { AwsClients } from './clients.js';
import { awsTelemetry, createTelemetryClients } from './telemetry.js';

const NOW = Date.parse('2026-03-01T12:07:30.000Z');
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-example' };
const acme: TenantRecord = {
  ...newTenantRecord({ id: 'acme', tier: 'basic', stage: 'prod', extensions: [], by: 't', now: '2026-01-01T00:00:00.000Z' }),
  status: 'active',
  deploys: [{ at: '2026-01-01T00:00:00.000Z', by: 't', target: 'aws', artifact: 'a'.repeat(64), extensions: [], outcome: 'success' }],
};

describe('telemetry with real SDK clients', () => {
  let server: LoopbackServer;
  let requests: Array<{ target: string | undefined; body: Record<string, unknown> }>;
  let respond: (target: string | undefined, count: number) => { status: number; body: unknown };

  beforeEach(async () => {
    requests = [];
    server = await startLoopbackServer((req, res, body) => {
      const target = req.headers['x-amz-target'] as string | undefined;
      requests.push({ target, body: JSON.parse(body || '{}') as Record<string, unknown> });
      const answer = respond(target, requests.length);
      sendJson(res, answer.status, answer.body, { 'content-type': target?.startsWith('Logs_') ? 'application/x-amz-json-1.1' : 'application/x-amz-json-1.0' });
    });
    process.env.AWS_ENDPOINT_URL = server.url;
  });

  afterEach(async () => {
    delete process.env.AWS_ENDPOINT_URL;
    await server.close();
  });

  const telemetry = () =>
    awsTelemetry({
      session: { clients: { cloudformation: new CloudFormationClient({ region: 'eu-west-1', credentials }) } as AwsClients, stage: 'prod', now: () => NOW },
      state: { listTenants: async () => [acme] },
      clients: createTelemetryClients({ region: 'eu-west-1', credentials, maxAttempts: 2 }),
    });

  it('GetMetricData: the queries and window on the wire, NextToken followed, data points read', async () => {
    const minute = (hhmm: string) => Date.parse(`2026-03-01T${hhmm}:00.000Z`) / 1000;
    respond = (_target, count) => ({
      status: 200,
      body: count === 1
        ? { MetricDataResults: [{ Id: 'q0_requests', Timestamps: [minute('12:06')], Values: [60], StatusCode: 'PartialData' }], NextToken: 'more' }
        : { MetricDataResults: [{ Id: 'q0_requests', Timestamps: [minute('12:00')], Values: [40], StatusCode: 'Complete' }, { Id: 'q0_p99', Timestamps: [minute('11:53')], Values: [31.5], StatusCode: 'Complete' }] },
    });
    const fleet = await telemetry().figures();
    expect(requests.map((r) => r.target)).toEqual(['GraniteServiceVersion20100801.GetMetricData', 'GraniteServiceVersion20100801.GetMetricData']);
    const first = requests[0]!.body as { MetricDataQueries: Array<Record<string, unknown>>; StartTime: number; EndTime: number };
    expect([first.StartTime, first.EndTime]).toEqual([minute('11:53'), minute('12:08')]);
    expect(first.MetricDataQueries[4]).toEqual({ Id: 'q0_p99', MetricStat: { Metric: { Namespace: 'AWS/Lambda', MetricName: 'Duration', Dimensions: [{ Name: 'FunctionName', Value: 'sovereign-prod-acme' }] }, Period: 900, Stat: 'p99' }, ReturnData: true });
    expect(requests[1]!.body.NextToken).toBe('more');
    expect(fleet!.tenants[0]).toMatchObject({ tenant: 'acme', requests: 100, ratePerSecond: 1, latencyMs: { p99: 31.5 } });
  });

  it('FilterLogEvents pages on the wire; AccessDenied from the wire is exit 5 naming the action', async () => {
    respond = (_target, count) => count === 1
      ? { status: 200, body: { events: [{ eventId: 'e1', timestamp: NOW - 1000, message: '{"time":"2026-03-01T12:07:29.000Z","level":"info","message":"hello"}' }], nextToken: 'n2' } }
      : count === 2
        ? { status: 200, body: { events: [] } }
        : { status: 400, body: { __type: 'AccessDeniedException', message: 'User arn:aws:iam::1:user/x is not authorized to perform logs:FilterLogEvents' } };
    const lines = await telemetry().logs('acme', { since: NOW - 60_000, requestId: 'r-1' });
    expect(lines.map((l) => l.message)).toEqual(['hello']);
    expect(requests.map((r) => r.target)).toEqual(['Logs_20140328.FilterLogEvents', 'Logs_20140328.FilterLogEvents']);
    expect(requests[0]!.body).toEqual({ logGroupName: '/aws/lambda/sovereign-prod-acme', startTime: NOW - 60_000, filterPattern: '{ ($.requestId = "r-1") }' });
    expect(requests[1]!.body.nextToken).toBe('n2');
    const error = (await telemetry().logs('acme', {}).then(() => undefined, (e: unknown) => e)) as { exitCode: number; message: string; hint: string };
    expect(error.exitCode).toBe(5);
    expect(error.hint).toContain('logs:FilterLogEvents');
    expect(error.message).not.toContain('arn:aws:iam');
  });
});
