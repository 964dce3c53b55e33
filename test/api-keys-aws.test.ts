/**
 * API keys on aws. The key records are items of the tenant's own table (`_sovereign#apikey`),
 * written by the CLI in the same DynamoDB transaction as the audit event; the runtime role may
 * record last use (`_usage`) but never write a key record — evaluated on the rendered policy
 * with the project's offline IAM evaluator and an independent simulator. The commands run in
 * process through the real CLI against the real SDK clients under aws-sdk-client-mock.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { run } from '../src/cli.js';
import { API_KEY_PARTITION, API_KEYS_GENERATION_REFERENCE, isWellFormedApiKey, USAGE_PARTITION } from '../src/contract/api-keys.js';
import { hashApiKey } from '../src/runtime/key-material.js';
import { GENERATION_ITEM_KEY } from '../src/contract/generation.js';
import { evaluatePolicies, type EvaluablePolicy } from '../src/isolation/policy-eval.js';
import { renderTenantPolicy } from '../src/templates/policy.js';
import { newTenantRecord } from '../src/tenants/tenants.js';
import { awsError, FakeDocumentTables } from './aws-fakes.js';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const TABLE_ARN = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/sovereign-prod-acme`;

describe('the runtime role and the API key items of its table (offline IAM evaluation of the rendered policy)', () => {
  const policy = renderTenantPolicy({ tenant: 'acme', stage: 'prod', account: ACCOUNT, region: REGION, extensions: [{ name: 'avalara' }] }) as unknown as EvaluablePolicy;
  const decide = (action: string, leadingKeys: string[]) => evaluatePolicies([policy], action, TABLE_ARN, { 'dynamodb:LeadingKeys': leadingKeys });
  const requests: Array<[string, string[], 'allowed' | 'implicitDeny']> = [
    // Last use: the runtime updates `_usage` items.
    ['dynamodb:UpdateItem', [USAGE_PARTITION], 'allowed'],
    // A key record: never written by tenant code, in any form.
    ['dynamodb:PutItem', [API_KEY_PARTITION], 'implicitDeny'],
    ['dynamodb:UpdateItem', [API_KEY_PARTITION], 'implicitDeny'],
    ['dynamodb:DeleteItem', [API_KEY_PARTITION], 'implicitDeny'],
    ['dynamodb:BatchWriteItem', [API_KEY_PARTITION], 'implicitDeny'],
    ['dynamodb:BatchWriteItem', [USAGE_PARTITION, API_KEY_PARTITION], 'implicitDeny'],
    ['dynamodb:BatchWriteItem', ['avalara#orders', API_KEY_PARTITION], 'implicitDeny'],
    // `_usage` grants nothing beside it: not the generation marker, not a look-alike partition.
    ['dynamodb:UpdateItem', [USAGE_PARTITION, GENERATION_ITEM_KEY.pk], 'implicitDeny'],
    ['dynamodb:PutItem', ['_usage#x'], 'implicitDeny'],
    // And it still reads the key records to verify a key.
    ['dynamodb:Query', [API_KEY_PARTITION], 'allowed'],
    ['dynamodb:GetItem', [API_KEY_PARTITION], 'allowed'],
  ];

  it('may update `_usage` (last use) and never write a `_sovereign#apikey` item, alone or hidden in a batch', () => {
    for (const [action, keys, expected] of requests) expect(decide(action, keys), `${action} ${keys.join(',')}`).toBe(expected);
  });

  it('gets the same decisions from an independent IAM simulator', async () => {
    for (const [action, keys, expected] of requests) {
      const answer = await runSimulation(
        {
          request: { principal: `arn:aws:iam::${ACCOUNT}:role/sovereign-prod-acme-runtime`, action, resource: { resource: TABLE_ARN, accountId: ACCOUNT }, contextVariables: { 'dynamodb:LeadingKeys': keys } },
          identityPolicies: [{ name: 'runtime', policy }],
          serviceControlPolicies: [],
          resourceControlPolicies: [],
        },
        {},
      );
      if (answer.resultType === 'error') throw new Error(`iam-simulate refused ${action}: ${answer.errors.message}`);
      expect(answer.overallResult === 'Allowed' ? 'allowed' : 'implicitDeny', `${action} ${keys.join(',')}`).toBe(expected);
    }
  });
});

describe('tenant keys --target aws (in process, mocked AWS)', () => {
  let stdout: string;
  let stderr: string;
  let project: string;
  let sts: AwsClientStub<STSClient>;
  let docs: AwsClientStub<DynamoDBDocumentClient>;
  let db: FakeDocumentTables;
  const TENANT_TABLE = 'sovereign-dev-acme';

  const writeConfig = (extra: Record<string, unknown> = {}) => writeFileSync(join(project, 'sovereign.config.json'), JSON.stringify({ project: 'demo', region: REGION, ...extra }));

  beforeEach(() => {
    stdout = '';
    stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
    project = mkdtempSync(join(tmpdir(), 'sovereign-aws-keys-'));
    writeConfig();
    sts = mockClient(STSClient);
    sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/ci`, UserId: 'AROA:ci' });
    db = new FakeDocumentTables();
    const record = { ...newTenantRecord({ id: 'acme', tier: 'standard', stage: 'dev', extensions: [], by: 'x', now: '2026-01-01T00:00:00.000Z' }), status: 'active' as const };
    db.table('sovereign_dev_tenants').set(FakeDocumentTables.key('demo#tenant', 'acme'), { pk: 'demo#tenant', sk: 'acme', version: 1, record });
    // The deployed tenant's table exists (empty).
    db.table(TENANT_TABLE);
    docs = mockClient(DynamoDBDocumentClient);
    db.serve(docs);
  });

  afterEach(() => {
    vi.restoreAllMocks();
    sts.restore();
    docs.restore();
  });

  const cli = async (...args: string[]) => {
    stdout = '';
    stderr = '';
    return run([...args, '--target', 'aws', '-C', project]);
  };
  const keyItems = () => [...db.table(TENANT_TABLE).values()].filter((item) => item.pk === API_KEY_PARTITION);
  const auditEvents = () => [...db.table('sovereign_dev_audit').values()].map((item) => JSON.parse(item.event as string) as { action: string; outcome: string; args: Record<string, unknown> });

  it('create stores only the hash in the tenant table, in one transaction with its audit event, and moves the generation marker', async () => {
    expect(await cli('tenant', 'keys', 'create', 'acme', '--name', 'erp', '--scopes', 'invoices:read,invoices:write', '--expires', '90d', '--json'), stderr).toBe(0);
    const { key, apiKey } = JSON.parse(stdout) as { key: string; apiKey: { id: string; scopes: string[] } };
    expect(isWellFormedApiKey(key, 'dev')).toBe(true);
    const items = keyItems();
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ pk: API_KEY_PARTITION, sk: hashApiKey(key), id: apiKey.id, name: 'erp', scopes: ['invoices:read', 'invoices:write'], createdBy: `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/ci` });
    expect(JSON.stringify(items)).not.toContain(key);

    // The key item and the audit event travel in the same TransactWriteItems call.
    const writes = docs.commandCalls(TransactWriteCommand).map((call) => call.args[0].input.TransactItems ?? []);
    const withKey = writes.filter((items) => items.some((op) => op.Put?.TableName === TENANT_TABLE));
    expect(withKey).toHaveLength(1);
    expect(withKey[0]!.some((op) => op.Put?.TableName === 'sovereign_dev_audit')).toBe(true);
    expect(withKey[0]!.find((op) => op.Put?.TableName === TENANT_TABLE)!.Put!.ConditionExpression).toBe('attribute_not_exists(sk)');

    const event = auditEvents().find((e) => e.action === 'tenant.keys.create')!;
    expect(event).toMatchObject({ outcome: 'success', args: { name: 'erp', id: apiKey.id, scopes: ['invoices:read', 'invoices:write'] } });
    expect(JSON.stringify(event)).not.toContain(key);
    expect(JSON.stringify(event)).not.toContain(hashApiKey(key));

    const marker = db.table(TENANT_TABLE).get(FakeDocumentTables.key(GENERATION_ITEM_KEY.pk, GENERATION_ITEM_KEY.sk))!;
    expect(JSON.stringify(marker.changes)).toContain(API_KEYS_GENERATION_REFERENCE);
  });

  it('list shows last use from the runtime\'s `_usage` items and never the hash; a malformed usage item is ignored', async () => {
    expect(await cli('tenant', 'keys', 'create', 'acme', '--name', 'erp', '--json'), stderr).toBe(0);
    const { key, apiKey } = JSON.parse(stdout) as { key: string; apiKey: { id: string } };
    expect(await cli('tenant', 'keys', 'create', 'acme', '--name', 'cron', '--json'), stderr).toBe(0);
    const cron = (JSON.parse(stdout) as { apiKey: { id: string } }).apiKey;
    db.table(TENANT_TABLE).set(FakeDocumentTables.key(USAGE_PARTITION, `apikey#${apiKey.id}`), { pk: USAGE_PARTITION, sk: `apikey#${apiKey.id}`, lastUsedAt: '2026-02-03T04:05:06.000Z' });
    db.table(TENANT_TABLE).set(FakeDocumentTables.key(USAGE_PARTITION, `apikey#${cron.id}`), { pk: USAGE_PARTITION, sk: `apikey#${cron.id}`, lastUsedAt: 'yesterday' });
    expect(await cli('tenant', 'keys', 'list', 'acme', '--json'), stderr).toBe(0);
    const listed = JSON.parse(stdout) as { keys: Array<{ name: string; lastUsedAt: string | null; status: string }> };
    expect(listed.keys.map((k) => [k.name, k.lastUsedAt, k.status])).toEqual([
      ['erp', '2026-02-03T04:05:06.000Z', 'active'],
      ['cron', null, 'active'],
    ]);
    expect(stdout).not.toContain(hashApiKey(key));
    expect(stdout).not.toContain(key);
  });

  it('revoke deletes the item with its event (exit 3 for a name it does not have); a duplicate name is exit 4 and writes nothing', async () => {
    expect(await cli('tenant', 'keys', 'create', 'acme', '--name', 'erp'), stderr).toBe(0);
    expect(await cli('tenant', 'keys', 'create', 'acme', '--name', 'erp'), stderr).toBe(4);
    expect(stderr).toMatch(/^error: tenant "acme" already has an API key named "erp"\nhint: /m);
    expect(keyItems()).toHaveLength(1);
    expect(await cli('tenant', 'keys', 'revoke', 'acme', 'erp'), stderr).toBe(0);
    expect(stdout).toMatch(/^Revoked API key erp \(key_[0-9a-f]{16}/);
    expect(keyItems()).toHaveLength(0);
    expect(auditEvents().filter((e) => e.outcome === 'success').map((e) => e.action)).toEqual(['tenant.keys.create', 'tenant.keys.revoke']);
    expect(await cli('tenant', 'keys', 'revoke', 'acme', 'erp'), stderr).toBe(3);
    expect(stderr).toMatch(/^error: tenant "acme" has no API key named "erp"\nhint: /m);
  });

  it('a revoke whose marker write fails is committed, and the warning says how to move the marker', async () => {
    expect(await cli('tenant', 'keys', 'create', 'acme', '--name', 'erp'), stderr).toBe(0);
    docs.on(PutCommand, { TableName: TENANT_TABLE }).rejects(awsError('ProvisionedThroughputExceededException', 'Rate of requests exceeds the allowed throughput'));
    expect(await cli('tenant', 'keys', 'revoke', 'acme', 'erp'), stderr).toBe(0);
    expect(keyItems()).toHaveLength(0);
    expect(stderr).toMatch(/^warning: the generation marker of acme was not updated \(writing the generation marker of table sovereign-dev-acme failed: ProvisionedThroughputExceededException\); warm runtimes keep the API keys they cached \(a revoked one still works\) until the marker moves: create and revoke a key to move it \(`sovereign tenant keys create acme --name flush`, then `sovereign tenant keys revoke acme flush`\)$/m);
  });

  it('a key record that changed between the read and the commit is exit 4 and nothing is written', async () => {
    // The lock holder read a record that another writer (its lock expired) removed meanwhile.
    const ghost = { pk: API_KEY_PARTITION, sk: 'f'.repeat(64), id: 'key_0123456789abcdef', name: 'ghost', scopes: [], createdAt: '2026-01-01T00:00:00.000Z', createdBy: 'x', expiresAt: null };
    docs.on(QueryCommand, { TableName: TENANT_TABLE, ExpressionAttributeValues: { ':pk': API_KEY_PARTITION } }).resolves({ Items: [ghost] });
    expect(await cli('tenant', 'keys', 'revoke', 'acme', 'ghost'), stderr).toBe(4);
    expect(stderr).toMatch(/^error: item _sovereign#apikey of tenant acme's table was changed by another command while this one ran; nothing was written\nhint: run the command again/m);
    expect(auditEvents().filter((e) => e.outcome === 'success')).toEqual([]);
  });

  it('a transaction that fails writes neither the key nor its event', async () => {
    docs.on(TransactWriteCommand).rejects(awsError('InternalServerError', 'Internal server error', 500));
    expect(await cli('tenant', 'keys', 'create', 'acme', '--name', 'erp'), stderr).toBe(1);
    expect(keyItems()).toHaveLength(0);
    expect(stdout).toBe('');
    expect(auditEvents().filter((e) => e.outcome === 'success')).toEqual([]);
  });

  it('a tenant without a table (never deployed) is exit 3 with a hint to deploy, before anything is written', async () => {
    docs.on(QueryCommand, { TableName: TENANT_TABLE }).rejects(awsError('ResourceNotFoundException', 'Requested resource not found'));
    expect(await cli('tenant', 'keys', 'create', 'acme', '--name', 'erp'), stderr).toBe(3);
    expect(stderr).toMatch(/^error: tenant "acme" has no table on aws in stage dev \(sovereign-dev-acme\)/m);
    expect(stderr).toMatch(/^hint: deploy it first: sovereign tenant deploy acme --target aws$/m);
    expect(docs.commandCalls(TransactWriteCommand).filter((c) => (c.args[0].input.TransactItems ?? []).some((op) => op.Put?.TableName === TENANT_TABLE))).toEqual([]);
  });

  it('is refused for a tenant whose config turns API keys off (exit 2, nothing written)', async () => {
    writeConfig({ auth: { tenants: { acme: { apiKeys: false } } } });
    expect(await cli('tenant', 'keys', 'create', 'acme', '--name', 'erp'), stderr).toBe(2);
    expect(stderr).toMatch(/^error: tenant "acme" does not accept API keys \(auth\.apiKeys is false/m);
    expect(keyItems()).toHaveLength(0);
  });
});
