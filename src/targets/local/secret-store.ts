/**
 * The local target's secret backend: the tenant's encrypted vault file
 * (`.sovereign/vault/<tenant>.vault`, key `.sovereign/keys/<tenant>.key`).
 */
import { existsSync } from 'node:fs';
import type { Project } from '../../project.js';
import type { SecretMetadataSource } from '../target.js';
import type { SecretReference } from '../../contract/reference.js';
import { tenantKeyPath, tenantVaultPath } from './paths.js';
import { readTenant } from './registry.js';
import { openVault, readVaultKey, SecretLookupError, STAGE_CURRENT, STAGE_PENDING, STAGE_PREVIOUS, VaultOpenError } from '../../runtime/secrets/vault.js';
import { openStagedVault, openWritableVault, VaultConflictError, type WritableVault } from './vault-writer.js';
import type { Transaction } from '../../state/store.js';
import { runningTransaction } from './state.js';
import {
  SecretStoreError, VaultRollbackError, type RollbackProblem, type SecretStoreCapabilities, type PutVersionOptions, type PutVersionResult, type ReadValueOptions,
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
  /**
   * The vault generation recorded for the tenant (its registry record); an older vault file is
   * refused. Read at each open, so a record moved on by another command is seen.
   */
  recordedGeneration?: () => number;
  /** The audit log: `rollbackProblem` also compares with the generations its events recorded. */
  auditLog?: string;
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
      case 'rolled-back':
        throw new VaultRollbackError(error.message, {
          hint: `restore the newest copy of ${options.vaultPath} (its generation must be at least the recorded one); \`sovereign audit log --tenant ${options.tenant}\` lists the writes since`,
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
      // A record moved on by a commit since (this process's or another's) raises the floor.
      if (this.recorded() > this.vault.generation) this.vault = undefined;
      else {
        this.guard(() => this.vault?.refresh());
        return this.vault;
      }
    }
    this.assertKey();
    this.vault = this.guard(() => openWritableVault(this.options.vaultPath, readVaultKey(this.options.keyPath), this.options.tenant, this.floor()));
    return this.vault;
  }

  /** One staged vault per transaction: its reads see its own staged writes. */
  private readonly staged = new WeakMap<Transaction, WritableVault>();

  private stagedVault(tx: Transaction): WritableVault {
    let vault = this.staged.get(tx);
    if (!vault) {
      this.assertKey();
      const { vaultPath, keyPath, tenant } = this.options;
      vault = this.guard(() => openStagedVault(vaultPath, readVaultKey(keyPath), tenant, (bytes, generation) => {
        tx.write(vaultPath, bytes, 0o600);
        tx.recordVaultGeneration(tenant, generation);
      }, this.floor()));
      this.staged.set(tx, vault);
    }
    return vault;
  }

  private recorded(): number {
    return this.options.recordedGeneration?.() ?? 0;
  }

  private floor(): { minGeneration: number } {
    return { minGeneration: this.recorded() };
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

  /**
   * Compares the vault file's generation with the registry's record and with the highest one the
   * audit log's events recorded (so a registry edited back as well still shows): `secrets check`.
   */
  async rollbackProblem(): Promise<RollbackProblem | undefined> {
    const { vaultPath, keyPath, tenant, auditLog } = this.options;
    let generation: number;
    try {
      generation = openVault(vaultPath, readVaultKey(keyPath), tenant).generation;
    } catch {
      // A vault that does not open at all (no key, another key, damaged) is reported by each reference's probe.
      return undefined;
    }
    const records: Array<[string, number]> = [['registry', this.recorded()]];
    if (auditLog !== undefined) records.push(['audit log', await auditedVaultGeneration(auditLog, tenant)]);
    const recorded = Math.max(...records.map(([, value]) => value));
    if (generation >= recorded) return undefined;
    const recordedIn = records.filter(([, value]) => value > generation).map(([where]) => where);
    const shown = records.map(([where, value]) => `${value} in the ${where}`).join(', ');
    return {
      generation,
      recorded,
      recordedIn,
      detail: `the vault of tenant "${tenant}" is at generation ${generation}, older than recorded (${shown}): an older copy was put back`,
    };
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
  return new LocalSecretStore({
    tenant,
    vaultPath: tenantVaultPath(project, tenant),
    keyPath: tenantKeyPath(project, tenant),
    stateDir: project.paths.state,
    recordedGeneration: () => recordedVaultGeneration(project, tenant),
    auditLog: project.paths.auditLog,
  });
}

/**
 * The highest vault generation of `tenant` that the audit log's successful events recorded since
 * the tenant was last created (a destroyed and re-created tenant starts a new vault).
 */
async function auditedVaultGeneration(auditLog: string, tenant: string): Promise<number> {
  const { readEvents } = await import('../../state/audit-log.js');
  let highest = 0;
  for await (const { event } of readEvents(auditLog)) {
    if (event?.outcome !== 'success') continue;
    if (event.tenant === tenant && (event.action === 'tenant.create' || event.action === 'tenant.destroy')) highest = 0;
    const recorded = (event.args?.vaultGenerations as Record<string, unknown> | undefined)?.[tenant];
    if (typeof recorded === 'number' && recorded > highest) highest = recorded;
  }
  return highest;
}

/** The vault generation the tenant's registry record holds (0 before the first recorded write). */
export function recordedVaultGeneration(project: Project, tenant: string): number {
  return readTenant(project.paths.tenants, tenant)?.vaultGeneration ?? 0;
}

/** Rotation metadata for evidence bundles: each tenant's vault (metadata only, never values). */
export function localSecretMetadata(project: Project): SecretMetadataSource {
  return { backend: (tenant) => localBackendFor(project, typeof tenant === 'string' ? tenant : tenant.id) };
}
