/**
 * `tenant status`, `top` and `tenant logs` on the aws target through the CLI (in process): the
 * tenant registry in the control-plane table, CloudWatch and CloudWatch Logs mocked per client
 * class, the clients made from the global options (`--endpoint-url`).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { run } from '../src/cli.js';
import { newTenantRecord } from '../src/tenants/tenants.js';
import { awsError, FakeCloudFormation, FakeDocumentTables } from './aws-fakes.js';

let stdout: string;
let stderr: string;
let project: string;
const mocks: Array<{ restore(): void }> = [];
const cw = mockClient(CloudWatchClient);
const logs = mockClient(CloudWatchLogsClient);

beforeEach(() => {
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  project = mkdtempSync(join(tmpdir(), 'sovereign-telemetry-aws-'));
  writeFileSync(join(project, 'sovereign.config.json'), JSON.stringify({ project: 'demo', target: 'aws', region: 'eu-west-1' }));
  const db = new FakeDocumentTables();
  const acme = {
    ...newTenantRecord({ id: 'acme', tier: 'basic', stage: 'dev', extensions: [], by: 'x', now: '2026-01-01T00:00:00.000Z' }),
    status: 'active' as const,
    deploys: [{ at: '2026-01-01T00:00:00.000Z', by: 'x', target: 'aws' as const, artifact: 'a'.repeat(64), extensions: [], outcome: 'success' as const, stack: 'sovereign-dev-acme' }],
  };
  db.table('sovereign_dev_tenants').set(FakeDocumentTables.key('demo#tenant', 'acme'), { pk: 'demo#tenant', sk: 'acme', version: 1, record: acme });
  const docs = mockClient(DynamoDBDocumentClient);
  db.serve(docs);
  const sts = mockClient(STSClient);
  sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:sts::123456789012:assumed-role/ops/me', UserId: 'AROA:me' });
  const cfn = new FakeCloudFormation(CloudFormationClient);
  cw.reset();
  logs.reset();
  mocks.push(docs, sts, cfn.mock);
});

afterEach(() => {
  vi.restoreAllMocks();
  for (const mock of mocks.splice(0)) mock.restore();
});

describe('telemetry on the aws target through the CLI', () => {
  it('tenant status reads CloudWatch with clients made from --endpoint-url', async () => {
    const endpoints: string[] = [];
    cw.on(GetMetricDataCommand).callsFake(async (_input, getClient) => {
      const endpoint = await getClient().config.endpoint!();
      endpoints.push(`${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`);
      return { MetricDataResults: [{ Id: 'q0_requests', Timestamps: [new Date()], Values: [12] }, { Id: 'q0_errors', Timestamps: [new Date()], Values: [3] }] };
    });
    expect(await run(['tenant', 'status', 'acme', '--json', '--endpoint-url', 'http://127.0.0.1:4566', '-C', project]), stderr).toBe(0);
    expect(endpoints).toEqual(['http://127.0.0.1:4566']);
    const report = JSON.parse(stdout) as { state: string; runtime: { source: string; requests: number; errors: number; errorRate: number; health: unknown } };
    // No stack in the fake: health is unreachable, the figures are still there.
    expect(report).toMatchObject({ state: 'active', runtime: { source: "CloudWatch metrics (the runtime's and AWS/Lambda), last 15 min", requests: 12, errors: 3, errorRate: 0.25, health: null } });
  });

  it('tenant status sums the function\'s REPORT lines of the window, read from its log group as dev reads its log file', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    const at = Date.now() - 60_000;
    const line = (id: string, rest: string) => ({ eventId: id, timestamp: at, message: `REPORT RequestId: ${id}\tDuration: ${rest}\n` });
    logs.on(FilterLogEventsCommand).resolves({
      events: [
        line('r1', '180.20 ms\tBilled Duration: 181 ms\tMemory Size: 1024 MB\tMax Memory Used: 90 MB\tInit Duration: 240.00 ms\t'),
        line('r2', '4.00 ms\tBilled Duration: 4 ms\tMemory Size: 1024 MB\tMax Memory Used: 92 MB\t'),
        line('r3', '29000.00 ms\tBilled Duration: 29000 ms\tMemory Size: 1024 MB\tMax Memory Used: 95 MB\tStatus: timeout\t'),
      ],
    });
    expect(await run(['tenant', 'status', 'acme', '--minutes', '5', '--json', '-C', project]), stderr).toBe(0);
    const input = logs.commandCalls(FilterLogEventsCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ logGroupName: '/aws/lambda/sovereign-dev-acme', filterPattern: '"REPORT RequestId"' });
    expect(input.startTime).toBeGreaterThan(Date.now() - 5 * 60_000 - 10_000);
    expect(JSON.parse(stdout).function).toEqual({ minutes: 5, invocations: 3, coldStarts: 1, timeouts: 1, initMs: { p50: 240, max: 240 }, durationMs: { p50: 180.2, p99: 29000 }, billedMs: 29185, memoryMb: 1024, maxMemoryUsedMb: 95 });
    stdout = '';
    expect(await run(['tenant', 'status', 'acme', '--minutes', '5', '-C', project]), stderr).toBe(0);
    expect(stdout).toMatch(/^function {6}3 invocations in 5 min, 1 cold start \(init p50 240ms, max 240ms\), 1 timed out, duration p50 180ms p99 29000ms, memory 95 of 1024 MB$/m);
  });

  it('top lists the tenant with its CloudWatch figures', async () => {
    cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'q0_p99', Timestamps: [new Date()], Values: [42] }] });
    expect(await run(['top', '--json', '-C', project]), stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ source: "CloudWatch metrics (the runtime's and AWS/Lambda), last 15 min", tenants: [{ tenant: 'acme', state: 'active', runtime: 'idle', requests: 0, p99: 42 }] });
  });

  it('tenant logs reads the log group, filtered server-side; AccessDenied is exit 5 with a hint', async () => {
    logs.on(FilterLogEventsCommand).resolves({ events: [{ eventId: 'e1', timestamp: Date.now(), message: JSON.stringify({ time: new Date().toISOString(), level: 'warn', tenant: 'acme', extension: 'avalara', requestId: 'r1', message: 'slow quote' }) }] });
    expect(await run(['tenant', 'logs', 'acme', '--extension', 'avalara', '--since', '5m', '--json', '-C', project]), stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ tenant: 'acme', lines: [{ message: 'slow quote', extension: 'avalara' }] });
    expect(logs.commandCalls(FilterLogEventsCommand)[0]!.args[0].input).toMatchObject({ logGroupName: '/aws/lambda/sovereign-dev-acme', filterPattern: '{ ($.extension = "avalara") }' });

    logs.on(FilterLogEventsCommand).rejects(awsError('AccessDeniedException', 'User: arn:aws:sts::123456789012:assumed-role/ops/me is not authorized', 400));
    stderr = '';
    expect(await run(['tenant', 'logs', 'acme', '-C', project])).toBe(5);
    expect(stderr).toMatch(/^error: AWS denied reading the log group of acme \(AccessDeniedException\)$/m);
    expect(stderr).toMatch(/^hint: .*logs:FilterLogEvents/m);
    expect(stderr).not.toContain('assumed-role');
  });
});
