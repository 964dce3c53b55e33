/**
 * `sovereign tenant run --target aws`: one Lambda `Invoke` of the tenant's function with the event
 * its EventBridge Scheduler schedule sends. The Lambda client is mocked (aws-sdk-client-mock); the
 * mock hands the payload to the real tenant runtime (`sovereign-cli/testing`), so the answer the CLI
 * reads is the runtime's own.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { run } from '../src/cli.js';
import { defineExtension, defineScheduleHandler } from '../src/runtime/extension.js';
import { newTenantRecord } from '../src/tenants/tenants.js';
import { createTestContext, type TestContext } from '../src/testing/index.js';
import { awsError, FakeDocumentTables } from './aws-fakes.js';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';

const manifest = defineExtension({
  name: 'sync',
  version: '1.0.0',
  description: 'sync',
  routes: [],
  schedules: [
    { name: 'quarter', expression: 'rate(15 minutes)', handler: 'tick', payload: { full: false } },
    { name: 'off', expression: 'rate(1 day)', handler: 'tick', enabled: false },
    { name: 'broken', expression: 'rate(1 day)', handler: 'tick#broken' },
  ],
});
const seen: unknown[] = [];
const handlers = {
  tick: {
    handler: defineScheduleHandler(async (run) => {
      seen.push(run.payload);
      return { synced: 2 };
    }),
    broken: defineScheduleHandler(async () => {
      throw new Error('upstream 502');
    }),
  },
};

describe('tenant run --target aws (in process, mocked Lambda, real runtime)', () => {
  let kit: TestContext;
  let out: string;
  let err: string;
  let project: string;
  let sts: AwsClientStub<STSClient>;
  let docs: AwsClientStub<DynamoDBDocumentClient>;
  let lambda: AwsClientStub<LambdaClient>;

  beforeAll(async () => {
    kit = await createTestContext({ tenant: 'acme', stage: 'dev', extension: 'sync', manifest, handlers });
  });
  afterAll(async () => kit.close());

  beforeEach(() => {
    out = '';
    err = '';
    seen.length = 0;
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
    project = mkdtempSync(join(tmpdir(), 'sovereign-aws-run-'));
    writeFileSync(join(project, 'sovereign.config.json'), JSON.stringify({ project: 'demo', region: REGION }));
    sts = mockClient(STSClient);
    sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/ci`, UserId: 'AROA:ci' });
    const db = new FakeDocumentTables();
    const record = { ...newTenantRecord({ id: 'acme', tier: 'standard', stage: 'dev', extensions: ['sync'], by: 'x', now: '2026-01-01T00:00:00.000Z' }), status: 'active' as const };
    db.table('sovereign_dev_tenants').set(FakeDocumentTables.key('demo#tenant', 'acme'), { pk: 'demo#tenant', sk: 'acme', version: 1, record });
    docs = mockClient(DynamoDBDocumentClient);
    db.serve(docs);
    lambda = mockClient(LambdaClient);
    lambda.on(InvokeCommand).callsFake(async (input: { Payload: Uint8Array }) => {
      const answer = await kit.invokeEvent(JSON.parse(new TextDecoder().decode(input.Payload)));
      return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: new TextEncoder().encode(JSON.stringify(answer)), $metadata: { requestId: 'req-1' } };
    });
  });

  afterEach(() => {
    vi.restoreAllMocks();
    sts.restore();
    docs.restore();
    lambda.restore();
  });

  const cli = (...args: string[]) => run(['tenant', 'run', ...args, '--target', 'aws', '-C', project]);

  it('invokes the tenant function synchronously with the schedule event and prints the run', async () => {
    expect(await cli('acme', 'sync.quarter', '--json'), err).toBe(0);
    const calls = lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ FunctionName: 'sovereign-dev-acme', InvocationType: 'RequestResponse' });
    expect(JSON.parse(new TextDecoder().decode(calls[0]!.Payload as Uint8Array))).toEqual({ source: 'sovereign.schedule', extension: 'sync', schedule: 'quarter' });
    expect(seen).toEqual([{ full: false }]);
    expect(JSON.parse(out)).toMatchObject({ tenant: 'acme', via: 'Lambda sovereign-dev-acme', run: { status: 'succeeded', extension: 'sync', schedule: 'quarter', result: { synced: 2 } } });
    // Before the action, the account, region and stage are printed (stderr).
    expect(err).toMatch(new RegExp(ACCOUNT));
  });

  it('honours --endpoint-url for the Lambda call', async () => {
    expect(await cli('acme', 'sync.quarter', '--endpoint-url', 'http://127.0.0.1:4566'), err).toBe(0);
    const client = lambda.commandCalls(InvokeCommand)[0]!.thisValue as LambdaClient;
    const endpoint = await client.config.endpoint!();
    expect(`${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`).toBe('http://127.0.0.1:4566');
  });

  it('passes --payload instead of the manifest payload', async () => {
    expect(await cli('acme', 'sync.quarter', '--payload', '{"full":true}'), err).toBe(0);
    expect(seen).toEqual([{ full: true }]);
    expect(out).toMatch(/ran sync\.quarter for acme \(Lambda sovereign-dev-acme\)/);
  });

  it.each([
    [['acme', 'sync'], 2, /"sync" is not <extension>\.<schedule>/],
    [['acme', 'sync.quarter', '--payload', '{full'], 2, /--payload is not JSON/],
    [['acme', 'cetec.quarter'], 3, /extension "cetec" is not enabled for tenant "acme"/],
    [['nobody', 'sync.quarter'], 3, /tenant "nobody" does not exist/],
  ])('refuses %j before invoking anything (exit %i)', async (args, code, message) => {
    expect(await cli(...(args as string[]))).toBe(code);
    expect(err).toMatch(message);
    expect(err).toMatch(/^hint: /m);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it.each([
    ['sync.nightly', 3, /runs no schedule sync\.nightly/],
    ['sync.off', 2, /schedule sync\.off is disabled for tenant "acme"/],
    ['sync.broken', 1, /schedule sync\.broken of tenant "acme" failed \(Lambda sovereign-dev-acme\): Error: upstream 502/],
  ])('maps the runtime answer for %s to exit %i', async (target, code, message) => {
    expect(await cli('acme', target)).toBe(code);
    expect(err).toMatch(message);
    expect(err).toMatch(/^hint: /m);
    expect(seen).toEqual([]);
  });

  it('a tenant without a function is not found (exit 3); a throttled function fails (exit 1)', async () => {
    lambda.on(InvokeCommand).rejects(awsError('ResourceNotFoundException', 'Function not found', 404));
    expect(await cli('acme', 'sync.quarter')).toBe(3);
    expect(err).toMatch(/has no function sovereign-dev-acme on aws/);
    lambda.on(InvokeCommand).rejects(awsError('TooManyRequestsException', 'Rate exceeded', 429));
    expect(await cli('acme', 'sync.quarter')).toBe(1);
    expect(err).toMatch(/was throttled/);
  });
});
