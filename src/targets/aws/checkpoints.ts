/**
 * Audit checkpoints on aws: each mutation's event is followed by a checkpoint signed with the
 * stage's KMS asymmetric key (ECC_NIST_P256, `kms:Sign`; the private key never leaves KMS) and
 * written as an object under S3 Object Lock in compliance mode to the control plane's anchor
 * bucket, `checkpoints/<project>/<seq, 12 digits>.json`, with `If-None-Match: *`.
 *
 * Why this holds against someone who can write the control-plane table: they can cut, rewrite or
 * extend the event items, but they cannot sign a checkpoint (no `kms:Sign` on the key, or no
 * access to the account's KMS at all), and a locked object cannot be deleted or overwritten by
 * anyone, the root user included, until its retention ends. So the newest checkpoint always
 * survives to show how far the log went and what its head was.
 *
 * The checkpoint is written after the event's transaction: a crash in between leaves the last
 * checkpoint one event behind (never ahead); the next mutation's checkpoint covers both.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { GetPublicKeyCommandOutput, KMSClient } from '@aws-sdk/client-kms';
import { checkpointBody, parseCheckpoint, serializeCheckpoint, signCheckpoint, type Checkpoint, type CheckpointSigner } from '../../audit/checkpoint.js';
import type { AuditEvent } from '../../state/audit-log.js';
import { auditAnchorBucketName, auditCheckpointKeyAlias } from '../../templates/names.js';
import { awsFailure } from './errors.js';
import type { AwsSession } from './session.js';

export const CHECKPOINT_PREFIX = 'checkpoints';
const DAY_MS = 24 * 60 * 60 * 1000;

export interface AwsCheckpointAnchorOptions {
  kms: Pick<KMSClient, 'send'>;
  s3: AwsSession['clients']['s3'];
  bucket: string;
  /** Key id, ARN or alias of the signing key. */
  keyId: string;
  project: string;
  /** Days each checkpoint stays locked (`audit.checkpointRetentionDays`). */
  retentionDays: number;
  now?: () => number;
}

export function checkpointObjectKey(project: string, seq: number): string {
  return `${CHECKPOINT_PREFIX}/${project}/${String(seq).padStart(12, '0')}.json`;
}

export class AwsCheckpointAnchor implements CheckpointSigner {
  readonly algorithm = 'ECDSA_SHA_256' as const;
  private key: KeyObject | undefined;

  constructor(private readonly options: AwsCheckpointAnchorOptions) {}

  /** The public half, from `kms:GetPublicKey` (fetched once); set before `sign` is used. */
  get publicKey(): KeyObject {
    if (!this.key) throw new Error('call loadPublicKey() first');
    return this.key;
  }

  async loadPublicKey(): Promise<KeyObject> {
    if (this.key) return this.key;
    const { GetPublicKeyCommand } = await import('@aws-sdk/client-kms');
    let out: GetPublicKeyCommandOutput;
    try {
      out = await this.options.kms.send(new GetPublicKeyCommand({ KeyId: this.options.keyId }));
    } catch (error) {
      throw awsFailure(error, 'reading the audit checkpoint key');
    }
    if (out.KeySpec !== 'ECC_NIST_P256' || out.KeyUsage !== 'SIGN_VERIFY' || !out.PublicKey) {
      throw new Error(`the audit checkpoint key ${this.options.keyId} is ${out.KeySpec ?? '?'} for ${out.KeyUsage ?? '?'}, not ECC_NIST_P256 for SIGN_VERIFY`);
    }
    this.key = createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' });
    return this.key;
  }

  async sign(message: Buffer): Promise<Buffer> {
    const { SignCommand } = await import('@aws-sdk/client-kms');
    try {
      const out = await this.options.kms.send(new SignCommand({ KeyId: this.options.keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }));
      if (!out.Signature) throw new Error('KMS returned no signature');
      return Buffer.from(out.Signature);
    } catch (error) {
      throw awsFailure(error, 'signing the audit checkpoint');
    }
  }

  /** Signs the checkpoint of `event` and writes it, locked, beside the others. */
  async write(event: AuditEvent): Promise<Checkpoint> {
    await this.loadPublicKey();
    const now = this.options.now?.() ?? Date.now();
    const checkpoint = await signCheckpoint(this, checkpointBody(event, new Date(now).toISOString()));
    try {
      await this.options.s3.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: checkpointObjectKey(this.options.project, checkpoint.seq),
          Body: `${serializeCheckpoint(checkpoint)}\n`,
          ContentType: 'application/json',
          IfNoneMatch: '*',
          ChecksumAlgorithm: 'SHA256',
          ObjectLockMode: 'COMPLIANCE',
          ObjectLockRetainUntilDate: new Date(now + this.options.retentionDays * DAY_MS),
        }),
      );
    } catch (error) {
      throw awsFailure(error, 'writing the audit checkpoint');
    }
    return checkpoint;
  }

  /** The checkpoint at `seq`, if one was written. */
  async read(seq: number): Promise<Checkpoint | undefined> {
    try {
      const out = await this.options.s3.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: checkpointObjectKey(this.options.project, seq) }));
      return parseCheckpoint((await out.Body?.transformToString()) ?? '');
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw awsFailure(error, 'reading the audit checkpoint');
    }
  }

  /** The seq of every checkpoint object, in order (keys sort as their seqs do). */
  async *seqs(): AsyncGenerator<number> {
    let token: string | undefined;
    do {
      const out = await this.options.s3.send(new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: `${CHECKPOINT_PREFIX}/${this.options.project}/`, ...(token ? { ContinuationToken: token } : {}) }));
      for (const object of out.Contents ?? []) {
        const seq = Number(/(\d{12})\.json$/.exec(object.Key ?? '')?.[1]);
        if (Number.isSafeInteger(seq)) yield seq;
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }
}

/** The stage's anchor: the bucket and key that `sovereign bootstrap` creates. */
export async function openCheckpointAnchor(session: AwsSession, retentionDays: number, kms?: Pick<KMSClient, 'send'>): Promise<AwsCheckpointAnchor> {
  const { identity, region } = await session.announce();
  const client = kms ?? (await import('./kms-client.js')).kmsClientFor(session.settings);
  return new AwsCheckpointAnchor({
    kms: client,
    s3: session.clients.s3,
    bucket: auditAnchorBucketName(session.stage, identity.account, region),
    keyId: auditCheckpointKeyAlias(session.stage),
    project: session.project,
    retentionDays,
    now: session.now,
  });
}
