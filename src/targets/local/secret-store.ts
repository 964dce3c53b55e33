/**
 * The local target's secret backend: the tenant's encrypted vault file
 * (`.sovereign/vault/<tenant>.vault`, key `.sovereign/keys/<tenant>.key`).
 */
import { existsSync } from 'node:fs';
import type { Project } from '../../project.js';
import type { SecretMetadataSource } from '../target.js';
import type { SecretReference } from '../../contract/reference.js';
import { tenantKeyPath, tenantVaultPath } from './paths.js';
import { readVaultKey, SecretLookupError, STAGE_CURRENT, STAGE_PENDING, STAGE_PREVIOUS, VaultOpenError } from '../../runtime/secrets/vault.js';
import { openStagedVault, openWritableVault, VaultConflictError, type WritableVault } from './vault-writer.js';
import type { Transaction } from '../../state/store.js';
import { runningTransaction } from './state.js';
import {
  SecretStoreError, type SecretStoreCapabilities, type PutVersionOptions, type PutVersionResult, type ReadValueOptions,
  type SecretStore, type SecretDescription, type SecretVersionInfo,
} from '../../secrets/store.js';

export interface LocalSecretStoreOptions {
  tenant: string;
  vaultPath: string;
  keyPath: string;
  /**
   * The project's state folder: while a mutation of that project runs, writes are staged into its
   * transaction (and land with its audit event) instead of going to the file.
   */
  stateDir?: string;
}

/** Turns vault errors into user-facing backend errors; values never appear in them. */
export function mapVaultError(error: unknown, options: LocalSecretStoreOptions): never {
  if (error instanceof VaultOpenError) {
    switch (error.reason) {
      case 'wrong-key':
        throw new SecretStoreError('denied', `the vault of tenant "${options.tenant}" is encrypted under another key than ${options.keyPath}`, {
          hint: `restore the tenant's key file ${options.keyPath}; the vault ${options.vaultPath} was left untouched`,
          cause: error,
        });
      case 'bad-key':
      case 'unreadable':
        throw new SecretStoreError('denied', error.message, {
          hint: `each tenant's key (32 random bytes, mode 0600) is created by \`sovereign tenant create\` at ${options.keyPath}`,
          cause: error,
        });
      default:
        throw new SecretStoreError('failed', error.message, {
          hint: `restore ${options.vaultPath} from a backup; it was not modified`,
          cause: error,
        });
    }
  }
  if (error instanceof SecretLookupError) {
    const reason = error.reason === 'not-json' || error.reason === 'json-key-not-found' ? 'key-missing' : 'not-found';
    throw new SecretStoreError(reason, error.message, reason === 'not-found' ? { hint: 'store a value with `sovereign secrets put`' } : {});
  }
  if (error instanceof VaultConflictError) throw new SecretStoreError('conflict', error.message, { cause: error });
  throw error;
}

/** A {@link SecretStore} over one tenant's vault. The vault is opened on first use. */
export class LocalSecretStore implements SecretStore {
  readonly kind = 'local' as const;
  private vault: WritableVault | undefined;

  constructor(private readonly options: LocalSecretStoreOptions) {}

  capabilities(): SecretStoreCapabilities {
    return { pendingStage: true };
  }

  private open(): WritableVault {
    const tx = this.options.stateDir === undefined ? undefined : runningTransaction(this.options.stateDir);
    if (tx) return this.stagedVault(tx);
    if (this.vault) {
      this.guard(() => this.vault?.refresh());
      return this.vault;
    }
    this.assertKey();
    this.vault = this.guard(() => openWritableVault(this.options.vaultPath, readVaultKey(this.options.keyPath), this.options.tenant));
    return this.vault;
  }

  /** One staged vault per transaction: its reads see its own staged writes. */
  private readonly staged = new WeakMap<Transaction, WritableVault>();

  private stagedVault(tx: Transaction): WritableVault {
    let vault = this.staged.get(tx);
    if (!vault) {
      this.assertKey();
      const { vaultPath, keyPath, tenant } = this.options;
      vault = this.guard(() => openStagedVault(vaultPath, readVaultKey(keyPath), tenant, (bytes) => tx.write(vaultPath, bytes, 0o600)));
      this.staged.set(tx, vault);
    }
    return vault;
  }

  private assertKey(): void {
    if (!existsSync(this.options.keyPath)) {
      throw new SecretStoreError('denied', `tenant "${this.options.tenant}" has no key at ${this.options.keyPath}`, {
        hint: 'tenant keys are created by `sovereign tenant create`; restore the key file from a backup',
      });
    }
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      return mapVaultError(error, this.options);
    }
  }

  async describe(reference: SecretReference): Promise<SecretDescription | undefined> {
    const vault = this.open();
    const description = this.guard(() => vault.describe(reference));
    if (!description) return undefined;
    const holder = (label: string) => Object.entries(description.labels).find(([, labels]) => labels.includes(label))?.[0];
    return {
      target: description.target,
      currentVersionId: holder(STAGE_CURRENT),
      pendingVersionId: holder(STAGE_PENDING),
      previousVersionId: holder(STAGE_PREVIOUS),
      lastChangedAt: description.lastChangedAt,
      lastChangedBy: description.lastChangedBy,
    };
  }

  async readValue(reference: SecretReference, options: ReadValueOptions = {}): Promise<string> {
    const vault = this.open();
    // The whole stored value: JSON keys are extracted by the caller.
    const whole: SecretReference = reference.service === 'secretsmanager' && reference.jsonKey !== undefined
      ? { service: 'secretsmanager', name: reference.name, ...(reference.versionStage ? { versionStage: reference.versionStage } : {}) }
      : reference;
    return this.guard(() => vault.getVersion(whole, options).value);
  }

  async putVersion(reference: SecretReference, value: string, options: PutVersionOptions): Promise<PutVersionResult> {
    const vault = this.open();
    return this.guard(() => {
      const before = vault.generation;
      const version = vault.putVersion(reference, value, {
        by: options.by,
        labels: options.labels ?? [STAGE_CURRENT],
        ...(options.versionId !== undefined ? { versionId: options.versionId } : {}),
      });
      return { versionId: version.versionId, created: vault.generation !== before };
    });
  }

  async moveLabel(reference: SecretReference, label: string, toVersionId: string, options: { fromVersionId?: string } = {}): Promise<{ versionId: string }> {
    const vault = this.open();
    this.guard(() => vault.moveLabel(reference, label, toVersionId, options.fromVersionId !== undefined ? { fromVersionId: options.fromVersionId } : {}));
    return { versionId: toVersionId };
  }

  async removeLabel(reference: SecretReference, label: string, fromVersionId: string): Promise<void> {
    const vault = this.open();
    this.guard(() => vault.removeLabel(reference, label, fromVersionId));
  }

  async history(reference: SecretReference): Promise<SecretVersionInfo[]> {
    const vault = this.open();
    return this.guard(() => vault.history(reference)).map((version) => ({
      versionId: version.versionId,
      createdAt: version.createdAt,
      createdBy: version.createdBy,
      labels: [...version.labels],
    }));
  }

  async list(prefixes: { ssm?: string; secretsmanager?: string }): Promise<string[]> {
    const vault = this.open();
    return vault.listNames().filter((target) => {
      if (target.startsWith('ssm:')) return prefixes.ssm !== undefined && target.startsWith(`ssm:${prefixes.ssm}`);
      return prefixes.secretsmanager !== undefined && target.startsWith(`secretsmanager:${prefixes.secretsmanager}`);
    });
  }
}


/** The store over a tenant's vault and key in `.sovereign/`. */
export function localBackendFor(project: Project, tenant: string): LocalSecretStore {
  return new LocalSecretStore({ tenant, vaultPath: tenantVaultPath(project, tenant), keyPath: tenantKeyPath(project, tenant), stateDir: project.paths.state });
}

/** Rotation metadata for evidence bundles: each tenant's vault (metadata only, never values). */
export function localSecretMetadata(project: Project): SecretMetadataSource {
  return { backend: (tenant) => localBackendFor(project, typeof tenant === 'string' ? tenant : tenant.id) };
}
