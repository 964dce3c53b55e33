import { webhookSecretReference } from '../contract/names.js';
import { conflict, notFound, OtherStageError } from '../errors.js';
import { assertTenantId } from '../names.js';
import type { Tier } from '../config.js';
import type { TenantRecord } from '../state/registry.js';
import type { StateStore, Transaction } from '../state/store.js';

export interface CreateTenantOptions {
  id: string;
  tier: Tier;
  extensions: string[];
  /**
   * Places the tenant (an aws cell, kept in the record; undefined: the home account and region).
   * Called under the mutation's lock, so two creates never both take a cell's last headroom.
   */
  place?: () => Promise<TenantRecord['cell']>;
  /** Hook for work that belongs to the same commit (vault, secrets scope checks). */
  extend?: (tx: Transaction, record: TenantRecord) => Promise<void> | void;
}

export { webhookSecretReference };

/** Pure: the record of a new tenant, `provisioning` until its first successful deploy. */
export function newTenantRecord(options: { id: string; tier: Tier; stage: string; extensions: string[]; by: string; now: string; cell?: TenantRecord['cell'] }): TenantRecord {
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
    ...(options.cell ? { cell: { ...options.cell } } : {}),
  };
}

/** Creates a tenant: its record and its own vault key (mode 0600), recorded in the audit log. */
export async function createTenant(state: StateStore, stage: string, options: CreateTenantOptions): Promise<TenantRecord> {
  assertTenantId(options.id);
  return state.mutate(
    { command: 'tenant create', action: 'tenant.create', tenant: options.id, args: { tier: options.tier, extensions: options.extensions } },
    async (tx) => {
      // A tenant of another stage (whose lookup is refused here) takes the id as well.
      const existing = await state.getTenant(options.id).catch((error: unknown) => {
        if (error instanceof OtherStageError) throw conflict(`tenant "${options.id}" already exists in stage ${error.stage}`, 'pick another id: local tenants of every stage share this project\'s .sovereign folder');
        throw error;
      });
      if (existing) throw conflict(`tenant "${options.id}" already exists`, `see it with \`sovereign tenant show ${options.id}\``);
      const cell = await options.place?.();
      if (cell) Object.assign(tx.eventArgs, { cell });
      const record = newTenantRecord({ id: options.id, tier: options.tier, stage, extensions: options.extensions, by: state.actor, now: new Date().toISOString(), ...(cell ? { cell } : {}) });
      tx.putTenant(record);
      tx.provisionTenant(options.id, stage);
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
    tx.deleteTenant(id);
    tx.unprovisionTenant(id);
    return record;
  });
}
