/**
 * Offboarding on the local target: `sovereign dev` lets go of the tenant, its table is read from
 * its own dynalite store, and `destroyTenant` removes its record, key, vault and data.
 */
import { conflict } from '../../errors.js';
import type { LifecycleEnv } from '../../lifecycle/apply.js';
import type { OffboardTarget } from '../../lifecycle/offboard.js';
import { destroyTenant } from '../../tenants/tenants.js';
import { exportLocalTable } from './export.js';
import { runningDevPort } from './notify.js';

function deletedItems(id: string): string[] {
  return [
    `tenant record .sovereign/tenants/${id}.json`,
    `vault key .sovereign/keys/${id}.key`,
    `secrets vault .sovereign/vault/${id}.vault`,
    `data folder .sovereign/data/${id}/ (table, runtime log, generation marker)`,
  ];
}

async function waitForDevRelease(env: LifecycleEnv, tenant: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (runningDevPort(env.project.paths.devState, tenant) !== undefined) {
    if (Date.now() > deadline) {
      throw conflict(`sovereign dev still runs tenant "${tenant}" after ${Math.round(timeoutMs / 1000)} s`, 'stop `sovereign dev` and run the offboarding again; it continues where it stopped');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function localOffboardTarget(env: LifecycleEnv, options: { devReleaseMs?: number } = {}): OffboardTarget {
  return {
    release: (record) => waitForDevRelease(env, record.id, options.devReleaseMs ?? 15_000),
    exportData: (record, dir) => exportLocalTable(env.project, record, dir),
    destroy: async (record) => {
      await destroyTenant(env.state, record.id);
      return deletedItems(record.id);
    },
  };
}

