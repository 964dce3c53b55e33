/**
 * Offboarding on aws: the tenant's table exported with a consistent paginated Scan (the aws
 * target's `exportTable`), then its stack deleted by the aws target's audited destroy, then the
 * tenant's own KMS key scheduled for deletion (`shred.ts`).
 */
import type { AwsSession } from './session.js';
import type { LiveView } from '../../output/live.js';
import type { StateStore } from '../../state/store.js';
import { tenantTableName } from '../../templates/names.js';
import { sha256File } from '../../tenants/table-export.js';
import type { OffboardTarget } from '../../lifecycle/offboard.js';
import type { TableKeyMode } from '../../templates/tenant-stack.js';

export interface AwsOffboardOptions {
  state: StateStore;
  session: AwsSession;
  /** Lift the table's deletion protection (stages other than dev have it). */
  forceDeleteTable?: boolean;
  view?: LiveView;
  /** `aws.tableKey` and `aws.keyDeletionWindowDays` of the project. */
  keys?: { tableKey: TableKeyMode; pendingWindowInDays: number };
}

export function awsOffboardTarget(options: AwsOffboardOptions): OffboardTarget {
  return {
    // Once the marker says suspended the runtime refuses extension routes; the stack goes last.
    release: async () => undefined,
    exportData: async (record, dir) => {
      const { exportTable } = await import('./destroy.js');
      const table = tenantTableName(record.stage, record.id);
      const exported = await exportTable(options.session, table, dir);
      return { path: exported.path, sha256: sha256File(exported.path), bytes: exported.bytes, items: exported.items, table };
    },
    destroy: async (record) => {
      const { offboardTenantOnAws } = await import('./destroy.js');
      const { result } = await offboardTenantOnAws(options.state, {
        session: options.session,
        tenant: record.id,
        forceDeleteTable: options.forceDeleteTable === true,
        ...(options.view ? { view: options.view } : {}),
      });
      return [
        `stack ${result.stack}${result.existed ? '' : ' (already absent)'}: function, HTTP API, table ${tenantTableName(record.stage, record.id)}, runtime role, log group`,
        `tenant record ${record.id} in the control-plane registry of stage ${record.stage}`,
      ];
    },
    // After the export and the stack: the key goes last, once nothing needs to read the data.
    shred: async (record) => {
      const [{ kmsClientFor }, { shredTenantKey }] = await Promise.all([import('./kms-client.js'), import('./shred.js')]);
      const keys = options.keys ?? { tableKey: 'tenant', pendingWindowInDays: 30 };
      return shredTenantKey(kmsClientFor(options.session.settings), { stage: record.stage, tenant: record.id, ...keys });
    },
  };
}
