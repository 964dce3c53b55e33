/**
 * One interface over the places secret values live: the local vault and AWS (SSM Parameter Store,
 * Secrets Manager). Commands and the rotation procedure speak only to this interface; the
 * runtime only reads, through its `SecretFetcher`.
 *
 * The model is Secrets Manager's: a secret has versions, and staging labels (`AWSCURRENT`,
 * `AWSPENDING`, `AWSPREVIOUS`) sit on at most one version each. SSM has no staging labels; its
 * backend maps the model onto parameter versions (the latest version is `AWSCURRENT`) and
 * parameter labels, and says so through {@link SecretStoreCapabilities.pendingStage}.
 *
 * Values cross this interface only into the backend (`putVersion`) and out of it for internal
 * checks (`readValue`: JSON keys, `check`, idempotent retries); they are never part of a
 * description, history or error.
 */
import { ExitCode, UserError, type ExitCodeValue } from '../errors.js';
import type { SecretReference } from '../contract/reference.js';
import { extractJsonKey, SecretLookupError } from '../runtime/secrets/vault.js';

export { STAGE_CURRENT, STAGE_PENDING, STAGE_PREVIOUS } from '../runtime/secrets/vault.js';

/** One version of a secret, without its value. */
export interface SecretVersionInfo {
  versionId: string;
  /** ISO-8601, when the store reports it. */
  createdAt: string | undefined;
  /** Who wrote it, when the store records it (the vault does; Secrets Manager does not). */
  createdBy: string | undefined;
  labels: string[];
}

/** What is stored behind a reference's target, without any value. */
export interface SecretDescription {
  /** `ssm:<name>` or `secretsmanager:<name>`. */
  target: string;
  currentVersionId: string | undefined;
  pendingVersionId: string | undefined;
  previousVersionId: string | undefined;
  /** ISO-8601 of the last change, when known. */
  lastChangedAt: string | undefined;
  lastChangedBy: string | undefined;
}

export interface SecretStoreCapabilities {
  /**
   * Whether a new version can be stored without becoming current (`AWSPENDING`). False for SSM,
   * where every new parameter version is the current one.
   */
  pendingStage: boolean;
}

export interface PutVersionOptions {
  /** Labels of the new version; `AWSCURRENT` makes it current (the default). */
  labels?: string[];
  /**
   * A version id chosen by the caller (Secrets Manager's `ClientRequestToken`, 32–64
   * characters): repeating a put with the same id and value is a no-op.
   */
  versionId?: string;
  /** The actor, recorded where the store can. */
  by: string;
}

export interface PutVersionResult {
  versionId: string;
  /** False when the version already existed (an idempotent retry). */
  created: boolean;
}

export interface ReadValueOptions {
  versionStage?: string;
  versionId?: string;
}

/** Secret storage of one target (`local` vault or `aws`). */
export interface SecretStore {
  readonly kind: 'local' | 'aws';
  readonly capabilities: (service: SecretReference['service']) => SecretStoreCapabilities;
  /** What is stored behind the reference's target, or undefined when nothing is. */
  describe(reference: SecretReference): Promise<SecretDescription | undefined>;
  /**
   * The value at a stage (default: the reference's stage, else `AWSCURRENT`) or version. Internal
   * only: callers must never print, log or return it.
   */
  readValue(reference: SecretReference, options?: ReadValueOptions): Promise<string>;
  /** Stores a new version (creating the parameter or secret when absent). */
  putVersion(reference: SecretReference, value: string, options: PutVersionOptions): Promise<PutVersionResult>;
  /**
   * Moves a label onto a version; moving `AWSCURRENT` leaves `AWSPREVIOUS` on the version that
   * had it. Returns the id of the version that now carries the label (on SSM, making an older
   * version current again writes its value as a new version).
   */
  moveLabel(reference: SecretReference, label: string, toVersionId: string, options?: { fromVersionId?: string; by?: string }): Promise<{ versionId: string }>;
  /** Removes a label (never `AWSCURRENT`) from a version. */
  removeLabel(reference: SecretReference, label: string, fromVersionId: string): Promise<void>;
  /** Versions, newest first, without values. */
  history(reference: SecretReference): Promise<SecretVersionInfo[]>;
  /** Targets (`ssm:<name>`, `secretsmanager:<name>`) whose names start with the prefixes. */
  list(prefixes: { ssm?: string; secretsmanager?: string }): Promise<string[]>;
  /**
   * Where the store's state carries a generation recorded elsewhere (the local vault: the
   * registry and the audit log): why it is older than a record, or undefined when it is not.
   */
  rollbackProblem?(): Promise<RollbackProblem | undefined>;
}

/** A store older than what was recorded of it: an older copy put back. */
export interface RollbackProblem {
  /** The generation the store is at. */
  generation: number;
  /** The highest generation recorded, and where (`registry`, `audit log`). */
  recorded: number;
  recordedIn: string[];
  detail: string;
}

/** Why a backend call failed, as far as the user is concerned. */
export type SecretStoreFailure = 'not-found' | 'denied' | 'conflict' | 'key-missing' | 'failed';

const EXIT_BY_FAILURE: Record<SecretStoreFailure, ExitCodeValue> = {
  'not-found': ExitCode.notFound,
  denied: ExitCode.denied,
  conflict: ExitCode.conflict,
  'key-missing': ExitCode.notFound,
  failed: ExitCode.failed,
};

/** A backend failure the user can act on; the message names references, never values. */
export class SecretStoreError extends UserError {
  readonly reason: SecretStoreFailure;

  constructor(reason: SecretStoreFailure, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { hint: options.hint, exitCode: EXIT_BY_FAILURE[reason], cause: options.cause });
    this.name = 'SecretStoreError';
    this.reason = reason;
  }
}

/**
 * The tenant's vault is older than the generation recorded for it (an older copy put back): it
 * is not read, not written and not served (exit 1).
 */
export class VaultRollbackError extends SecretStoreError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('failed', message, options);
    this.name = 'VaultRollbackError';
  }
}

/** The outcome of resolving one reference, for `secrets check` and health reports. */
export type ProbeStatus = 'ok' | 'missing' | 'denied' | 'key-missing' | 'error';

export interface ProbeResult {
  status: ProbeStatus;
  /** One line without any value. */
  detail: string;
}

/**
 * Resolves a reference completely (stage, JSON key) and reports the outcome without the value.
 */
export async function probeReference(backend: SecretStore, reference: SecretReference, target: string): Promise<ProbeResult> {
  let value: string;
  try {
    value = await backend.readValue(reference);
  } catch (error) {
    // A rolled-back store is not a reference's problem: the caller refuses it as a whole.
    if (error instanceof SecretStoreError && !(error instanceof VaultRollbackError)) {
      const status: ProbeStatus = error.reason === 'not-found' ? 'missing' : error.reason === 'denied' ? 'denied' : error.reason === 'key-missing' ? 'key-missing' : 'error';
      return { status, detail: error.message };
    }
    throw error;
  }
  if (reference.service === 'secretsmanager' && reference.jsonKey !== undefined) {
    try {
      extractJsonKey(value, reference.jsonKey, target);
    } catch (error) {
      if (error instanceof SecretLookupError) return { status: 'key-missing', detail: error.message };
      throw error;
    }
  }
  return { status: 'ok', detail: 'resolves' };
}
