/** A tenant's record in the registry, the same on every target (files locally, control-plane items on aws). */
import type { TenantAuth } from '../contract/auth.js';
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
  /** The caller rules this deploy gave the tenant (`contract/auth.ts`); absent in records older than them. */
  auth?: TenantAuth;
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
  /**
   * The generation of the tenant's vault (local target) as its last committed write left it; a
   * vault file below it is refused as rolled back. Absent before the first recorded write.
   */
  vaultGeneration?: number;
  /** The aws cell the tenant was placed in (account and region as placement found them); absent in the home account and region. */
  cell?: { name: string; account: string; region: string };
  billing?: { customerId?: string; failedPayments?: number; plan?: string; suspendedForPayment?: boolean; subscriptionId?: string; offboardAfter?: string };
}
