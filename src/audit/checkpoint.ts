/**
 * Signed checkpoints of the audit log: `{seq, headHash, count, time}` signed with a key that is
 * not the hash chain itself (the project's Ed25519 key locally, a KMS asymmetric key on aws).
 *
 * The hash chain alone proves only that the events hang together: whoever can write the log can
 * cut it, rewrite it from any point or append to it with recomputed hashes. A checkpoint signed
 * by a key the writer does not hold proves that events 1..count existed and that the event at
 * `seq` had `headHash`. So, against the last checkpoint:
 * - a log that ends before `seq` was truncated (the first missing seq is named);
 * - a log whose event at `seq` has another hash was rewritten at or before `seq` (the history of
 *   checkpoints names the first one that no longer matches, so the first bad seq);
 * - events after `seq` were appended without the key, because every mutation writes its
 *   checkpoint in the same journaled commit as its event: a checkpoint never lags its log.
 * What it cannot prove: anything about a writer who holds the key (see the README).
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../contract/canonical-json.js';
import type { AuditEvent } from '../state/audit-log.js';

export const CHECKPOINT_FORMAT = 'sovereign-audit-checkpoint-v1';

/** Days a checkpoint stays under S3 Object Lock on aws unless `audit.checkpointRetentionDays` says otherwise. */
export const DEFAULT_CHECKPOINT_RETENTION_DAYS = 400;

/** What a checkpoint states about the log. */
export interface CheckpointBody {
  seq: number;
  headHash: string;
  count: number;
  time: string;
}

export type CheckpointAlgorithm = 'Ed25519' | 'ECDSA_SHA_256';

export interface Checkpoint extends CheckpointBody {
  /** `SHA256:<base64>` of the signer's SPKI DER. */
  signer: string;
  algorithm: CheckpointAlgorithm;
  /** Base64 of the signature over {@link checkpointBytes}. */
  signature: string;
}

/** Signs checkpoint bytes: a local private key, or KMS `Sign` on aws. */
export interface CheckpointSigner {
  algorithm: CheckpointAlgorithm;
  publicKey: KeyObject;
  sign(message: Buffer): Promise<Buffer> | Buffer;
}

/** The bytes a checkpoint's signature is over: its body in canonical JSON, with the format. */
export function checkpointBytes(body: CheckpointBody): Buffer {
  return Buffer.from(canonicalJson({ format: CHECKPOINT_FORMAT, seq: body.seq, headHash: body.headHash, count: body.count, time: body.time }), 'utf8');
}

/** `SHA256:<base64 without padding>` of the key's SPKI DER, as ssh prints fingerprints. */
export function keyFingerprint(key: KeyObject): string {
  return `SHA256:${createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('base64').replace(/=+$/, '')}`;
}

export function checkpointBody(event: AuditEvent, time: string): CheckpointBody {
  return { seq: event.seq, headHash: event.hash, count: event.seq, time };
}

export async function signCheckpoint(signer: CheckpointSigner, body: CheckpointBody): Promise<Checkpoint> {
  const signature = await signer.sign(checkpointBytes(body));
  return { ...body, signer: keyFingerprint(signer.publicKey), algorithm: signer.algorithm, signature: signature.toString('base64') };
}

/** A signer over a local Ed25519 private key (synchronous, for the local commit). */
export function localCheckpointSigner(privateKey: KeyObject): CheckpointSigner & { sign(message: Buffer): Buffer } {
  return { algorithm: 'Ed25519', publicKey: createPublicKey(privateKey), sign: (message) => sign(null, message, privateKey) };
}

export function signCheckpointSync(signer: CheckpointSigner & { sign(message: Buffer): Buffer }, body: CheckpointBody): Checkpoint {
  return { ...body, signer: keyFingerprint(signer.publicKey), algorithm: signer.algorithm, signature: signer.sign(checkpointBytes(body)).toString('base64') };
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Parses one checkpoint (a line of the history, the latest file, a bundle's file); undefined if malformed. */
export function parseCheckpoint(text: string): Checkpoint | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const c = value as Checkpoint;
  if (typeof c !== 'object' || c === null) return undefined;
  if (!Number.isSafeInteger(c.seq) || c.seq < 1 || c.count !== c.seq || typeof c.headHash !== 'string' || !HEX64.test(c.headHash)) return undefined;
  if (typeof c.time !== 'string' || typeof c.signer !== 'string' || typeof c.signature !== 'string' || (c.algorithm !== 'Ed25519' && c.algorithm !== 'ECDSA_SHA_256')) return undefined;
  return { seq: c.seq, headHash: c.headHash, count: c.count, time: c.time, signer: c.signer, algorithm: c.algorithm, signature: c.signature };
}

export function serializeCheckpoint(checkpoint: Checkpoint): string {
  return JSON.stringify({ seq: checkpoint.seq, headHash: checkpoint.headHash, count: checkpoint.count, time: checkpoint.time, signer: checkpoint.signer, algorithm: checkpoint.algorithm, signature: checkpoint.signature });
}

/** Whether `publicKey` signed `checkpoint` (and the checkpoint names it as its signer). */
export function checkpointSignedBy(checkpoint: Checkpoint, publicKey: KeyObject): boolean {
  if (checkpoint.signer !== keyFingerprint(publicKey)) return false;
  const type = publicKey.asymmetricKeyType;
  if (checkpoint.algorithm === 'Ed25519' ? type !== 'ed25519' : type !== 'ec') return false;
  try {
    return verify(checkpoint.algorithm === 'Ed25519' ? null : 'sha256', checkpointBytes(checkpoint), publicKey, Buffer.from(checkpoint.signature, 'base64'));
  } catch {
    return false;
  }
}
