/**
 * `sovereign audit export`: gathers a tenant's evidence into a signed, deterministic .tar.gz.
 *
 * Files are staged in a temporary folder (the audit events streamed there while hashed), the
 * manifest is signed, and the archive is written beside its destination under a temporary name
 * and renamed into place, so a failure never leaves a partial bundle. The export runs inside one
 * state mutation: the bundle's chain head is the event right before the `audit.export` event that
 * records the bundle's SHA-256.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { badInput, conflict, ExitCode, UserError } from '../errors.js';
import { tempPathFor, fsyncDirectory } from '../fs/atomic.js';
import { assertTenantId } from '../names.js';
import type { Project } from '../project.js';
import type { SecretStore } from '../secrets/store.js';
import type { AuditEvent } from '../state/audit-log.js';
import type { TenantRecord } from '../state/registry.js';
import type { StateStore } from '../state/store.js';
import { requireTenant } from '../tenants/tenants.js';
import type { ApiKeyView } from '../tenants/api-keys.js';
import { DeflateSink, writeTarGz, type ArchiveEntry, type DeflatedData } from './archive.js';
import { CHAIN_FILE, CHECKPOINTS_FILE, EVENTS_FILE, writeTenantSegment, type SegmentSummary, type WrittenSegment } from './chain.js';
import { gatherEvidence, type EvidenceSources, type LoadedExtension, type Section } from './evidence.js';
import { BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION, MANIFEST_FILE, type AuditEvidenceKind, serializeManifest, signedBytes, type BundleManifest, type ManifestFile, type UnsignedManifest } from './manifest.js';
import { renderReport } from './report.js';
import { keyFingerprint, serializeCheckpoint } from './checkpoint.js';
import { loadOrCreateSigningKey, publicKeyBase64, sealSign, signBytes } from './signing.js';

export const REPORT_FILE = 'report.html';

export interface ExportOptions {
  state: StateStore;
  project: Project;
  tenant: string;
  target: 'local' | 'aws';
  /** What kind of evidence the target's bundle is (`Target.auditEvidence`); signed into the manifest. */
  evidence?: AuditEvidenceKind;
  /** Where the bundle goes; default `<cwd>/<tenant>-audit-<timestamp>.tar.gz`. */
  out?: string;
  cwd: string;
  /** ISO date: only events at or after it. */
  since?: string;
  toolVersion: string;
  loadExtensions(names: string[]): Promise<LoadedExtension[]>;
  secretBackend(tenant: TenantRecord): Promise<SecretStore | undefined> | SecretStore | undefined;
  secretBackendUnavailable?: string;
  isolationMatrix: EvidenceSources['isolationMatrix'];
  /** The tenant's API keys for the bundle's `auth.json` (metadata only); absent: not read. */
  apiKeys?: (tenant: TenantRecord) => Promise<ApiKeyView[]>;
  now?: () => Date;
  /** gzip level (default 1: the content is mostly hashes, higher levels cost time for little size). */
  level?: number;
}

export interface ExportResult {
  path: string;
  sha256: string;
  size: number;
  tenant: string;
  generatedAt: string;
  signer: { fingerprint: string; publicKey: string; created: boolean; publicKeyFile: string };
  files: number;
  events: number;
  sections: Array<Pick<Section, 'id' | 'status' | 'reason'>>;
  keyCreated: boolean;
}

/** `20261127T200118Z`: the generation time as it appears in file names. */
export function fileTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** Parses `--since`: an ISO-8601 date or date-time; returns the normalized ISO string. */
export function parseSince(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    throw badInput(`--since "${value}" is not an ISO-8601 date`, 'e.g. --since 2026-01-01 or --since 2026-01-01T00:00:00Z');
  }
  const time = Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(time)) throw badInput(`--since "${value}" is not a valid date`, 'e.g. --since 2026-01-01');
  return new Date(time).toISOString();
}

function writeJson(dir: string, path: string, value: unknown): void {
  const file = join(dir, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
}

/** For the small files (JSON documents, report); the event files are hashed as they are written. */
function digest(file: string): { sha256: string; size: number } {
  const data = readFileSync(file);
  return { sha256: createHash('sha256').update(data).digest('hex'), size: data.length };
}

/** A store whose log is not a local file (the aws target's) streams its events itself. */
function eventSource(state: StateStore): AsyncIterable<AuditEvent> | undefined {
  const events = (state as { events?: () => AsyncIterable<AuditEvent> }).events;
  return typeof events === 'function' ? events.call(state) : undefined;
}

/** Exports the tenant's bundle and records the export in the audit log. */
export async function exportAuditBundle(options: ExportOptions): Promise<ExportResult> {
  assertTenantId(options.tenant);
  const since = options.since === undefined ? undefined : parseSince(options.since);
  const now = options.now ?? (() => new Date());
  const { state, project } = options;
  const args: Record<string, unknown> = { since: since ?? null };
  return state.mutate({ command: 'audit export', action: 'audit.export', tenant: options.tenant, args }, async (tx) => {
    const record = await requireTenant(state, options.tenant);
    const generated = now();
    const generatedAt = generated.toISOString();
    const defaultName = `${record.id}-audit-${fileTimestamp(generated)}.tar.gz`;
    // `--out <dir>/` (or an existing folder) keeps the default name inside it.
    let out = resolve(options.cwd, options.out ?? defaultName);
    if (options.out !== undefined && (/[\\/]$/.test(options.out) || (existsSync(out) && statSync(out).isDirectory()))) out = join(out, defaultName);
    if (existsSync(out)) throw conflict(`${out} already exists`, 'choose another --out, or move the old bundle away');
    if (!basename(out).endsWith('.tar.gz') && !basename(out).endsWith('.tgz')) {
      throw badInput(`--out "${options.out}" must end in .tar.gz`, `e.g. --out ${record.id}-audit.tar.gz`);
    }
    const key = loadOrCreateSigningKey(project.paths.keys);
    const staging = mkdtempSync(join(tmpdir(), 'sovereign-audit-'));
    let deflated: DeflatedData | undefined;
    try {
      const tenants = await state.listTenants();
      const evidence = await gatherEvidence({
        project,
        target: options.target,
        tenant: record,
        tenants,
        toolVersion: options.toolVersion,
        now: generated,
        loadExtensions: options.loadExtensions,
        secretBackend: () => options.secretBackend(record),
        ...(options.secretBackendUnavailable ? { secretBackendUnavailable: options.secretBackendUnavailable } : {}),
        isolationMatrix: options.isolationMatrix,
        ...(options.apiKeys ? { apiKeys: () => options.apiKeys!(record) } : {}),
      });
      for (const [path, value] of evidence.documents) writeJson(staging, path, value);

      mkdirSync(join(staging, 'audit'), { recursive: true });
      // The events are compressed while they are read (on the thread pool) and spliced into the bundle.
      const sink = new DeflateSink(join(staging, 'events.deflate'), options.level ?? 1);
      const source = eventSource(state);
      let segment: WrittenSegment;
      try {
        segment = await writeTenantSegment({
          logPath: project.paths.auditLog,
          tenant: record.id,
          ...(since ? { since } : {}),
          events: sink,
          chainFile: join(staging, CHAIN_FILE),
          ...(source ? { source } : {}),
        });
      } finally {
        deflated = await sink.close();
      }
      // The checkpoint that covers the segment: the one at its head, wherever the target keeps it.
      const covering = await state.headCheckpoint();
      if (segment.head.seq > 0 && (!covering || covering.checkpoint.seq !== segment.head.seq || covering.checkpoint.headHash !== segment.head.hash)) {
        throw new UserError(`no signed checkpoint covers the audit log's head (seq ${segment.head.seq}); no bundle was written`, {
          hint: 'run `sovereign audit log --verify`: a project older than checkpoints gets its first one from its next mutating command',
          exitCode: ExitCode.failed,
        });
      }
      const checkpointLines = covering && segment.head.seq > 0 ? [covering.checkpoint] : [];
      writeFileSync(join(staging, CHECKPOINTS_FILE), checkpointLines.map((c) => `${serializeCheckpoint(c)}\n`).join(''), { mode: 0o600 });
      const sections: Section[] = [
        ...evidence.sections,
        { id: 'audit', title: 'Audit events, hash chain and signed checkpoints', status: 'included', files: [CHAIN_FILE, CHECKPOINTS_FILE, EVENTS_FILE] },
        { id: 'report', title: 'Human-readable report', status: 'included', files: [REPORT_FILE] },
      ];

      const files: ManifestFile[] = [];
      for (const path of evidence.documents.keys()) files.push({ path, ...digest(join(staging, path)) });
      files.push({ path: EVENTS_FILE, ...segment.files.events }, { path: CHAIN_FILE, ...segment.files.chain }, { path: CHECKPOINTS_FILE, ...digest(join(staging, CHECKPOINTS_FILE)) });
      files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      const summary: SegmentSummary = segment;
      const report = renderReport({
        tenant: record.id,
        generatedAt,
        toolVersion: options.toolVersion,
        signerFingerprint: key.fingerprint,
        since: since ?? null,
        kind: options.evidence ?? null,
        evidence,
        events: summary,
        sections,
        files,
      });
      writeFileSync(join(staging, REPORT_FILE), report, { mode: 0o600 });
      files.push({ path: REPORT_FILE, ...digest(join(staging, REPORT_FILE)) });
      files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

      const unsigned: UnsignedManifest = {
        format: BUNDLE_FORMAT,
        formatVersion: BUNDLE_FORMAT_VERSION,
        tool: { name: 'sovereign', version: options.toolVersion },
        generatedAt,
        project: project.config.project,
        tenant: record.id,
        stage: record.stage,
        target: options.target,
        ...(options.evidence ? { evidence: options.evidence } : {}),
        since: since ?? null,
        signer: { algorithm: 'Ed25519', publicKey: key.publicKeyBase64, fingerprint: key.fingerprint },
        files,
        sections,
        auditChain: {
          format: 'sovereign-chain-segment-v1: events holds the tenant\'s log lines as written; chain holds the anchor, one gap per run of other events (last hash) and the head',
          events: EVENTS_FILE,
          chain: CHAIN_FILE,
          tenantEvents: segment.tenantEvents,
          segmentEvents: segment.segmentEvents,
          gapRuns: segment.gapRuns,
          anchor: segment.anchor,
          head: segment.head,
          checkpoints: {
            file: CHECKPOINTS_FILE,
            count: checkpointLines.length,
            signer: covering
              ? { algorithm: covering.checkpoint.algorithm, publicKey: publicKeyBase64(covering.publicKey), fingerprint: keyFingerprint(covering.publicKey) }
              : { algorithm: 'Ed25519', publicKey: key.publicKeyBase64, fingerprint: key.fingerprint },
          },
        },
      };
      const manifest: BundleManifest = {
        ...unsigned,
        signature: { algorithm: 'Ed25519', over: 'canonical JSON of manifest.json without "signature"', value: signBytes(key, signedBytes(unsigned)) },
      };
      writeFileSync(join(staging, MANIFEST_FILE), serializeManifest(manifest), { mode: 0o600 });

      const entries: ArchiveEntry[] = [MANIFEST_FILE, ...files.map((f) => f.path)].map((name) =>
        name === EVENTS_FILE ? { name, size: segment.files.events.size, deflated: deflated! } : { name, file: join(staging, name), size: statSync(join(staging, name)).size },
      );
      mkdirSync(dirname(out), { recursive: true });
      const temp = tempPathFor(out);
      let written: { sha256: string; size: number };
      try {
        written = await writeTarGz(temp, entries, { sign: (message) => sealSign(key, message), ...(options.level === undefined ? {} : { level: options.level }) });
        if (existsSync(out)) throw conflict(`${out} already exists`, 'choose another --out, or move the old bundle away');
        renameSync(temp, out);
      } catch (error) {
        if (existsSync(temp)) unlinkSync(temp);
        throw error;
      }
      fsyncDirectory(dirname(out));
      tx.eventArgs.out = out;
      tx.eventArgs.sha256 = written.sha256;
      tx.eventArgs.events = segment.tenantEvents;
      tx.eventArgs.signer = key.fingerprint;
      return {
        path: out,
        sha256: written.sha256,
        size: written.size,
        tenant: record.id,
        generatedAt,
        signer: { fingerprint: key.fingerprint, publicKey: key.publicKeyBase64, created: key.created, publicKeyFile: join(project.paths.keys, '_signing.pub') },
        files: files.length + 1,
        events: segment.tenantEvents,
        sections: sections.map((s) => ({ id: s.id, status: s.status, ...(s.reason ? { reason: s.reason } : {}) })),
        keyCreated: key.created,
      };
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  });
}
