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
import { DeleteAliasCommand, DescribeKeyCommand, KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
let kms: AwsClientStub<KMSClient>;
/** The tenant keys KMS holds: alias → key state; `undefined` deletion date until scheduled. */
let keys: Map<string, { KeyId: string; Arn: string; KeyState: string; DeletionDate?: Date }>;
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const DELETION = new Date('2026-03-11T05:06:07Z');

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
  keys = new Map([['alias/sovereign-prod/tenants/acme', { KeyId: KEY_ID, Arn: `arn:aws:kms:eu-west-1:123456789012:key/${KEY_ID}`, KeyState: 'Enabled' }]]);
  // Class-level: the offboarding target creates its KMS client from the session's settings.
  kms = mockClient(KMSClient);
  kms.on(DescribeKeyCommand).callsFake((input: { KeyId: string }) => {
    const key = keys.get(input.KeyId);
    if (!key) throw Object.assign(new Error(`Alias ${input.KeyId} is not found.`), { name: 'NotFoundException' });
    return { KeyMetadata: { ...key } };
  });
  kms.on(ScheduleKeyDeletionCommand).callsFake((input: { KeyId: string; PendingWindowInDays: number }) => {
    order.push(`ScheduleKeyDeletion ${input.PendingWindowInDays}`);
    for (const key of keys.values()) if (key.KeyId === input.KeyId) Object.assign(key, { KeyState: 'PendingDeletion', DeletionDate: DELETION });
    return { KeyId: input.KeyId, KeyState: 'PendingDeletion', DeletionDate: DELETION, PendingWindowInDays: input.PendingWindowInDays };
  });
  kms.on(DeleteAliasCommand).callsFake((input: { AliasName: string }) => {
    order.push('DeleteAlias');
    keys.delete(input.AliasName);
    return {};
  });
  dynamodb.on(ScanCommand).callsFake(() => {
    order.push('Scan');
    return { Items: [{ pk: { S: 'orders#1' }, sk: { S: 'v1' } }, { pk: { S: 'orders#2' }, sk: { S: 'v1' } }] };
  });
});

afterEach(() => kms.restore());

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
    // Crypto-shredding comes after the export and the stack: nothing needs to read the data any more.
    expect(order).toEqual(['Scan', 'DeleteStack', 'ScheduleKeyDeletion 30', 'DeleteAlias']);
    expect(cfn.find(STACK)!.status).toBe('DELETE_COMPLETE');
    expect(await env.state.getTenant('acme')).toBeUndefined();
    const lines = gunzipSync(readFileSync(result.dataExport.path)).toString('utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { Item: { pk: { S: string } } }).Item.pk.S)).toEqual(['orders#1', 'orders#2']);
    expect(existsSync(result.auditBundle.path)).toBe(true);
    const check = verifyCertificateFile(result.certificate.path);
    expect(check).toMatchObject({ ok: true, tenant: 'acme' });
    const certificate = JSON.parse(readFileSync(result.certificate.path, 'utf8')) as { target: string; deleted: string[]; cryptoShredding: unknown };
    expect(certificate.target).toBe('aws');
    expect(certificate.cryptoShredding).toEqual({ shredded: true, keyId: KEY_ID, keyArn: `arn:aws:kms:eu-west-1:123456789012:key/${KEY_ID}`, deletionDate: DELETION.toISOString(), reason: null });
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

  it('records the shredding, signed: a certificate whose key or date was edited no longer verifies', async () => {
    const { env, session } = await offboardingProject('tampered');
    const result = await offboardTenant(env, { tenant: 'acme', outDir: join(env.project.root, 'out'), target: awsOffboardTarget({ state: env.state, session, forceDeleteTable: true, keys: { tableKey: 'tenant', pendingWindowInDays: 7 } }) });
    expect(order).toContain('ScheduleKeyDeletion 7');
    const text = readFileSync(result.certificate.path, 'utf8');
    expect(verifyCertificateFile(result.certificate.path)).toMatchObject({ ok: true });
    writeFileSync(result.certificate.path, text.replace(DELETION.toISOString(), '2099-01-01T00:00:00.000Z'));
    expect(verifyCertificateFile(result.certificate.path)).toMatchObject({ ok: false });
  });

  it('a key already scheduled for deletion (an interrupted run) is recorded with its date and not scheduled twice', async () => {
    const { env, session } = await offboardingProject('again');
    keys.get('alias/sovereign-prod/tenants/acme')!.KeyState = 'PendingDeletion';
    keys.get('alias/sovereign-prod/tenants/acme')!.DeletionDate = DELETION;
    const result = await offboardTenant(env, { tenant: 'acme', outDir: join(env.project.root, 'out'), target: awsOffboardTarget({ state: env.state, session, forceDeleteTable: true }) });
    expect(order).toEqual(['Scan', 'DeleteStack', 'DeleteAlias']);
    expect(JSON.parse(readFileSync(result.certificate.path, 'utf8')).cryptoShredding).toMatchObject({ shredded: true, keyId: KEY_ID, deletionDate: DELETION.toISOString() });
  });

  it('with the stage\'s data key says in the certificate that no key was shredded', async () => {
    const { env, session } = await offboardingProject('stage-key');
    keys.clear();
    const result = await offboardTenant(env, { tenant: 'acme', outDir: join(env.project.root, 'out'), target: awsOffboardTarget({ state: env.state, session, forceDeleteTable: true, keys: { tableKey: 'stage', pendingWindowInDays: 30 } }) });
    expect(kms.commandCalls(ScheduleKeyDeletionCommand)).toHaveLength(0);
    const certificate = JSON.parse(readFileSync(result.certificate.path, 'utf8')) as { cryptoShredding: { shredded: boolean; keyId: null; reason: string } };
    expect(certificate.cryptoShredding).toMatchObject({ shredded: false, keyId: null, deletionDate: null });
    expect(certificate.cryptoShredding.reason).toMatch(/stage's data key \(alias\/sovereign-prod\/tenant-data\), which other tenants share; no key was shredded/);
    expect(verifyCertificateFile(result.certificate.path)).toMatchObject({ ok: true });
  });
});

/** A project with tenant `acme` deployed to stage prod and its stack seeded, deletion protection off. */
async function offboardingProject(name: string) {
  const dir = join(mkdtempSync(join(tmpdir(), `sovereign-offboard-${name}-`)), 'proj');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'sovereign.config.json'), JSON.stringify({ project: 'demo', stage: 'prod' }));
  const project = await loadProject(dir);
  const env: LifecycleEnv = { project, state: new LocalState(project), target: 'aws', warn: () => undefined };
  await createDeployedTenant(env.state, 'prod', { id: 'acme', tier: 'basic', extensions: [] }, 'aws');
  cfn.seed(STACK, 'UPDATE_COMPLETE', { Table: { Type: 'AWS::DynamoDB::Table' } });
  dynamodb.on(DescribeTableCommand).resolves({ Table: { TableName: STACK, DeletionProtectionEnabled: false } });
  const session = openAwsSession({ project: 'demo', stage: 'prod', clients, sleep: async () => undefined, now: () => Date.parse('2026-03-04T05:06:07Z') });
  return { env, session };
}
