/**
 * Offboarding on the aws target (AWS answered by aws-sdk-client-mock and the fake CloudFormation):
 * the table is exported before the stack is deleted, a deletion-protected table stops the run after
 * the export with the tenant left `offboarding`, and a second run completes with a certificate that
 * verifies. The registry and audit log are a local store here; only the target differs.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DeleteStackCommand } from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { awsOffboardTarget } from '../src/targets/aws/offboard.js';
import type { LifecycleEnv } from '../src/lifecycle/apply.js';
import { offboardTenant } from '../src/lifecycle/offboard.js';
import { runDueOffboardings } from '../src/billing/webhook.js';
import { verifyCertificateFile } from '../src/lifecycle/verify-certificate.js';
import { loadProject } from '../src/project.js';
import { LocalState } from '../src/targets/local/state.js';
import { readGenerationMarker } from '../src/targets/local/notify.js';
import { createAwsClients, type AwsClients } from '../src/targets/aws/clients.js';
import { openAwsSession } from '../src/targets/aws/session.js';
import { createDeployedTenant } from './helpers/tenants.js';
import { FakeCloudFormation } from './aws-fakes.js';

const STACK = 'sovereign-prod-acme';
let clients: AwsClients;
let cfn: FakeCloudFormation;
let dynamodb: AwsClientStub<DynamoDBClient>;
let order: string[];

beforeEach(() => {
  clients = createAwsClients({ region: 'eu-west-1' });
  cfn = new FakeCloudFormation(clients.cloudformation);
  mockClient(clients.sts).on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/ops' });
  dynamodb = mockClient(clients.dynamodb);
  order = [];
  cfn.mock.on(DeleteStackCommand).callsFake((input: { StackName: string }) => {
    order.push('DeleteStack');
    return (cfn as unknown as { deleteStack(n: string): unknown }).deleteStack(input.StackName);
  });
  dynamodb.on(ScanCommand).callsFake(() => {
    order.push('Scan');
    return { Items: [{ pk: { S: 'orders#1' }, sk: { S: 'v1' } }, { pk: { S: 'orders#2' }, sk: { S: 'v1' } }] };
  });
});

describe('offboarding on aws', () => {
  it('exports before deleting; a protected table stops after the export and a second run completes', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sovereign-offboard-aws-')), 'proj');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'sovereign.config.json'), JSON.stringify({ project: 'demo', stage: 'prod' }));
    const project = await loadProject(dir);
    const warnings: string[] = [];
    const env: LifecycleEnv = { project, state: new LocalState(project), target: 'aws', warn: (m) => warnings.push(m) };
    await createDeployedTenant(env.state, 'prod', { id: 'acme', tier: 'premium', extensions: [] }, 'aws');
    const session = openAwsSession({ project: 'demo', stage: 'prod', clients, sleep: async () => undefined, now: () => Date.parse('2026-03-04T05:06:07Z') });
    cfn.seed(STACK, 'UPDATE_COMPLETE', { Table: { Type: 'AWS::DynamoDB::Table' } });
    dynamodb.on(DescribeTableCommand).resolves({ Table: { TableName: STACK, DeletionProtectionEnabled: true } });

    const first = join(dir, 'first');
    await expect(offboardTenant(env, { tenant: 'acme', outDir: first, target: awsOffboardTarget({ state: env.state, session }) })).rejects.toThrow(/deletion-protected/);
    expect((await env.state.getTenant('acme'))?.status).toBe('offboarding');
    expect(order).toEqual(['Scan']);
    // The state's commit carried the suspension with the transition (here a local state's marker file).
    expect(readGenerationMarker(project, 'acme')?.suspended).toBe(true);

    order = [];
    const result = await offboardTenant(env, { tenant: 'acme', outDir: join(dir, 'second'), target: awsOffboardTarget({ state: env.state, session, forceDeleteTable: true }) });
    expect(order).toEqual(['Scan', 'DeleteStack']);
    expect(cfn.find(STACK)!.status).toBe('DELETE_COMPLETE');
    expect(await env.state.getTenant('acme')).toBeUndefined();
    const lines = gunzipSync(readFileSync(result.dataExport.path)).toString('utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { Item: { pk: { S: string } } }).Item.pk.S)).toEqual(['orders#1', 'orders#2']);
    expect(existsSync(result.auditBundle.path)).toBe(true);
    const check = verifyCertificateFile(result.certificate.path);
    expect(check).toMatchObject({ ok: true, tenant: 'acme' });
    const certificate = JSON.parse(readFileSync(result.certificate.path, 'utf8')) as { target: string; deleted: string[] };
    expect(certificate.target).toBe('aws');
    expect(certificate.deleted[0]).toMatch(/^stack sovereign-prod-acme: function, HTTP API, table/);
  });

  it('offboards every tenant whose grace period is over, as a scheduled `tenant offboard --due` does, and no other', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sovereign-offboard-due-aws-')), 'proj');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'sovereign.config.json'), JSON.stringify({ project: 'demo', stage: 'prod' }));
    const project = await loadProject(dir);
    const env: LifecycleEnv = { project, state: new LocalState(project), target: 'aws', warn: () => undefined };
    const now = Date.parse('2026-03-04T05:06:07Z');
    const due = { acme: '2026-03-01T00:00:00.000Z', globex: '2026-03-04T05:06:07.000Z', initech: '2026-04-01T00:00:00.000Z' } as const;
    for (const [id, offboardAfter] of Object.entries(due)) {
      await createDeployedTenant(env.state, 'prod', { id, tier: 'standard', extensions: [] }, 'aws');
      await env.state.mutate({ command: 'test', action: 'billing.recorded', tenant: id, args: {} }, async (tx) => {
        const record = (await env.state.getTenant(id))!;
        tx.putTenant({ ...record, billing: { customerId: `cus_${id}`, offboardAfter } });
      });
      cfn.seed(`sovereign-prod-${id}`, 'UPDATE_COMPLETE', { Table: { Type: 'AWS::DynamoDB::Table' } });
    }
    dynamodb.on(DescribeTableCommand).resolves({ Table: { DeletionProtectionEnabled: false } });
    const session = openAwsSession({ project: 'demo', stage: 'prod', clients, sleep: async () => undefined, now: () => now });
    const results = await runDueOffboardings({
      state: env.state,
      project,
      target: 'aws',
      now: () => now,
      offboard: (tenant) => offboardTenant(env, { tenant, outDir: join(dir, tenant), reason: 'billing: grace period over', target: awsOffboardTarget({ state: env.state, session }) }),
    });
    expect(results).toEqual([{ tenant: 'acme', ok: true }, { tenant: 'globex', ok: true }]);
    expect(cfn.find('sovereign-prod-acme')!.status).toBe('DELETE_COMPLETE');
    expect(cfn.find('sovereign-prod-globex')!.status).toBe('DELETE_COMPLETE');
    expect(cfn.find('sovereign-prod-initech')!.status).toBe('UPDATE_COMPLETE');
    expect((await env.state.getTenant('initech'))?.status).toBe('active');
    for (const tenant of ['acme', 'globex']) {
      expect(verifyCertificateFile(join(dir, tenant, `${tenant}-deletion-certificate.json`))).toMatchObject({ ok: true, tenant });
    }
  });
});
