/** Tenants as tests need them: created and already through their first successful deploy. */
import { deployRecorder } from '../../src/fleet/record.js';
import type { TenantRecord } from '../../src/state/registry.js';
import type { StateStore } from '../../src/state/store.js';
import { createTenant, requireTenant, type CreateTenantOptions } from '../../src/tenants/tenants.js';

/**
 * Creates a tenant (provisioning) and records a successful first deploy, which activates it: what
 * `tenant create` does with its deploy, without building an artifact.
 */
export async function createDeployedTenant(state: StateStore, stage: string, options: CreateTenantOptions, target: 'local' | 'aws' = 'local'): Promise<TenantRecord> {
  await createTenant(state, stage, options);
  await deployRecorder(state)(options.id, { at: new Date().toISOString(), by: state.actor, target, artifact: '0'.repeat(64), extensions: [...options.extensions].sort(), outcome: 'success' });
  return requireTenant(state, options.id);
}
