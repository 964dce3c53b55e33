/**
 * Audit checkpoints on aws, with the real SDK clients under aws-sdk-client-mock: KMS answers with
 * a real P-256 key (kept here, as KMS keeps it: the code under test only ever gets `Sign` and
 * `GetPublicKey`), S3 keeps objects in memory and honours `If-None-Match` as S3 does. The attacks
 * are on the audit table, which someone without the KMS key can write.
 */
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkpointBytes, keyFingerprint } from '../src/audit/checkpoint.js';
import type { Project } from '../src/project.js';
import { buildEvent } from '../src/state/audit-log.js';
import { createAwsClients, type AwsClients } from '../src/targets/aws/clients.js';
import { AwsCheckpointAnchor, checkpointObjectKey } from '../src/targets/aws/checkpoints.js';
import { openAwsSession } from '../src/targets/aws/session.js';
import { AwsState, seqKey, verifyAwsTrail } from '../src/targets/aws/state.js';
import { renderControlPlaneStack } from '../src/templates/control-plane.js';
import { newTenantRecord } from '../src/tenants/tenants.js';
import { awsError, FakeDocumentTables } from './aws-fakes.js';

const project = { root: '/nowhere', config: { project: 'demo' }, paths: {} } as unknown as Project;
const ARN = 'arn:aws:sts::123456789012:assumed-role/deployer/ci';
const AUDIT = 'sovereign_dev_audit';
const BUCKET = 'sovereign-dev-audit-123456789012-eu-west-1';
const DAY = 24 * 60 * 60 * 1000;

let clients: AwsClients;
let db: FakeDocumentTables;
let objects: Map<string, { body: string; input: PutObjectCommandInput }>;
let kmsKey: ReturnType<typeof generateKeyPairSync>;
let kms: KMSClient;
let kmsCalls: string[];
let clock: number;

beforeEach(() => {
  clients = createAwsClients({ region: 'eu-west-1' });
  db = new FakeDocumentTables();
  objects = new Map();
  kmsCalls = [];
  clock = Date.parse('2026-03-01T00:00:00Z');
  kmsKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  mockClient(clients.sts).on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: ARN, UserId: 'AROA:ci' });
  db.serve(mockClient(clients.documents));
  const s3 = mockClient(clients.s3);
  s3.on(PutObjectCommand).callsFake(async (input: PutObjectCommandInput) => {
    const key = `${input.Bucket}/${input.Key}`;
    if (input.IfNoneMatch === '*' && objects.has(key)) throw awsError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412);
    objects.set(key, { body: String(input.Body), input });
    return {};
  });
  s3.on(GetObjectCommand).callsFake(async (input: { Bucket: string; Key: string }) => {
    const object = objects.get(`${input.Bucket}/${input.Key}`);
    if (!object) throw awsError('NoSuchKey', 'The specified key does not exist.', 404);
    return { Body: { transformToString: async () => object.body } };
  });
  s3.on(ListObjectsV2Command).callsFake(async (input: { Bucket: string; Prefix: string }) => ({
    Contents: [...objects.keys()].filter((k) => k.startsWith(`${input.Bucket}/${input.Prefix}`)).sort().map((k) => ({ Key: k.slice(input.Bucket.length + 1) })),
    IsTruncated: false,
  }));
  kms = new KMSClient({ region: 'eu-west-1' });
  const kmsMock = mockClient(kms);
  kmsMock.on(GetPublicKeyCommand).callsFake(async () => {
    kmsCalls.push('GetPublicKey');
    return { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', PublicKey: new Uint8Array(kmsKey.publicKey.export({ type: 'spki', format: 'der' })) };
  });
  kmsMock.on(SignCommand).callsFake(async (input: { Message: Uint8Array; MessageType: string; SigningAlgorithm: string }) => {
    kmsCalls.push(`Sign ${input.MessageType} ${input.SigningAlgorithm}`);
    return { Signature: new Uint8Array(sign('sha256', Buffer.from(input.Message), kmsKey.privateKey)) };
  });
});

function anchored(): { state: AwsState; anchor: AwsCheckpointAnchor; warnings: string[] } {
  const session = openAwsSession({ project: 'demo', stage: 'dev', clients, out: { info: () => undefined }, sleep: async () => undefined });
  const anchor = new AwsCheckpointAnchor({ kms, s3: clients.s3, bucket: BUCKET, keyId: 'alias/sovereign-dev-audit-checkpoints', project: 'demo', retentionDays: 30, now: () => clock });
  const warnings: string[] = [];
  const state = new AwsState(project, { session, sleep: async () => undefined, now: () => clock, warn: (m) => void warnings.push(m), checkpoints: async () => anchor });
  return { state, anchor, warnings };
}

async function createTenants(state: AwsState, ids: string[]): Promise<void> {
  for (const id of ids) {
    await state.mutate({ command: 'tenant create', action: 'tenant.create', tenant: id }, (tx) => {
      tx.putTenant(newTenantRecord({ id, tier: 'basic', stage: 'dev', extensions: [], by: ARN, now: '2026-01-01T00:00:00.000Z' }));
    });
  }
}

const auditItems = () => db.table(AUDIT);
const itemKey = (seq: number) => FakeDocumentTables.key('demo#audit', seqKey(seq));

describe('checkpoints on aws', () => {
  it('each committed event gets a checkpoint signed by KMS Sign and written under Object Lock (compliance, retention from config), never overwritten', async () => {
    const { state, warnings } = anchored();
    await createTenants(state, ['acme', 'globex']);
    expect(warnings).toEqual([]);
    const events = [];
    for await (const event of state.events()) events.push(event);
    expect([...objects.keys()]).toEqual([`${BUCKET}/${checkpointObjectKey('demo', 1)}`, `${BUCKET}/${checkpointObjectKey('demo', 2)}`]);
    const second = objects.get(`${BUCKET}/checkpoints/demo/000000000002.json`)!;
    expect(second.input).toMatchObject({ IfNoneMatch: '*', ObjectLockMode: 'COMPLIANCE', ChecksumAlgorithm: 'SHA256' });
    expect(second.input.ObjectLockRetainUntilDate).toEqual(new Date(clock + 30 * DAY));
    const checkpoint = JSON.parse(second.body) as { seq: number; headHash: string; count: number; time: string; signer: string; algorithm: string; signature: string };
    expect(checkpoint).toMatchObject({ seq: 2, headHash: events[1]!.hash, count: 2, algorithm: 'ECDSA_SHA_256', signer: keyFingerprint(kmsKey.publicKey) });
    // The signature is KMS's, over the checkpoint's canonical bytes: any ECDSA verifier accepts it.
    expect(verify('sha256', checkpointBytes(checkpoint), kmsKey.publicKey, Buffer.from(checkpoint.signature, 'base64'))).toBe(true);
    // Only Sign and GetPublicKey: the CLI never handles the private key.
    expect(new Set(kmsCalls)).toEqual(new Set(['GetPublicKey', 'Sign RAW ECDSA_SHA_256']));
    expect(await verifyAwsTrail(state, anchored().anchor)).toMatchObject({ ok: true, events: 2, checkpoint: { seq: 2 } });
  });

  it('a checkpoint that cannot be written leaves the commit in place and says so; the trail then names the uncovered seq', async () => {
    const { state, anchor, warnings } = anchored();
    await createTenants(state, ['acme']);
    mockClient(kms).on(SignCommand).rejects(awsError('AccessDeniedException', 'not authorized to perform kms:Sign', 403));
    await createTenants(state, ['globex']);
    expect(await state.getTenant('globex')).toBeDefined();
    expect(warnings.join('\n')).toMatch(/the audit checkpoint of seq 2 was not written .*; the next mutation's checkpoint covers it/);
    expect(await verifyAwsTrail(state, anchor)).toMatchObject({ ok: false, kind: 'unsigned-append', firstBadSeq: 2 });
  });
});

describe('verifyAwsTrail against attacks on the audit table', () => {
  it('truncation: the newest event items deleted', async () => {
    const { state, anchor } = anchored();
    await createTenants(state, ['acme', 'globex', 'initech']);
    auditItems().delete(itemKey(3));
    auditItems().delete(itemKey(2));
    expect(await verifyAwsTrail(state, anchor)).toMatchObject({ ok: false, kind: 'truncated', firstBadSeq: 2, lastSeq: 1, checkpoint: { seq: 3 } });
    // What `audit log --verify` renders on aws.
    expect(await state.verifyAuditTrail()).toMatchObject({ ok: false, kind: 'truncated', firstBadSeq: 2, problem: { seq: 2, message: expect.stringContaining('the audit table ends at seq 1, but checkpoint seq 3') } });
  });

  it('a rewritten tail with recomputed hashes, and an event appended without the key', async () => {
    const { state, anchor } = anchored();
    await createTenants(state, ['acme', 'globex', 'initech']);
    const first = JSON.parse(String(auditItems().get(itemKey(1))!.event));
    const rewritten = [buildEvent(first, { actor: 'mallory', command: 'tenant create', tenant: 'evil', action: 'tenant.create', args: {}, outcome: 'success' })];
    rewritten.push(buildEvent(rewritten[0], { actor: 'mallory', command: 'tenant create', tenant: 'evil2', action: 'tenant.create', args: {}, outcome: 'success' }));
    const saved = new Map(auditItems());
    for (const event of rewritten) auditItems().set(itemKey(event.seq), { ...auditItems().get(itemKey(event.seq))!, hash: event.hash, tenant: event.tenant, event: JSON.stringify(event) });
    expect(await verifyAwsTrail(state, anchor)).toMatchObject({ ok: false, kind: 'rewritten', firstBadSeq: 3 });
    // The next mutation refuses to sign over the rewritten table, and writes nothing.
    const before = new Map(auditItems());
    await expect(createTenants(state, ['hooli'])).rejects.toMatchObject({ exitCode: 1, message: 'the audit table does not match its signed checkpoint at seq 3; nothing was changed' });
    expect(new Map(auditItems())).toEqual(before);
    expect(objects.size).toBe(3);

    for (const [k, v] of saved) auditItems().set(k, v);
    const last = JSON.parse(String(auditItems().get(itemKey(3))!.event));
    const forged = buildEvent(last, { actor: 'mallory', command: 'tenant create', tenant: 'evil', action: 'tenant.create', args: {}, outcome: 'success' });
    auditItems().set(itemKey(4), { pk: 'demo#audit', sk: seqKey(4), seq: 4, tenant: 'evil', hash: forged.hash, event: JSON.stringify(forged) });
    expect(await verifyAwsTrail(state, anchor)).toMatchObject({ ok: false, kind: 'unsigned-append', firstBadSeq: 4 });
  });

  it('a checkpoint object signed by another key is not trusted', async () => {
    const { state, anchor } = anchored();
    await createTenants(state, ['acme']);
    const key = `${BUCKET}/${checkpointObjectKey('demo', 1)}`;
    const object = objects.get(key)!;
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const checkpoint = JSON.parse(object.body);
    objects.set(key, { ...object, body: JSON.stringify({ ...checkpoint, signature: sign('sha256', checkpointBytes(checkpoint), other.privateKey).toString('base64') }) });
    expect(await verifyAwsTrail(state, anchor)).toMatchObject({ ok: false, kind: 'untrusted-checkpoint' });
  });
});

describe('the control plane template', () => {
  it('has an Object Lock bucket (compliance retention from config) and a P-256 SIGN_VERIFY key the account may Sign with and read the public half of', () => {
    const template = renderControlPlaneStack({ project: 'demo', stage: 'dev', checkpointRetentionDays: 90 }) as unknown as { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };
    const bucket = template.Resources.AuditAnchorBucket!;
    expect(bucket.Type).toBe('AWS::S3::Bucket');
    expect(bucket.Properties).toMatchObject({ ObjectLockEnabled: true, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 90 } } }, VersioningConfiguration: { Status: 'Enabled' } });
    const key = template.Resources.AuditCheckpointKey!;
    expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    const statements = key.Properties.KeyPolicy.Statement as Array<{ Action: string[] }>;
    expect(statements.flatMap((s) => s.Action)).toEqual(expect.arrayContaining(['kms:Sign', 'kms:GetPublicKey']));
    // No statement grants every KMS action (an asymmetric private key is never exportable anyway).
    expect(statements.flatMap((s) => s.Action)).not.toContain('kms:*');
    expect((renderControlPlaneStack({ project: 'demo', stage: 'dev' }) as any).Resources.AuditAnchorBucket.Properties.ObjectLockConfiguration.Rule.DefaultRetention.Days).toBe(400);
  });
});
