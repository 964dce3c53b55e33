import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tier } from '../config.js';

export type TenantStatus = 'provisioning' | 'active' | 'suspended' | 'offboarding' | 'deleted' | 'failed';

export interface SecretMapping {
  reference: string;
  setAt: string;
  setBy: string;
}

export interface DeployRecord {
  at: string;
  by: string;
  target: 'local' | 'aws';
  artifact: string;
  extensions: string[];
  outcome: 'success' | 'failure';
  stack?: string;
  error?: string;
}

/** One tenant in the registry. */
export interface TenantRecord {
  id: string;
  tier: Tier;
  status: TenantStatus;
  stage: string;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  /** Enabled extensions, sorted. */
  extensions: string[];
  /** `<extension>.<key>` → reference (never a value). */
  secrets: Record<string, SecretMapping>;
  /** Tenant-level settings per extension. */
  config: Record<string, Record<string, unknown>>;
  deploys: DeployRecord[];
  /** Lifecycle history: every status change. */
  transitions: Array<{ from: TenantStatus | null; to: TenantStatus; at: string; by: string; reason?: string }>;
  billing?: { customerId?: string; failedPayments?: number; plan?: string; suspendedForPayment?: boolean; subscriptionId?: string; offboardAfter?: string };
}

export function tenantFile(tenantsDir: string, id: string): string {
  return join(tenantsDir, `${id}.json`);
}

export function readTenant(tenantsDir: string, id: string): TenantRecord | undefined {
  const file = tenantFile(tenantsDir, id);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as TenantRecord;
}

/** Every tenant, sorted by id. Temporary files of an interrupted write are skipped. */
export function listTenants(tenantsDir: string): TenantRecord[] {
  if (!existsSync(tenantsDir)) return [];
  const names = readdirSync(tenantsDir).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
  names.sort();
  return names.map((n) => JSON.parse(readFileSync(join(tenantsDir, n), 'utf8')) as TenantRecord);
}

export function serializeTenant(record: TenantRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}
