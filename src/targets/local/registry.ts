/** The local target's registry: one JSON file per tenant in `.sovereign/tenants/`. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TenantRecord } from '../../state/registry.js';

export function tenantFile(tenantsDir: string, id: string): string {
  return join(tenantsDir, `${id}.json`);
}

export function readTenant(tenantsDir: string, id: string): TenantRecord | undefined {
  const file = tenantFile(tenantsDir, id);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as TenantRecord;
}

/** The registry's record files, sorted; temporary files of an interrupted write are not records. */
function tenantRecordFiles(tenantsDir: string): string[] {
  return readdirSync(tenantsDir).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
}

/** Every tenant, sorted by id. Temporary files of an interrupted write are skipped. */
export function listTenants(tenantsDir: string): TenantRecord[] {
  if (!existsSync(tenantsDir)) return [];
  return tenantRecordFiles(tenantsDir).map((n) => JSON.parse(readFileSync(join(tenantsDir, n), 'utf8')) as TenantRecord);
}

/** Every tenant's id, sorted, from the registry's file names alone (for shell completion). */
export function listTenantIds(tenantsDir: string): string[] {
  if (!existsSync(tenantsDir)) return [];
  return tenantRecordFiles(tenantsDir).map((n) => n.slice(0, -'.json'.length));
}

export function serializeTenant(record: TenantRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}
