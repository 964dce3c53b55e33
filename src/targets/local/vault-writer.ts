/**
 * Writing a tenant's vault (the local target): new versions, staging labels, pruning, each as a
 * read-modify-write of the whole file under a short lock, written atomically with mode 0600 and a
 * fresh IV. The file format and reading are the runtime's (`src/runtime/secrets/vault.ts`), which
 * never writes: this module and `fs/atomic.ts` stay out of every tenant artifact.
 */
import { createCipheriv, randomBytes, randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SecretReference } from '../../contract/reference.js';
import { writeFileAtomic } from '../../fs/atomic.js';
import {
  SecretLookupError, STAGE_CURRENT, STAGE_PREVIOUS, Vault, VAULT_FORMAT, VAULT_FORMAT_VERSION, vaultAdditionalData,
  vaultFileSignature, vaultKeyId, vaultTarget, versionMetadata,
  type OpenVaultOptions, type SecretRecord, type StagingLabel, type VaultContents, type VaultHeader, type VaultVersion, type VaultVersionMetadata,
} from '../../runtime/secrets/vault.js';

/** Versions kept per secret; the oldest versions without a label are dropped beyond it. */
export const MAX_VERSIONS_PER_SECRET = 100;

/** A write contradicts the stored state (version id reused with another value, label not where expected). */
export class VaultConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VaultConflictError';
  }
}

/** Options of {@link WritableVault.putVersion}. */
export interface PutVersionOptions {
  /** Labels for the new version (moved from other versions); default `['AWSCURRENT']`. */
  labels?: StagingLabel[];
  /** Who writes it. */
  by: string;
  /** A chosen version id (idempotent retries); default a random UUID. */
  versionId?: string;
  now?: Date;
}

/** Receives a staged vault's encrypted bytes and the generation they carry. */
export type StageWrite = (bytes: string, generation: number) => void;

/** Options of {@link WritableVault.moveLabel}. */
export interface MoveLabelOptions {
  /** Refuse unless the label is currently on this version (like `RemoveFromVersionId`). */
  fromVersionId?: string;
}

function encryptVault(contents: VaultContents, key: Buffer, tenant: string, generation: number): string {
  const keyId = vaultKeyId(key);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(vaultAdditionalData(tenant, keyId, generation));
  const data = Buffer.concat([cipher.update(JSON.stringify(contents), 'utf8'), cipher.final()]);
  const header: VaultHeader = {
    format: VAULT_FORMAT,
    version: VAULT_FORMAT_VERSION,
    tenant,
    keyId,
    generation,
    cipher: 'aes-256-gcm',
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
  return `${JSON.stringify(header)}\n`;
}

const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 5_000;

function sleepSync(milliseconds: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, milliseconds);
}

/** Runs `fn` holding `<path>.lock` (exclusive create; a lock older than 30 s is taken over). */
function withFileLock<T>(path: string, fn: () => T): T {
  const lock = `${path}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  let fd: number | undefined;
  while (fd === undefined) {
    try {
      fd = openSync(lock, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        continue;
      }
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      try {
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) unlinkSync(lock);
      } catch {
        // Released meanwhile.
      }
      if (Date.now() > deadline) throw new VaultConflictError(`the vault ${path} is locked by another command (${lock})`);
      sleepSync(10);
    }
  }
  try {
    writeSync(fd, String(process.pid));
    return fn();
  } finally {
    closeSync(fd);
    try {
      unlinkSync(lock);
    } catch {
      // Already gone.
    }
  }
}


/**
 * An open vault that also writes: every write re-reads the file under a lock, applies the change,
 * and writes the whole vault atomically; reads are {@link Vault}'s.
 */
export class WritableVault extends Vault {
  /** Where a staged vault's writes go instead of its file (see {@link openStagedVault}). */
  private readonly stageWrite: StageWrite | undefined;
  /** A staged write happened: reads serve the staged state, not the file. */
  private staged = false;

  /** Use {@link openWritableVault} or {@link openStagedVault}. */
  constructor(path: string, key: Uint8Array, tenant: string, options: OpenVaultOptions = {}, stageWrite?: StageWrite) {
    super(path, key, tenant, options);
    this.stageWrite = stageWrite;
  }

  override refresh(): boolean {
    return this.staged ? false : super.refresh();
  }

  /**
   * Stores a new version and puts `labels` (default `AWSCURRENT`) on it. With a `versionId` that
   * already exists, the same value is a no-op (an idempotent retry) and another value a conflict.
   */
  putVersion(reference: string | SecretReference, value: string, options: PutVersionOptions): VaultVersionMetadata {
    if (typeof value !== 'string' || value.length === 0) throw new VaultConflictError('a secret value must be a non-empty string');
    const { target } = vaultTarget(reference);
    return this.mutate((contents) => {
      const now = (options.now ?? new Date()).toISOString();
      const record = contents.secrets[target] ?? { createdAt: now, versions: [] };
      if (options.versionId !== undefined) {
        const existing = record.versions.find((version) => version.versionId === options.versionId);
        if (existing) {
          if (existing.value !== value) throw new VaultConflictError(`${target} already has a version ${options.versionId} with another value`);
          return { result: versionMetadata(existing), changed: false };
        }
      }
      const version: VaultVersion = { versionId: options.versionId ?? randomUUID(), createdAt: now, createdBy: options.by, labels: [], value };
      record.versions.push(version);
      contents.secrets[target] = record;
      for (const label of new Set(options.labels ?? [STAGE_CURRENT])) attachLabel(record, label, version);
      pruneVersions(record);
      return { result: versionMetadata(version), changed: true };
    });
  }

  /**
   * Moves a staging label onto `toVersionId` (like `UpdateSecretVersionStage`). Moving
   * `AWSCURRENT` leaves `AWSPREVIOUS` on the version that had it. A no-op when already there.
   */
  moveLabel(reference: string | SecretReference, label: StagingLabel, toVersionId: string, options: MoveLabelOptions = {}): void {
    const { target } = vaultTarget(reference);
    this.mutate((contents) => {
      const { record, version: to } = this.storedVersion(contents, target, toVersionId);
      const holder = record.versions.find((version) => version.labels.includes(label));
      if (options.fromVersionId !== undefined && holder?.versionId !== options.fromVersionId && holder !== to) {
        throw new VaultConflictError(`${label} of ${target} is not on version ${options.fromVersionId}`);
      }
      if (holder === to) return { result: undefined, changed: false };
      attachLabel(record, label, to);
      return { result: undefined, changed: true };
    });
  }

  /** Removes a label from a version (e.g. a stale `AWSPENDING`). `AWSCURRENT` cannot be removed, only moved. */
  removeLabel(reference: string | SecretReference, label: StagingLabel, fromVersionId: string): void {
    if (label === STAGE_CURRENT) throw new VaultConflictError(`${STAGE_CURRENT} can only be moved to another version, not removed`);
    const { target } = vaultTarget(reference);
    this.mutate((contents) => {
      const { version } = this.storedVersion(contents, target, fromVersionId);
      if (!version.labels.includes(label)) return { result: undefined, changed: false };
      version.labels = version.labels.filter((candidate) => candidate !== label);
      return { result: undefined, changed: true };
    });
  }

  /** The stored secret at `target` and its version `versionId`; `not-found` / `version-not-found` otherwise. */
  private storedVersion(contents: VaultContents, target: string, versionId: string): { record: SecretRecord; version: VaultVersion } {
    const record = contents.secrets[target];
    if (!record) throw new SecretLookupError('not-found', `${target} is not in the vault of tenant "${this.tenant}"`);
    const version = record.versions.find((candidate) => candidate.versionId === versionId);
    if (!version) throw new SecretLookupError('version-not-found', `${target} has no version ${versionId}`);
    return { record, version };
  }

  /** Read-modify-write under the lock: the file on disk is the truth, not this object's state. */
  private mutate<T>(change: (contents: VaultContents) => { result: T; changed: boolean }): T {
    if (this.stageWrite) return this.mutateStaged(change, this.stageWrite);
    return withFileLock(this.path, () => {
      const loaded = this.load();
      const { result, changed } = change(loaded.contents);
      if (changed) {
        const generation = loaded.generation + 1;
        writeFileAtomic(this.path, encryptVault(loaded.contents, this.key, this.tenant, generation), { mode: 0o600 });
        this.adopt({ contents: loaded.contents, generation, signature: vaultFileSignature(this.path) });
      } else {
        this.adopt(loaded);
      }
      return result;
    });
  }

  /**
   * A staged vault's change: applied to a copy of the staged state (the file's, at first), whose
   * encrypted bytes go to `stageWrite` instead of the file. The caller holds the project lock and
   * writes the bytes in the same journaled commit as the change's audit event, so a crash never
   * leaves a vault changed without its event (or an event without its vault).
   */
  private mutateStaged<T>(change: (contents: VaultContents) => { result: T; changed: boolean }, stageWrite: StageWrite): T {
    const base = this.staged ? { contents: this.contents, generation: this.currentGeneration, signature: this.signature } : this.load();
    // A change that throws half-way must not leave the staged state half-changed.
    const contents = structuredClone(base.contents);
    const { result, changed } = change(contents);
    if (changed) {
      const generation = base.generation + 1;
      stageWrite(encryptVault(contents, this.key, this.tenant, generation), generation);
      this.staged = true;
      this.adopt({ contents, generation, signature: base.signature });
    } else if (!this.staged) {
      this.adopt(base);
    }
    return result;
  }
}

function attachLabel(record: SecretRecord, label: StagingLabel, to: VaultVersion): void {
  const holder = record.versions.find((version) => version.labels.includes(label));
  if (holder === to) return;
  if (holder) holder.labels = holder.labels.filter((candidate) => candidate !== label);
  to.labels.push(label);
  if (label === STAGE_CURRENT && holder) {
    const previous = record.versions.find((version) => version.labels.includes(STAGE_PREVIOUS));
    if (previous) previous.labels = previous.labels.filter((candidate) => candidate !== STAGE_PREVIOUS);
    holder.labels.push(STAGE_PREVIOUS);
  }
}

function pruneVersions(record: SecretRecord): void {
  while (record.versions.length > MAX_VERSIONS_PER_SECRET) {
    const oldest = record.versions.findIndex((version) => version.labels.length === 0);
    if (oldest === -1) return;
    record.versions.splice(oldest, 1);
  }
}

/**
 * Opens a tenant's vault for reading and writing. An absent file is an empty vault (created by
 * the first write). A file under another key, of another tenant, or damaged throws
 * `VaultOpenError` and is left untouched.
 */
export function openWritableVault(path: string, key: Uint8Array, tenant: string, options: OpenVaultOptions = {}): WritableVault {
  return new WritableVault(path, key, tenant, options);
}

/**
 * Opens a tenant's vault whose writes are staged: each change's encrypted bytes go to
 * `stageWrite` (a mutation's transaction) and the file is left as it is; reads see the staged
 * state. For use under the project lock only. The caller records `generation` with the bytes, so
 * a later open can refuse an older copy of the file.
 */
export function openStagedVault(path: string, key: Uint8Array, tenant: string, stageWrite: StageWrite, options: OpenVaultOptions = {}): WritableVault {
  return new WritableVault(path, key, tenant, options, stageWrite);
}
