/**
 * Deletion certificates: a signed statement of what was deleted, when, by whom, and the SHA-256
 * of what was kept (the data export and the final audit bundle). Ed25519 with the project's
 * signing key (`.sovereign/keys/_signing.key`, the same key that signs audit bundles).
 *
 * The file is the canonical form of the document (keys sorted, two-space indent, one trailing
 * newline); the signature covers the canonical JSON of everything but `signature`. Verification
 * checks both, so any changed byte fails, even in whitespace.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../contract/canonical-json.js';
import { keyFingerprint } from '../audit/checkpoint.js';
import { parsePublicKeyBase64, signBytes, verifyBytes, type SigningKey } from '../audit/signing.js';

export const CERTIFICATE_FORMAT = 'sovereign-deletion-certificate';

export interface RetainedFile {
  file: string;
  sha256: string;
  bytes: number;
}

/**
 * What offboarding did to the tenant's own encryption key: scheduled its deletion (`shredded`,
 * with the key and the date KMS deletes it), or why no key was shredded (`reason`).
 */
export interface CryptoShredding {
  shredded: boolean;
  keyId: string | null;
  keyArn?: string;
  /** ISO time KMS deletes the key. */
  deletionDate: string | null;
  reason: string | null;
}

export interface DeletionCertificateBody {
  format: typeof CERTIFICATE_FORMAT;
  version: 1;
  project: string;
  stage: string;
  target: 'local' | 'aws';
  tenant: string;
  tier: string;
  deletedAt: string;
  deletedBy: string;
  reason: string | null;
  /** What no longer exists. */
  deleted: string[];
  retained: { dataExport: RetainedFile & { items: number; table: string }; auditBundle: RetainedFile };
  /** Where the target encrypts a tenant's data with a key of its own: that key's scheduled deletion. */
  cryptoShredding?: CryptoShredding;
  /** The tenant's lifecycle history up to its deletion. */
  transitions: Array<{ from: string | null; to: string; at: string; by: string; reason?: string }>;
  signer: { algorithm: 'Ed25519'; publicKey: string; fingerprint: string };
}

export interface DeletionCertificate extends DeletionCertificateBody {
  signature: string;
}

/** The exact bytes of a certificate file. */
export function serializeCertificate(certificate: DeletionCertificate): string {
  return canonicalJson(certificate, { layout: 'document' });
}

export function signCertificate(body: Omit<DeletionCertificateBody, 'signer'>, key: SigningKey): DeletionCertificate {
  const full: DeletionCertificateBody = { ...body, signer: { algorithm: 'Ed25519', publicKey: key.publicKeyBase64, fingerprint: key.fingerprint } };
  return { ...full, signature: signBytes(key, Buffer.from(canonicalJson(full))) };
}

export interface CertificateCheck {
  ok: boolean;
  problems: string[];
  certificate?: DeletionCertificate;
  fingerprint?: string;
}

/**
 * Verifies a certificate file's bytes: canonical form, format, signature, and (when given) that
 * the signer is the pinned key (base64 SPKI).
 */
export function verifyCertificateBytes(bytes: Buffer, options: { pinnedKey?: string; pinnedKeys?: string[] } = {}): CertificateCheck {
  let parsed: DeletionCertificate;
  try {
    parsed = JSON.parse(bytes.toString('utf8')) as DeletionCertificate;
  } catch {
    return { ok: false, problems: ['not a JSON document'] };
  }
  if (!parsed || typeof parsed !== 'object' || parsed.format !== CERTIFICATE_FORMAT) return { ok: false, problems: [`not a ${CERTIFICATE_FORMAT}`] };
  const problems: string[] = [];
  if (serializeCertificate(parsed) !== bytes.toString('utf8')) problems.push('the file is not in its canonical form (bytes were changed)');
  const { signature, ...body } = parsed;
  let fingerprint: string | undefined;
  try {
    const key = parsePublicKeyBase64(String(body.signer?.publicKey ?? ''));
    fingerprint = keyFingerprint(key);
    // Certificates written before fingerprints took the `SHA256:<base64>` form name the hex digest.
    const legacyHex = createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex');
    if (fingerprint !== body.signer.fingerprint && legacyHex !== body.signer.fingerprint) problems.push('the signer fingerprint does not match its public key');
    if (typeof signature !== 'string' || !verifyBytes(key, Buffer.from(canonicalJson(body)), signature)) problems.push('the signature does not match the certificate');
  } catch {
    problems.push('the signer public key is not an Ed25519 key');
  }
  const pinned = [...(options.pinnedKey === undefined ? [] : [options.pinnedKey]), ...(options.pinnedKeys ?? [])];
  if (pinned.length > 0 && !pinned.includes(String(body.signer?.publicKey))) problems.push('signed by another key than the pinned one');
  return { ok: problems.length === 0, problems, certificate: parsed, ...(fingerprint ? { fingerprint } : {}) };
}

export function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}
