import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeEach, describe, expect, it } from 'vitest';
import { DeleteStackCommand } from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand, ScanCommand, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ExitCode, UserError } from '../src/errors.js';
import { createAwsClients, type AwsClients } from '../src/targets/aws/clients.js';
import { destroyTenantOnAws, offboardTenantOnAws } from '../src/targets/aws/destroy.js';
import { Transaction, type MutationInfo, type StateStore } from '../src/state/store.js';
import type { Project } from '../src/project.js';
import type { TenantRecord } from '../src/state/registry.js';
import { newTenantRecord } from '../src/tenants/tenants.js';
import { openAwsSession } from '../src/targets/aws/session.js';
import { awsError, FakeCloudFormation } from './aws-fakes.js';

const STACK = 'sovereign-prod-acme';
const RESOURCES = { Table: { Type: 'AWS::DynamoDB::Table' }, Function: { Type: 'AWS::Lambda::Function' }, RuntimeRole: { Type: 'AWS::IAM::Role' } };

let clients: AwsClients;
let cfn: FakeCloudFormation;
let dynamodb: AwsClientStub<DynamoDBClient>;
let order: string[];

function session() {
  return openAwsSession({ project: 'demo', stage: 'prod', clients, sleep: async () => undefined, now: () => Date.parse('2026-03-04T05:06:07Z') });
}

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
  dynamodb.on(ScanCommand, { ExclusiveStartKey: undefined }).resolves({ Items: [{ pk: { S: 'a' }, sk: { S: '1' } }, { pk: { S: 'b' }, sk: { S: '2' }, n: { N: '3' } }], LastEvaluatedKey: { pk: { S: 'b' }, sk: { S: '2' } } });
  dynamodb.on(ScanCommand, { ExclusiveStartKey: { pk: { S: 'b' }, sk: { S: '2' } } }).resolves({ Items: [{ pk: { S: 'c' }, sk: { S: '3' }, bin: { B: new Uint8Array([1, 2]) } }] });
  dynamodb.on(UpdateTableCommand).callsFake(() => {
    order.push('UpdateTable');
    return {};
  });
});

describe('tenant destroy on aws', () => {
  it('exports every item of the table (paginated scan, JSONL.gz) before deleting the stack', async () => {
    cfn.seed(STACK, 'UPDATE_COMPLETE', RESOURCES);
    dynamodb.on(DescribeTableCommand).resolves({ Table: { TableName: STACK, DeletionProtectionEnabled: false } });
    const dir = mkdtempSync(join(tmpdir(), 'sovereign-export-'));
    const result = await destroyTenantOnAws({ session: session(), tenant: 'acme', exportData: dir });
    expect(result).toMatchObject({ stack: STACK, existed: true, tableProtectionRemoved: false, exported: { items: 3 } });
    expect(readdirSync(dir)).toEqual([`${STACK}-2026-03-04T05-06-07-000Z.jsonl.gz`]);
    const lines = gunzipSync(readFileSync(result.exported!.path)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { Item: Record<string, unknown> });
    expect(lines.map((l) => l.Item.pk)).toEqual([{ S: 'a' }, { S: 'b' }, { S: 'c' }]);
    expect(lines[1]!.Item.n).toEqual({ N: '3' });
    expect(dynamodb.commandCalls(ScanCommand).every((c) => c.args[0].input.ConsistentRead === true)).toBe(true);
    expect(cfn.find(STACK)!.status).toBe('DELETE_COMPLETE');
    expect(dynamodb.commandCalls(UpdateTableCommand)).toHaveLength(0);
  });

  it('a deletion-protected table without the flag: exit 2, nothing exported or deleted', async () => {
    cfn.seed(STACK, 'UPDATE_COMPLETE', RESOURCES);
    dynamodb.on(DescribeTableCommand).resolves({ Table: { TableName: STACK, DeletionProtectionEnabled: true } });
    const error = (await destroyTenantOnAws({ session: session(), tenant: 'acme' }).catch((e: unknown) => e)) as UserError;
    expect(error).toBeInstanceOf(UserError);
    expect(error.exitCode).toBe(ExitCode.badInput);
    expect(error.hint).toMatch(/--force-delete-table/);
    expect(order).toEqual([]);
    expect(dynamodb.commandCalls(ScanCommand)).toHaveLength(0);
    expect(cfn.find(STACK)!.status).toBe('UPDATE_COMPLETE');
  });

  it('with the flag it lifts the protection, then deletes the stack and waits for DELETE_COMPLETE', async () => {
    cfn.seed(STACK, 'UPDATE_COMPLETE', RESOURCES);
    dynamodb.on(DescribeTableCommand).resolves({ Table: { TableName: STACK, DeletionProtectionEnabled: true } });
    const result = await destroyTenantOnAws({ session: session(), tenant: 'acme', forceDeleteTable: true });
    expect(order).toEqual(['UpdateTable', 'DeleteStack']);
    expect(dynamodb.commandCalls(UpdateTableCommand)[0]!.args[0].input).toEqual({ TableName: STACK, DeletionProtectionEnabled: false });
    expect(result.tableProtectionRemoved).toBe(true);
    expect(cfn.find(STACK)!.status).toBe('DELETE_COMPLETE');
  });

  it('DELETE_FAILED names the resource and its reason, exit 1', async () => {
    cfn.seed(STACK, 'UPDATE_COMPLETE', RESOURCES);
    cfn.failures.set('*delete*', 'Table has deletion protection enabled');
    dynamodb.on(DescribeTableCommand).resolves({ Table: { TableName: STACK, DeletionProtectionEnabled: false } });
    const error = (await destroyTenantOnAws({ session: session(), tenant: 'acme' }).catch((e: unknown) => e)) as UserError;
    expect(error.exitCode).toBe(ExitCode.failed);
    expect(error.message).toBe(`deleting stack ${STACK} ended in DELETE_FAILED: Table (AWS::DynamoDB::Table) DELETE_FAILED: Table has deletion protection enabled`);
  });

  it('no stack and no table: nothing to delete, and that is not an error', async () => {
    dynamodb.on(DescribeTableCommand).rejects(awsError('ResourceNotFoundException', 'Requested resource not found'));
    const result = await destroyTenantOnAws({ session: session(), tenant: 'acme', exportData: mkdtempSync(join(tmpdir(), 'sovereign-export-')) });
    expect(result).toEqual({ stack: STACK, existed: false, tableProtectionRemoved: false });
    expect(order).toEqual([]);
  });

  it('offboardTenantOnAws deletes the stack, then the record, in one audited mutation; a refusal records nothing', async () => {
    const tenants = new Map<string, TenantRecord>([['acme', newTenantRecord({ id: 'acme', tier: 'basic', stage: 'prod', extensions: [], by: 'x', now: '2026-01-01T00:00:00.000Z' })]]);
    const events: Array<MutationInfo & { outcome: string; eventArgs: Record<string, unknown> }> = [];
    const state: StateStore = {
      actor: 'arn:aws:iam::123456789012:user/ops',
      project: { config: { project: 'demo' } } as unknown as Project,
      getTenant: async (id) => tenants.get(id),
      listTenants: async () => [...tenants.values()],
      verifyAuditTrail: () => Promise.reject(new Error('not used here')),
      headCheckpoint: async () => undefined,
      async mutate(info, run) {
        const tx = new Transaction();
        try {
          const result = await run(tx);
          for (const [id, record] of tx.tenants) if (record === null) tenants.delete(id);
          events.push({ ...info, outcome: 'success', eventArgs: { ...tx.eventArgs } });
          return result;
        } catch (error) {
          if (!(error instanceof UserError && error.exitCode === ExitCode.badInput)) events.push({ ...info, outcome: 'failure', eventArgs: {} });
          throw error;
        }
      },
    };
    cfn.seed(STACK, 'UPDATE_COMPLETE', RESOURCES);
    dynamodb.on(DescribeTableCommand).resolves({ Table: { TableName: STACK, DeletionProtectionEnabled: true } });
    await expect(offboardTenantOnAws(state, { session: session(), tenant: 'acme' })).rejects.toThrow(/deletion-protected/);
    expect(events).toEqual([]);
    expect(tenants.has('acme')).toBe(true);
    const { result } = await offboardTenantOnAws(state, { session: session(), tenant: 'acme', forceDeleteTable: true });
    expect(result.existed).toBe(true);
    expect(tenants.has('acme')).toBe(false);
    expect(events).toEqual([expect.objectContaining({ action: 'tenant.destroy', outcome: 'success', eventArgs: { stack: STACK, stackExisted: true, tableProtectionRemoved: true } })]);
  });
});
