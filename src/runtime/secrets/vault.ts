/**
 * The local target's per-tenant secret vault: one file per tenant, encrypted with AES-256-GCM
 * under the tenant's 32-byte key, answering the same `ssm:` / `secretsmanager:` references as AWS.
 *
 * File format (one JSON line):
 *
 * ```
 * {"format":"sovereign-vault","version":1,"tenant":"acme","keyId":"<16 hex>","generation":3,
 *  "cipher":"aes-256-gcm","iv":"<base64, 12 bytes>","tag":"<base64, 16 bytes>","data":"<base64>"}
 * ```
 *
 * - `keyId` is a fingerprint of the key (not the key), so a wrong key is reported as such before
 *   any decryption is tried.
 * - The additional authenticated data binds format, version, tenant, key id and generation: a
 *   vault copied to another tenant, or a header edited by hand, fails authentication.
 * - A fresh random IV is drawn for every write; writes are atomic (temp file, fsync, rename) with
 *   mode 0600, under a short lock so two commands never lose each other's update.
 * - A file that fails to open (wrong key, other tenant, corrupted) is never written over.
 * - Every write increments `generation`, which the additional data authenticates. A reader given
 *   a floor (the generation the registry recorded with the last committed write, or the highest
 *   it has itself read) refuses a file below it as `rolled-back`: an older copy of the vault put
 *   back would otherwise serve old values and a shortened history, every check passing.
 *
 * Each secret holds versions `{ versionId, createdAt, createdBy, labels, value }`; staging labels
 * behave like Secrets Manager's: a label sits on at most one version, and moving `AWSCURRENT`
 * leaves `AWSPREVIOUS` on the version that had it.
 *
 * This module reads vaults: it is bundled into the tenant runtime, with `node:crypto` and `node:fs`
 * only. Writing (encryption, the lock, labels and pruning) is the local target's, in
 * `src/targets/local/vault-writer.ts`, and never reaches a runtime.
 */
import { createDecipheriv, createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { parseReferenceOrThrow, referenceTarget, type SecretReference } from '../../contract/reference.js';

/** The version stage a reference without a stage reads. */
export const STAGE_CURRENT = 'AWSCURRENT';
/** The stage of a version being rotated in and not yet promoted. */
export const STAGE_PENDING = 'AWSPENDING';
/** The stage of the version that was current before the last promotion. */
export const STAGE_PREVIOUS = 'AWSPREVIOUS';

/** A staging label: one of the three AWS stages or a custom label. */
export type StagingLabel = typeof STAGE_CURRENT | typeof STAGE_PENDING | typeof STAGE_PREVIOUS | (string & {});

export const VAULT_FORMAT = 'sovereign-vault';
export const VAULT_FORMAT_VERSION = 1;
/** Tenant keys are 32 random bytes. */
export const VAULT_KEY_BYTES = 32;

/** One stored version of a secret. */
export interface VaultVersion {
  versionId: string;
  /** ISO-8601. */
  createdAt: string;
  /** Who wrote it (the CLI's actor string). */
  createdBy: string;
  labels: StagingLabel[];
  value: string;
}

/** A version without its value: what `history` and listings show. */
export type VaultVersionMetadata = Omit<VaultVersion, 'value'>;

/** Summary of one stored secret, without any value. */
export interface VaultSecretDescription {
  /** `ssm:<name>` or `secretsmanager:<name>`. */
  target: string;
  createdAt: string;
  versionCount: number;
  currentVersionId: string | undefined;
  /** Labels by version id, e.g. `{ "3f…": ["AWSCURRENT"] }`. */
  labels: Record<string, StagingLabel[]>;
  lastChangedAt: string;
  lastChangedBy: string;
}

/** Why a vault file could not be opened. */
export type VaultOpenFailure = 'bad-key' | 'wrong-key' | 'wrong-tenant' | 'corrupted' | 'unsupported-version' | 'unreadable' | 'rolled-back';

/** The vault file cannot be used; it is left exactly as it is. */
export class VaultOpenError extends Error {
  readonly reason: VaultOpenFailure;
  readonly path: string;

  constructor(reason: VaultOpenFailure, path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VaultOpenError';
    this.reason = reason;
    this.path = path;
  }
}

/** Why a read found nothing. */
export type SecretLookupFailure = 'not-found' | 'stage-not-found' | 'version-not-found' | 'not-json' | 'json-key-not-found';

/** A reference does not resolve. The message names the reference, never a value. */
export class SecretLookupError extends Error {
  readonly reason: SecretLookupFailure;

  constructor(reason: SecretLookupFailure, message: string) {
    super(message);
    this.name = 'SecretLookupError';
    this.reason = reason;
  }
}

/** One secret as stored: its versions, oldest first. */
export interface SecretRecord {
  createdAt: string;
  /** Oldest first. */
  versions: VaultVersion[];
}

/** The decrypted contents of a vault file. */
export interface VaultContents {
  tenant: string;
  secrets: Record<string, SecretRecord>;
}

/** The plaintext header line of a vault file. */
export interface VaultHeader {
  format: string;
  version: number;
  tenant: string;
  keyId: string;
  generation: number;
  cipher: string;
  iv: string;
  tag: string;
  data: string;
}

/** Options of reads. */
export interface ReadOptions {
  /** Overrides the reference's stage. */
  versionStage?: string;
  /** Reads this version instead of a stage. */
  versionId?: string;
}

/** A fingerprint of the key, stored in the header; it does not reveal the key. */
export function vaultKeyId(key: Uint8Array): string {
  return createHash('sha256').update('sovereign-vault-key-id\0').update(key).digest('hex').slice(0, 16);
}

/**
 * Parses the bytes of a key file: 32 raw bytes, or 64 hex characters, or base64 of 32 bytes
 * (surrounding whitespace ignored). Throws {@link VaultOpenError} `bad-key` otherwise.
 */
export function parseVaultKey(bytes: Uint8Array, path = '<key>'): Buffer {
  const buffer = Buffer.from(bytes);
  if (buffer.length === VAULT_KEY_BYTES) return buffer;
  const text = buffer.toString('latin1').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) return Buffer.from(text, 'base64');
  throw new VaultOpenError('bad-key', path, `the tenant key ${path} is not a ${VAULT_KEY_BYTES}-byte key`);
}

/** Reads a tenant key file (see {@link parseVaultKey}). */
export function readVaultKey(path: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new VaultOpenError('unreadable', path, `cannot read the tenant key ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
  }
  return parseVaultKey(bytes, path);
}

/** The additional authenticated data of a vault file: binds format, version, tenant, key id and generation. */
export function vaultAdditionalData(tenant: string, keyId: string, generation: number): Buffer {
  return Buffer.from(`${VAULT_FORMAT}\0${VAULT_FORMAT_VERSION}\0${tenant}\0${keyId}\0${generation}`);
}

/** The stored target of a reference (`ssm:<name>` / `secretsmanager:<name>`) and the parsed reference. */
export function vaultTarget(reference: string | SecretReference): { target: string; reference: SecretReference } {
  const parsed = typeof reference === 'string' ? parseReferenceOrThrow(reference) : reference;
  return { target: referenceTarget(parsed), reference: parsed };
}

/** A version without its value. */
export function versionMetadata(version: VaultVersion): VaultVersionMetadata {
  return { versionId: version.versionId, createdAt: version.createdAt, createdBy: version.createdBy, labels: [...version.labels] };
}

/** What tells that a vault file changed on disk. */
export interface FileSignature { mtimeMs: number; size: number; ino: number }

/** The file's signature, undefined when it does not exist. */
export function vaultFileSignature(path: string): FileSignature | undefined {
  try {
    const stat = statSync(path);
    return { mtimeMs: stat.mtimeMs, size: stat.size, ino: stat.ino };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new VaultOpenError('unreadable', path, `cannot read the vault ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
  }
}

/** A vault file as read: decrypted contents, header generation, file signature. */
export interface LoadedVault { contents: VaultContents; generation: number; signature: FileSignature | undefined }

/**
 * Decrypts a vault file; an absent file is an empty vault at generation 0. A file whose
 * (authenticated) generation is below `floor` is refused as `rolled-back`: it is an older copy.
 */
export function loadVaultFile(path: string, key: Buffer, tenant: string, floor = 0): LoadedVault {
  const signature = vaultFileSignature(path);
  if (signature === undefined) {
    assertNotRolledBack(path, tenant, 0, floor);
    return { contents: { tenant, secrets: {} }, generation: 0, signature };
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new VaultOpenError('unreadable', path, `cannot read the vault ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
  }
  const corrupted = (what: string, cause?: unknown) =>
    new VaultOpenError('corrupted', path, `the vault ${path} is corrupted (${what}); it was left untouched`, cause === undefined ? undefined : { cause });
  let header: VaultHeader;
  try {
    header = JSON.parse(text) as VaultHeader;
  } catch {
    throw corrupted('not a vault file');
  }
  if (typeof header !== 'object' || header === null || header.format !== VAULT_FORMAT) throw corrupted('not a vault file');
  if (header.version !== VAULT_FORMAT_VERSION) {
    throw new VaultOpenError('unsupported-version', path, `the vault ${path} has format version ${String(header.version)}; this version reads ${VAULT_FORMAT_VERSION}`);
  }
  if (typeof header.tenant !== 'string' || typeof header.keyId !== 'string' || !Number.isSafeInteger(header.generation)
    || header.cipher !== 'aes-256-gcm' || typeof header.iv !== 'string' || typeof header.tag !== 'string' || typeof header.data !== 'string') {
    throw corrupted('malformed header');
  }
  if (header.tenant !== tenant) {
    throw new VaultOpenError('wrong-tenant', path, `the vault ${path} belongs to tenant "${header.tenant}", not "${tenant}"`);
  }
  const keyId = vaultKeyId(key);
  if (header.keyId !== keyId) {
    throw new VaultOpenError('wrong-key', path, `the vault ${path} is encrypted under another key (key id ${header.keyId}, this key is ${keyId})`);
  }
  const iv = Buffer.from(header.iv, 'base64');
  const tag = Buffer.from(header.tag, 'base64');
  if (iv.length !== 12 || tag.length !== 16) throw corrupted('malformed header');
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(vaultAdditionalData(header.tenant, header.keyId, header.generation));
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(Buffer.from(header.data, 'base64')), decipher.final()]);
  } catch {
    throw corrupted('authentication failed');
  }
  let contents: VaultContents;
  try {
    contents = JSON.parse(plaintext.toString('utf8')) as VaultContents;
  } catch {
    throw corrupted('malformed contents');
  }
  if (typeof contents !== 'object' || contents === null || contents.tenant !== tenant || typeof contents.secrets !== 'object' || contents.secrets === null) {
    throw corrupted('malformed contents');
  }
  assertNotRolledBack(path, tenant, header.generation, floor);
  return { contents, generation: header.generation, signature };
}

function assertNotRolledBack(path: string, tenant: string, generation: number, floor: number): void {
  if (generation >= floor) return;
  throw new VaultOpenError('rolled-back', path,
    `the vault ${path} is at generation ${generation}, older than generation ${floor} recorded for tenant "${tenant}": an older copy was put back (it would serve old values); it was left untouched`);
}

/** Options of {@link openVault}. */
export interface OpenVaultOptions {
  /** The lowest generation the file may have (the recorded one); every read raises it to what it read. */
  minGeneration?: number;
}

/**
 * An open vault, for reading. Reads serve from the decrypted state loaded at open (call
 * {@link Vault.refresh} to pick up writes by others). The CLI's `WritableVault`
 * (`src/targets/local/vault-writer.ts`) extends it with writes.
 */
export class Vault {
  readonly path: string;
  readonly tenant: string;
  readonly keyId: string;
  protected readonly key: Buffer;
  protected contents: VaultContents;
  protected currentGeneration: number;
  protected signature: FileSignature | undefined;
  /** A file below this generation is refused: the recorded one, raised by every read (a vault never goes back). */
  protected floor: number;

  /** Use {@link openVault}. */
  constructor(path: string, key: Uint8Array, tenant: string, options: OpenVaultOptions = {}) {
    if (key.length !== VAULT_KEY_BYTES) {
      throw new VaultOpenError('bad-key', path, `a tenant key is ${VAULT_KEY_BYTES} bytes, got ${key.length}`);
    }
    this.path = path;
    this.tenant = tenant;
    this.key = Buffer.from(key);
    this.keyId = vaultKeyId(this.key);
    this.floor = options.minGeneration ?? 0;
    const loaded = this.load();
    this.contents = loaded.contents;
    this.currentGeneration = loaded.generation;
    this.signature = loaded.signature;
  }

  /** Incremented by every write; 0 for a vault never written. */
  get generation(): number {
    return this.currentGeneration;
  }

  /** Re-reads the file when it changed on disk; true when it did. */
  refresh(): boolean {
    const signature = vaultFileSignature(this.path);
    const same = signature === undefined
      ? this.signature === undefined
      : this.signature !== undefined && signature.mtimeMs === this.signature.mtimeMs && signature.size === this.signature.size && signature.ino === this.signature.ino;
    if (same) return false;
    const loaded = this.load();
    const changed = loaded.generation !== this.currentGeneration || loaded.signature?.ino !== this.signature?.ino;
    this.adopt(loaded);
    return changed;
  }

  /**
   * From now on, refuses the file below `generation` (a generation recorded elsewhere, e.g. by a
   * rotation notice); the file is checked again at the next read, whether it changed or not.
   */
  raiseFloor(generation: number): void {
    if (generation <= this.floor) return;
    this.floor = generation;
    if (this.currentGeneration < generation) this.signature = undefined;
  }

  /** Reads the file, refusing one below the floor, and raises the floor to what it read. */
  protected load(): LoadedVault {
    const loaded = loadVaultFile(this.path, this.key, this.tenant, this.floor);
    this.floor = Math.max(this.floor, loaded.generation);
    return loaded;
  }

  /** Takes `loaded` (just read or just written) as the state reads serve from. */
  protected adopt(loaded: LoadedVault): void {
    this.contents = loaded.contents;
    this.currentGeneration = loaded.generation;
    this.signature = loaded.signature;
  }

  /** Targets (`ssm:<name>` / `secretsmanager:<name>`) stored in the vault, sorted. */
  listNames(): string[] {
    return Object.keys(this.contents.secrets).sort();
  }

  /** Whether anything is stored for the reference's target. */
  has(reference: string | SecretReference): boolean {
    return this.contents.secrets[vaultTarget(reference).target] !== undefined;
  }

  /** Metadata of a stored secret, or undefined. */
  describe(reference: string | SecretReference): VaultSecretDescription | undefined {
    const { target } = vaultTarget(reference);
    const record = this.contents.secrets[target];
    if (!record) return undefined;
    const labels: Record<string, StagingLabel[]> = {};
    for (const version of record.versions) if (version.labels.length > 0) labels[version.versionId] = [...version.labels];
    const last = record.versions[record.versions.length - 1];
    return {
      target,
      createdAt: record.createdAt,
      versionCount: record.versions.length,
      currentVersionId: record.versions.find((version) => version.labels.includes(STAGE_CURRENT))?.versionId,
      labels,
      lastChangedAt: last?.createdAt ?? record.createdAt,
      lastChangedBy: last?.createdBy ?? '',
    };
  }

  /** Versions of a secret without values, newest first. Throws `not-found` when absent. */
  history(reference: string | SecretReference): VaultVersionMetadata[] {
    const { target } = vaultTarget(reference);
    const record = this.contents.secrets[target];
    if (!record) throw new SecretLookupError('not-found', `${target} is not in the vault of tenant "${this.tenant}"`);
    return record.versions.map(versionMetadata).reverse();
  }

  /**
   * The stored version a reference (or explicit stage / version id) selects, value included.
   * For the CLI's backend; the runtime uses {@link Vault.readSecret}.
   */
  getVersion(reference: string | SecretReference, options: ReadOptions = {}): VaultVersion {
    const { target, reference: parsed } = vaultTarget(reference);
    const record = this.contents.secrets[target];
    if (!record) throw new SecretLookupError('not-found', `${target} is not in the vault of tenant "${this.tenant}"`);
    if (options.versionId !== undefined) {
      const version = record.versions.find((candidate) => candidate.versionId === options.versionId);
      if (!version) throw new SecretLookupError('version-not-found', `${target} has no version ${options.versionId}`);
      return { ...version, labels: [...version.labels] };
    }
    const stage = options.versionStage ?? (parsed.service === 'secretsmanager' ? parsed.versionStage : undefined) ?? STAGE_CURRENT;
    const version = record.versions.find((candidate) => candidate.labels.includes(stage));
    if (!version) throw new SecretLookupError('stage-not-found', `${target} has no version labelled ${stage}`);
    return { ...version, labels: [...version.labels] };
  }

  /**
   * Resolves a reference to its value: the version at the reference's stage (default
   * `AWSCURRENT`), and for `secretsmanager:<name>:<json-key>` the key of its JSON object (strings
   * as they are, other JSON values serialized). Errors never contain the value.
   */
  readSecret(reference: string | SecretReference, options: ReadOptions = {}): string {
    const { reference: parsed } = vaultTarget(reference);
    const version = this.getVersion(parsed, options);
    if (parsed.service !== 'secretsmanager' || parsed.jsonKey === undefined) return version.value;
    return extractJsonKey(version.value, parsed.jsonKey, referenceTarget(parsed));
  }
}

/**
 * The value of `jsonKey` in a secret's JSON object: strings as they are, other values
 * serialized. Errors name the key and the target, never the value.
 */
export function extractJsonKey(value: string, jsonKey: string, target: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    // The parser's message quotes the input: never pass it on.
    throw new SecretLookupError('not-json', `the value of ${target} is not a JSON object, so it has no key "${jsonKey}"`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SecretLookupError('not-json', `the value of ${target} is not a JSON object, so it has no key "${jsonKey}"`);
  }
  if (!Object.prototype.hasOwnProperty.call(parsed, jsonKey)) {
    throw new SecretLookupError('json-key-not-found', `the JSON value of ${target} has no key "${jsonKey}"`);
  }
  const field = (parsed as Record<string, unknown>)[jsonKey];
  return typeof field === 'string' ? field : JSON.stringify(field);
}

/**
 * Opens a tenant's vault. An absent file is an empty vault (created by the first write). A file
 * under another key, of another tenant, damaged, or below `minGeneration` throws
 * {@link VaultOpenError} and is left untouched.
 *
 * @example
 * const vault = openVault('.sovereign/vault/acme.vault', readVaultKey('.sovereign/keys/acme.key'), 'acme');
 * const licenseKey = vault.readSecret('secretsmanager:dev/tenants/acme/avalara:license_key');
 */
export function openVault(path: string, key: Uint8Array, tenant: string, options: OpenVaultOptions = {}): Vault {
  return new Vault(path, key, tenant, options);
}
