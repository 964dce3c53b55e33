/**
 * `manifest.json`: the signed table of contents of an audit bundle. It lists every other file with
 * its SHA-256 and size; the Ed25519 signature covers the canonical JSON (keys sorted, no spaces)
 * of the manifest without its `signature` member. The file itself is written in one exact form
 * (sorted keys, two-space indent, final newline) so that not even its whitespace can change.
 */
import { canonicalJson } from '../contract/canonical-json.js';
import type { ChainPoint } from './chain.js';
import type { CheckpointAlgorithm } from './checkpoint.js';
import type { Section } from './evidence.js';

export const MANIFEST_FILE = 'manifest.json';
export const BUNDLE_FORMAT = 'sovereign-audit-bundle';
/** 2: the audit chain carries the signed checkpoints that cover it. */
export const BUNDLE_FORMAT_VERSION = 2;

/**
 * What a bundle's evidence is, as the target that exported it says (`Target.auditEvidence`): an
 * auditor must not read an offline evaluation on a developer's machine as facts of a cloud account.
 */
export interface AuditEvidenceKind {
  /**
   * `offline`: everything was read from the project on the exporting machine and evaluated there;
   * no cloud account is involved. `cloud-account`: the tenant records, audit events and secret
   * metadata were read from the target's cloud account.
   */
  kind: 'offline' | 'cloud-account';
  /** Where the tenant records, audit events and secret metadata were read, for people. */
  records: string;
  /** What the bundle's isolation matrix is, for people. */
  isolation: string;
}

export interface ManifestFile {
  path: string;
  sha256: string;
  size: number;
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  formatVersion: number;
  tool: { name: 'sovereign'; version: string };
  generatedAt: string;
  project: string;
  tenant: string;
  stage: string;
  target: 'local' | 'aws';
  /** What kind of evidence the bundle is (bundles made before it have none). */
  evidence?: AuditEvidenceKind;
  since: string | null;
  signer: { algorithm: 'Ed25519'; publicKey: string; fingerprint: string };
  files: ManifestFile[];
  sections: Section[];
  auditChain: {
    format: string;
    events: string;
    chain: string;
    tenantEvents: number;
    segmentEvents: number;
    gapRuns: number;
    anchor: ChainPoint;
    head: ChainPoint;
    /** Format 2 on: the signed checkpoints (one a line) that cover the segment, and their signer. */
    checkpoints?: {
      file: string;
      count: number;
      signer: { algorithm: CheckpointAlgorithm; publicKey: string; fingerprint: string };
    };
  };
  signature: { algorithm: 'Ed25519'; over: string; value: string };
}

export type UnsignedManifest = Omit<BundleManifest, 'signature'>;

/** The bytes the signature is over. */
export function signedBytes(manifest: UnsignedManifest | BundleManifest): Buffer {
  const { signature: _signature, ...body } = manifest as BundleManifest;
  return Buffer.from(canonicalJson(body), 'utf8');
}

/** The one accepted text of a manifest. */
export function serializeManifest(manifest: BundleManifest | Record<string, unknown>): string {
  return canonicalJson(manifest, { layout: 'document' });
}
