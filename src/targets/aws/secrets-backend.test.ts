import {
  CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, ListSecretsCommand, ListSecretVersionIdsCommand,
  PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  DescribeParametersCommand, GetParameterCommand, GetParameterHistoryCommand, LabelParameterVersionCommand, PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseReferenceOrThrow } from '../../contract/reference.js';
import { probeReference, SecretStoreError } from '../../secrets/store.js';
import { findHalfFinishedRotation, rollbackSecret, rotateSecret, rotationVersionId, abortRotation } from '../../secrets/rotate.js';
import { AwsSecretStore, publishGenerationItem, SSM_PREVIOUS_LABEL } from './secrets-backend.js';

const CANARY = 'canary-aws-91b7';
const ssmRef = parseReferenceOrThrow('ssm:/dev/tenants/acme/avalara/account_id');
const smRef = parseReferenceOrThrow('secretsmanager:dev/tenants/acme/avalara:license_key');
const SM_TARGET = 'secretsmanager:dev/tenants/acme/avalara';

const ssm = mockClient(SSMClient);
const sm = mockClient(SecretsManagerClient);
let backend: AwsSecretStore;

beforeEach(() => {
  ssm.reset();
  sm.reset();
  backend = new AwsSecretStore({ ssm: new SSMClient({ region: 'eu-west-1' }), secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }), kmsKeyId: 'alias/sovereign-dev' });
});

function awsError(name: string, message = `${name} ${CANARY}`): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400, requestId: 'req-1' } });
}

async function caught(promise: Promise<unknown>): Promise<SecretStoreError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(SecretStoreError);
  expect(String((error as Error).message)).not.toContain(CANARY);
  expect(String((error as SecretStoreError).hint ?? '')).not.toContain(CANARY);
  return error as SecretStoreError;
}

const inputs = <T>(calls: Array<{ args: [{ input: T }] }>) => calls.map((call) => call.args[0].input);

describe('SSM', () => {
  function existingParameter(version: number) {
    // The first page is empty but has a token: DescribeParameters does that with filters.
    ssm.on(DescribeParametersCommand)
      .resolvesOnce({ Parameters: [], NextToken: 't1' })
      .resolves({ Parameters: [{ Name: ssmRef.name, Version: version, LastModifiedDate: new Date('2026-01-02T00:00:00Z'), LastModifiedUser: 'arn:aws:iam::1:user/alice' }] });
    ssm.on(GetParameterHistoryCommand).resolves({
      Parameters: Array.from({ length: version }, (_, i) => ({ Name: ssmRef.name, Version: i + 1, Value: `encrypted-${CANARY}`, Labels: i + 1 === version - 1 ? [SSM_PREVIOUS_LABEL] : [] })),
    });
  }

  it('reads with decryption, by stage label or version', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: ssmRef.name, Value: CANARY } });
    expect(await backend.readValue(ssmRef)).toBe(CANARY);
    await backend.readValue(ssmRef, { versionStage: 'AWSPREVIOUS' });
    await backend.readValue(ssmRef, { versionId: '3' });
    expect(inputs(ssm.commandCalls(GetParameterCommand))).toEqual([
      { Name: '/dev/tenants/acme/avalara/account_id', WithDecryption: true },
      { Name: '/dev/tenants/acme/avalara/account_id:sovereign-previous', WithDecryption: true },
      { Name: '/dev/tenants/acme/avalara/account_id:3', WithDecryption: true },
    ]);
  });

  it('writes a SecureString under the stage key, labelling the old version AWSPREVIOUS first', async () => {
    existingParameter(3);
    ssm.on(LabelParameterVersionCommand).resolves({});
    ssm.on(PutParameterCommand).resolves({ Version: 4 });
    expect(await backend.putVersion(ssmRef, CANARY, { by: 'alice' })).toEqual({ versionId: '4', created: true });
    expect(inputs(ssm.commandCalls(DescribeParametersCommand))).toEqual([
      { ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [ssmRef.name] }], MaxResults: 50, NextToken: undefined },
      { ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [ssmRef.name] }], MaxResults: 50, NextToken: 't1' },
    ]);
    expect(inputs(ssm.commandCalls(LabelParameterVersionCommand))).toEqual([{ Name: ssmRef.name, ParameterVersion: 3, Labels: [SSM_PREVIOUS_LABEL] }]);
    expect(inputs(ssm.commandCalls(PutParameterCommand))).toEqual([
      { Name: ssmRef.name, Value: CANARY, Type: 'SecureString', Overwrite: true, KeyId: 'alias/sovereign-dev' },
    ]);
    const order = ssm.calls().map((call) => (call.args[0] as object).constructor.name);
    expect(order.indexOf('LabelParameterVersionCommand')).toBeLessThan(order.indexOf('PutParameterCommand'));
  });

  it('creates a new parameter without labelling anything', async () => {
    ssm.on(DescribeParametersCommand).resolves({ Parameters: [] });
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    expect(await backend.putVersion(ssmRef, CANARY, { by: 'a' })).toEqual({ versionId: '1', created: true });
    expect(ssm.commandCalls(LabelParameterVersionCommand)).toHaveLength(0);
  });

  it('maps history pages to the version model, newest first, without values', async () => {
    ssm.on(GetParameterHistoryCommand)
      .resolvesOnce({ Parameters: [{ Version: 1, Value: CANARY, Labels: [] }, { Version: 2, Value: CANARY, Labels: [SSM_PREVIOUS_LABEL], LastModifiedUser: 'bob' }], NextToken: 'n1' })
      .resolves({ Parameters: [{ Version: 3, Value: CANARY, Labels: ['blue'], LastModifiedDate: new Date('2026-01-03T00:00:00Z') }] });
    const history = await backend.history(ssmRef);
    expect(history).toEqual([
      { versionId: '3', createdAt: '2026-01-03T00:00:00.000Z', createdBy: undefined, labels: ['AWSCURRENT', 'blue'] },
      { versionId: '2', createdAt: undefined, createdBy: 'bob', labels: ['AWSPREVIOUS'] },
      { versionId: '1', createdAt: undefined, createdBy: undefined, labels: [] },
    ]);
    expect(JSON.stringify(history)).not.toContain(CANARY);
    expect(inputs(ssm.commandCalls(GetParameterHistoryCommand))).toEqual([
      { Name: ssmRef.name, WithDecryption: false, MaxResults: 50, NextToken: undefined },
      { Name: ssmRef.name, WithDecryption: false, MaxResults: 50, NextToken: 'n1' },
    ]);
  });

  it('lists parameters below a prefix across pages', async () => {
    ssm.on(DescribeParametersCommand)
      .resolvesOnce({ Parameters: [{ Name: '/dev/tenants/acme/b' }], NextToken: 'p2' })
      .resolvesOnce({ Parameters: [], NextToken: 'p3' })
      .resolves({ Parameters: [{ Name: '/dev/tenants/acme/a' }] });
    expect(await backend.list({ ssm: '/dev/tenants/acme/' })).toEqual(['ssm:/dev/tenants/acme/a', 'ssm:/dev/tenants/acme/b']);
    expect(inputs(ssm.commandCalls(DescribeParametersCommand)).map((input) => input.NextToken)).toEqual([undefined, 'p2', 'p3']);
    expect(inputs(ssm.commandCalls(DescribeParametersCommand))[0]?.ParameterFilters).toEqual([{ Key: 'Name', Option: 'BeginsWith', Values: ['/dev/tenants/acme/'] }]);
  });

  it('rotates by putting a new version and does nothing when the value is already current', async () => {
    existingParameter(2);
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'old' } });
    ssm.on(LabelParameterVersionCommand).resolves({});
    ssm.on(PutParameterCommand).resolves({ Version: 3 });
    expect(await rotateSecret(backend, ssmRef, 'old', { by: 'a' })).toMatchObject({ outcome: 'unchanged', versionId: '2' });
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
    expect(await rotateSecret(backend, ssmRef, 'new', { by: 'a' })).toMatchObject({ outcome: 'rotated', versionId: '3', previousVersionId: '2' });
    expect(inputs(ssm.commandCalls(PutParameterCommand))[0]).toMatchObject({ Value: 'new', Overwrite: true, Type: 'SecureString' });
  });

  it('rolls back by writing the AWSPREVIOUS value as a new version', async () => {
    existingParameter(3);
    ssm.on(GetParameterCommand, { Name: `${ssmRef.name}:2`, WithDecryption: true }).resolves({ Parameter: { Value: 'v2' } });
    ssm.on(LabelParameterVersionCommand).resolves({});
    ssm.on(PutParameterCommand).resolves({ Version: 4 });
    expect(await rollbackSecret(backend, ssmRef, { by: 'a' })).toEqual({ target: 'ssm:/dev/tenants/acme/avalara/account_id', versionId: '4', rolledBackVersionId: '3' });
    expect(inputs(ssm.commandCalls(LabelParameterVersionCommand))).toEqual([{ Name: ssmRef.name, ParameterVersion: 3, Labels: [SSM_PREVIOUS_LABEL] }]);
    expect(inputs(ssm.commandCalls(PutParameterCommand))).toEqual([{ Name: ssmRef.name, Value: 'v2', Type: 'SecureString', Overwrite: true, KeyId: 'alias/sovereign-dev' }]);
  });

  it.each([
    ['AccessDeniedException', 'denied', 5],
    ['ExpiredTokenException', 'denied', 5],
    ['ParameterNotFound', 'not-found', 3],
    ['ParameterVersionNotFound', 'not-found', 3],
    ['InternalServerError', 'failed', 1],
  ])('maps %s to %s (exit %i) without passing on the AWS message', async (name, reason, exitCode) => {
    ssm.on(GetParameterCommand).rejects(awsError(name));
    const error = await caught(backend.readValue(ssmRef));
    expect(error.reason).toBe(reason);
    expect(error.exitCode).toBe(exitCode);
    expect(error.message).toContain(name);
    expect(error.message).toContain('request req-1');
  });

  it('never echoes a write validation error that quotes the value', async () => {
    ssm.on(DescribeParametersCommand).resolves({ Parameters: [] });
    ssm.on(PutParameterCommand).rejects(awsError('ValidationException', `1 validation error detected: Value '${CANARY}' at 'value' failed`));
    const error = await caught(backend.putVersion(ssmRef, CANARY, { by: 'a' }));
    expect(error.reason).toBe('failed');
  });
});

/** A stateful stand-in for Secrets Manager behind the mocked client. */
function fakeSecretsManager(options: { failStageUpdates?: number } = {}) {
  const versions = new Map<string, { value: string; stages: string[]; created: Date }>();
  let clock = Date.parse('2026-01-01T00:00:00Z');
  let failures = options.failStageUpdates ?? 0;
  const exists = () => versions.size > 0;
  const notFound = () => awsError('ResourceNotFoundException');
  const attach = (stage: string, versionId: string) => {
    for (const [id, version] of versions) {
      if (id !== versionId && version.stages.includes(stage)) {
        version.stages = version.stages.filter((s) => s !== stage);
        if (stage === 'AWSCURRENT') {
          for (const other of versions.values()) other.stages = other.stages.filter((s) => s !== 'AWSPREVIOUS');
          version.stages.push('AWSPREVIOUS');
        }
      }
    }
    const target = versions.get(versionId)!;
    if (!target.stages.includes(stage)) target.stages.push(stage);
  };
  sm.on(DescribeSecretCommand).callsFake(() => {
    if (!exists()) throw notFound();
    return { Name: 'x', VersionIdsToStages: Object.fromEntries([...versions].filter(([, v]) => v.stages.length > 0).map(([id, v]) => [id, [...v.stages]])) };
  });
  sm.on(CreateSecretCommand).callsFake((input: { SecretString: string; ClientRequestToken: string }) => {
    if (exists()) throw awsError('ResourceExistsException');
    versions.set(input.ClientRequestToken, { value: input.SecretString, stages: ['AWSCURRENT'], created: new Date(clock += 1000) });
    return { VersionId: input.ClientRequestToken };
  });
  sm.on(PutSecretValueCommand).callsFake((input: { SecretString: string; ClientRequestToken: string; VersionStages?: string[] }) => {
    if (!exists()) throw notFound();
    const existing = versions.get(input.ClientRequestToken);
    if (existing) {
      if (existing.value !== input.SecretString) throw awsError('ResourceExistsException');
      return { VersionId: input.ClientRequestToken };
    }
    versions.set(input.ClientRequestToken, { value: input.SecretString, stages: [], created: new Date(clock += 1000) });
    for (const stage of input.VersionStages ?? ['AWSCURRENT']) attach(stage, input.ClientRequestToken);
    return { VersionId: input.ClientRequestToken };
  });
  sm.on(UpdateSecretVersionStageCommand).callsFake((input: { VersionStage: string; MoveToVersionId?: string; RemoveFromVersionId?: string }) => {
    if (failures > 0) {
      failures--;
      throw awsError('InternalServiceError');
    }
    const holder = [...versions].find(([, v]) => v.stages.includes(input.VersionStage))?.[0];
    if (holder !== undefined && holder !== input.MoveToVersionId && input.RemoveFromVersionId !== holder) throw awsError('InvalidParameterException');
    if (input.MoveToVersionId) attach(input.VersionStage, input.MoveToVersionId);
    else if (input.RemoveFromVersionId) {
      const version = versions.get(input.RemoveFromVersionId)!;
      version.stages = version.stages.filter((s) => s !== input.VersionStage);
    }
    return {};
  });
  sm.on(GetSecretValueCommand).callsFake((input: { VersionId?: string; VersionStage?: string }) => {
    const entry = input.VersionId !== undefined ? versions.get(input.VersionId) : [...versions.values()].find((v) => v.stages.includes(input.VersionStage ?? 'AWSCURRENT'));
    if (!entry) throw notFound();
    return { SecretString: entry.value };
  });
  sm.on(ListSecretVersionIdsCommand).callsFake((input: { NextToken?: string }) => {
    const all = [...versions].map(([id, v]) => ({ VersionId: id, VersionStages: [...v.stages], CreatedDate: v.created }));
    const start = input.NextToken ? Number(input.NextToken) : 0;
    const page = all.slice(start, start + 2);
    return { Versions: page, ...(start + 2 < all.length ? { NextToken: String(start + 2) } : {}) };
  });
  return versions;
}

describe('Secrets Manager', () => {
  it('creates a secret with a ClientRequestToken under the stage key', async () => {
    fakeSecretsManager();
    const put = await backend.putVersion(smRef, CANARY, { by: 'a', versionId: 'token-0000000000000000000000000001' });
    expect(put).toEqual({ versionId: 'token-0000000000000000000000000001', created: true });
    expect(inputs(sm.commandCalls(CreateSecretCommand))).toEqual([
      { Name: 'dev/tenants/acme/avalara', SecretString: CANARY, ClientRequestToken: 'token-0000000000000000000000000001', KmsKeyId: 'alias/sovereign-dev' },
    ]);
    expect(await backend.describe(smRef)).toMatchObject({ currentVersionId: put.versionId, pendingVersionId: undefined });
  });

  it('rotates: PutSecretValue as AWSPENDING, UpdateSecretVersionStage to AWSCURRENT, AWSPENDING removed', async () => {
    fakeSecretsManager();
    const first = await backend.putVersion(smRef, JSON.stringify({ license_key: 'one' }), { by: 'a' });
    sm.resetHistory();
    const token = rotationVersionId(SM_TARGET, 'r1');
    const result = await rotateSecret(backend, smRef, JSON.stringify({ license_key: CANARY }), { by: 'a', rotationId: 'r1' });
    expect(result).toEqual({ target: SM_TARGET, versionId: token, previousVersionId: first.versionId, outcome: 'rotated' });
    expect(inputs(sm.commandCalls(PutSecretValueCommand))).toEqual([
      { SecretId: 'dev/tenants/acme/avalara', SecretString: JSON.stringify({ license_key: CANARY }), ClientRequestToken: token, VersionStages: ['AWSPENDING'] },
    ]);
    expect(inputs(sm.commandCalls(UpdateSecretVersionStageCommand))).toEqual([
      { SecretId: 'dev/tenants/acme/avalara', VersionStage: 'AWSCURRENT', MoveToVersionId: token, RemoveFromVersionId: first.versionId },
      { SecretId: 'dev/tenants/acme/avalara', VersionStage: 'AWSPENDING', RemoveFromVersionId: token },
    ]);
    expect(await backend.describe(smRef)).toMatchObject({ currentVersionId: token, previousVersionId: first.versionId, pendingVersionId: undefined });
    expect(await probeReference(backend, smRef, SM_TARGET)).toEqual({ status: 'ok', detail: 'resolves' });
    expect(await probeReference(backend, { service: 'secretsmanager', name: 'dev/tenants/acme/avalara', jsonKey: 'other' }, SM_TARGET)).toMatchObject({ status: 'key-missing' });
  });

  it('resumes an interrupted rotation (AWSPENDING left behind) without writing the value twice', async () => {
    fakeSecretsManager({ failStageUpdates: 1 });
    const first = await backend.putVersion(smRef, 'one', { by: 'a' });
    const failed = await caught(rotateSecret(backend, smRef, CANARY, { by: 'a', rotationId: 'r1' }));
    expect(failed.reason).toBe('failed');
    const half = await findHalfFinishedRotation(backend, smRef);
    expect(half).toEqual({ target: SM_TARGET, pendingVersionId: rotationVersionId(SM_TARGET, 'r1'), currentVersionId: first.versionId });
    const resumed = await rotateSecret(backend, smRef, CANARY, { by: 'a', rotationId: 'r1' });
    expect(resumed.outcome).toBe('resumed');
    expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(1);
    expect(await backend.readValue(smRef)).toBe(CANARY);
    expect(await backend.describe(smRef)).toMatchObject({ pendingVersionId: undefined, previousVersionId: first.versionId });
  });

  it('rolls back an interrupted rotation on request', async () => {
    fakeSecretsManager({ failStageUpdates: 1 });
    const first = await backend.putVersion(smRef, 'one', { by: 'a' });
    await caught(rotateSecret(backend, smRef, CANARY, { by: 'a' }));
    const aborted = await abortRotation(backend, smRef);
    expect(aborted.currentVersionId).toBe(first.versionId);
    expect(await backend.describe(smRef)).toMatchObject({ currentVersionId: first.versionId, pendingVersionId: undefined });
    expect(await backend.readValue(smRef)).toBe('one');
  });

  it('maps a reused token with another value to a conflict (exit 4)', async () => {
    fakeSecretsManager();
    await backend.putVersion(smRef, 'one', { by: 'a' });
    await backend.putVersion(smRef, 'two', { by: 'a', versionId: 'tok-00000000000000000000000000000002', labels: ['AWSPENDING'] });
    const again = await backend.putVersion(smRef, 'two', { by: 'a', versionId: 'tok-00000000000000000000000000000002', labels: ['AWSPENDING'] });
    expect(again.created).toBe(false);
    const error = await caught(backend.putVersion(smRef, CANARY, { by: 'a', versionId: 'tok-00000000000000000000000000000002', labels: ['AWSPENDING'] }));
    expect(error.exitCode).toBe(4);
  });

  it('pages through ListSecretVersionIds, including deprecated versions, newest first', async () => {
    fakeSecretsManager();
    await backend.putVersion(smRef, 'one', { by: 'a', versionId: 'v1-000000000000000000000000000000001' });
    for (const [i, token] of ['v2', 'v3', 'v4'].entries()) {
      await rotateSecret(backend, smRef, `value-${i}`, { by: 'a', rotationId: token });
    }
    sm.resetHistory();
    const history = await backend.history(smRef);
    expect(history.map((version) => version.labels)).toEqual([['AWSCURRENT'], ['AWSPREVIOUS'], [], []]);
    expect(inputs(sm.commandCalls(ListSecretVersionIdsCommand))).toEqual([
      { SecretId: 'dev/tenants/acme/avalara', IncludeDeprecated: true, MaxResults: 100, NextToken: undefined },
      { SecretId: 'dev/tenants/acme/avalara', IncludeDeprecated: true, MaxResults: 100, NextToken: '2' },
    ]);
  });

  it('lists secrets below a prefix', async () => {
    sm.on(ListSecretsCommand)
      .resolvesOnce({ SecretList: [{ Name: 'dev/tenants/acme/b' }, { Name: 'dev/tenants/acme-eu/x' }], NextToken: 'n' })
      .resolves({ SecretList: [{ Name: 'dev/tenants/acme/a' }] });
    expect(await backend.list({ secretsmanager: 'dev/tenants/acme/' })).toEqual(['secretsmanager:dev/tenants/acme/a', 'secretsmanager:dev/tenants/acme/b']);
    expect(inputs(sm.commandCalls(ListSecretsCommand))[0]).toEqual({ Filters: [{ Key: 'name', Values: ['dev/tenants/acme/'] }], MaxResults: 100, NextToken: undefined });
  });

  it.each([
    ['AccessDeniedException', 'denied', 5],
    ['DecryptionFailure', 'denied', 5],
    ['ResourceNotFoundException', 'not-found', 3],
  ])('maps %s on GetSecretValue to exit %s', async (name, reason, exitCode) => {
    sm.on(GetSecretValueCommand).rejects(awsError(name));
    const error = await caught(backend.readValue(smRef));
    expect([error.reason, error.exitCode]).toEqual([reason, exitCode]);
  });
});

describe('the generation marker item', () => {
  const doc = mockClient(DynamoDBDocumentClient);
  beforeEach(() => doc.reset());
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
  const now = new Date('2026-01-01T00:00:00Z');

  it('creates the marker on first use and bumps it conditionally after a race', async () => {
    doc.on(GetCommand).resolvesOnce({}).resolvesOnce({ Item: { pk: '_sovereign', sk: 'generation', generation: 1, suspended: true, changes: [{ generation: 1, references: ['x'] }], updatedAt: now.toISOString() } });
    doc.on(PutCommand).rejectsOnce(awsError('ConditionalCheckFailedException')).resolves({});
    const marker = await publishGenerationItem(client, 'sovereign-dev-acme', [SM_TARGET], now);
    expect(marker).toMatchObject({ generation: 2, suspended: true, changes: [{ generation: 1 }, { generation: 2, references: [SM_TARGET] }] });
    expect(inputs(doc.commandCalls(PutCommand)).map((input) => [input.ConditionExpression, input.ExpressionAttributeValues])).toEqual([
      ['attribute_not_exists(pk)', undefined],
      ['#generation = :generation', { ':generation': 1 }],
    ]);
    expect(inputs(doc.commandCalls(GetCommand))[0]).toEqual({ TableName: 'sovereign-dev-acme', Key: { pk: '_sovereign', sk: 'generation' }, ConsistentRead: true });
  });

  it('sets and clears the suspension for the lifecycle commands', async () => {
    doc.on(GetCommand).resolves({ Item: { pk: '_sovereign', sk: 'generation', generation: 4, suspended: false, changes: [], updatedAt: now.toISOString() } });
    doc.on(PutCommand).resolves({});
    const suspended = await publishGenerationItem(client, 'sovereign-dev-acme', [], now, { suspended: true });
    expect(suspended).toMatchObject({ generation: 5, suspended: true });
    expect(inputs(doc.commandCalls(PutCommand))[0]?.Item).toMatchObject({ pk: '_sovereign', sk: 'generation', generation: 5, suspended: true });
  });

  it('maps AccessDenied to exit 5', async () => {
    doc.on(GetCommand).rejects(awsError('AccessDeniedException'));
    const error = await caught(publishGenerationItem(client, 't', ['x']));
    expect(error.exitCode).toBe(5);
  });
});
