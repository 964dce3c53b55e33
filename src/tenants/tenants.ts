import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webhookSecretReference } from '../contract/tenant-runtime-config.js';
import { openWritableVault } from '../secrets/vault-writer.js';
import { conflict, notFound } from '../errors.js';
import { assertTenantId } from '../names.js';
import type { Tier } from '../config.js';
import type { Project } from '../project.js';
import type { TenantRecord } from '../state/registry.js';
import type { StateStore, Transaction } from '../state/store.js';

export interface CreateTenantOptions {
  id: string;
  tier: Tier;
  extensions: string[];
  /** Hook for work that belongs to the same commit (vault, secrets scope checks). */
  extend?: (tx: Transaction, record: TenantRecord) => Promise<void> | void;
}

export function tenantKeyPath(project: Project, id: string): string {
  return join(project.paths.keys, `${id}.key`);
}

export function tenantVaultPath(project: Project, id: string): string {
  return join(project.paths.vault, `${id}.vault`);
}

export { webhookSecretReference };

/**
 * The bytes of a new tenant's vault holding its webhook signing secret, built in a scratch
 * folder so they can land in the same commit as the tenant's record and key.
 */
function seededVault(key: Buffer, id: string, stage: string, by: string): Buffer {
  const scratch = mkdtempSync(join(tmpdir(), 'sovereign-vault-'));
  try {
    const path = join(scratch, `${id}.vault`);
    openWritableVault(path, key, id).putVersion(webhookSecretReference(stage, id), randomBytes(32).toString('base64url'), { by });
    return readFileSync(path);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Pure: the record of a new tenant, `provisioning` until its first successful deploy. */
export function newTenantRecord(options: { id: string; tier: Tier; stage: string; extensions: string[]; by: string; now: string }): TenantRecord {
  return {
    id: options.id,
    tier: options.tier,
    status: 'provisioning',
    stage: options.stage,
    createdAt: options.now,
    createdBy: options.by,
    updatedAt: options.now,
    extensions: [...new Set(options.extensions)].sort(),
    secrets: {},
    config: {},
    deploys: [],
    transitions: [{ from: null, to: 'provisioning', at: options.now, by: options.by }],
  };
}

/** Creates a tenant: its record and its own vault key (mode 0600), recorded in the audit log. */
export async function createTenant(state: StateStore, stage: string, options: CreateTenantOptions): Promise<TenantRecord> {
  assertTenantId(options.id);
  return state.mutate(
    { command: 'tenant create', action: 'tenant.create', tenant: options.id, args: { tier: options.tier, extensions: options.extensions } },
    async (tx) => {
      if (await state.getTenant(options.id)) throw conflict(`tenant "${options.id}" already exists`, `see it with \`sovereign tenant show ${options.id}\``);
      const record = newTenantRecord({ id: options.id, tier: options.tier, stage, extensions: options.extensions, by: state.actor, now: new Date().toISOString() });
      tx.putTenant(record);
      const key = randomBytes(32);
      // Keys are readable by their owner only, and so is the folder that lists them.
      mkdirSync(state.project.paths.keys, { recursive: true, mode: 0o700 });
      chmodSync(state.project.paths.keys, 0o700);
      tx.write(tenantKeyPath(state.project, options.id), key, 0o600);
      tx.write(tenantVaultPath(state.project, options.id), seededVault(key, options.id, stage, state.actor), 0o600);
      await options.extend?.(tx, record);
      return record;
    },
  );
}

export async function requireTenant(state: StateStore, id: string): Promise<TenantRecord> {
  assertTenantId(id);
  const record = await state.getTenant(id);
  if (!record) throw notFound(`tenant "${id}" does not exist`, 'list tenants with `sovereign tenant list`');
  return record;
}

/** Removes a tenant's record, key, vault and data; the audit log keeps its history. */
export async function destroyTenant(state: StateStore, id: string): Promise<TenantRecord> {
  assertTenantId(id);
  return state.mutate({ command: 'tenant destroy', action: 'tenant.destroy', tenant: id }, async (tx) => {
    const record = await requireTenant(state, id);
    const paths = state.project.paths;
    tx.deleteTenant(id);
    tx.remove(tenantKeyPath(state.project, id));
    tx.remove(tenantVaultPath(state.project, id));
    tx.remove(join(paths.data, id));
    return record;
  });
}
