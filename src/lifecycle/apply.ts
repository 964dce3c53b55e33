/**
 * Applying lifecycle transitions: one audited mutation per transition, the record's
 * `transitions` and the runtime's generation marker changed in the same commit.
 *
 * Suspension touches no data: it flips `suspended` in the tenant's generation marker, which every
 * warm runtime reads about once a second and then answers extension routes with 403.
 */
import type { AuditEvidenceKind } from '../audit/manifest.js';
import type { Project } from '../project.js';
import type { ApiKeyStore, SecretMetadataSource, TargetName } from '../targets/target.js';
import type { TenantRecord, TenantStatus } from '../state/registry.js';
import type { StateStore, Transaction } from '../state/store.js';
import { requireTenant } from '../tenants/tenants.js';
import { planTransition } from './machine.js';

export interface LifecycleEnv {
  state: StateStore;
  project: Project;
  /** The target's name, as recorded in certificates and bundles. */
  target: TargetName;
  /** What kind of evidence the final audit bundle is (the target's `auditEvidence`). */
  auditEvidence?: AuditEvidenceKind;
  /** Rotation metadata for the final audit bundle (default: none, with a reason). */
  secretMetadata?: SecretMetadataSource;
  /** The tenants' API keys for the final audit bundle (default: not read, with a reason). */
  apiKeys?: ApiKeyStore;
  warn?: (message: string) => void;
  now?: () => Date;
}

export interface TransitionRequest {
  tenant: string;
  to: TenantStatus;
  /** Audit event fields. */
  command: string;
  action: string;
  reason?: string;
  args?: Record<string, unknown>;
  /** Further changes in the same commit (billing bookkeeping, schedule). */
  extend?: (tx: Transaction, record: TenantRecord) => TenantRecord | void | Promise<TenantRecord | void>;
}

export interface TransitionResult {
  record: TenantRecord;
  from: TenantStatus;
  to: TenantStatus;
  /** The marker's generation after a suspension change (null where it did not change or was not published). */
  generation: number | null;
}

/** Whether the runtime must refuse extension routes in this status. */
export function refusesTraffic(status: TenantStatus): boolean {
  return status === 'suspended' || status === 'offboarding';
}

/** Moves a tenant to `to` as one audited mutation; illegal moves fail with exit 4 naming the current state. */
export async function transitionTenant(env: LifecycleEnv, request: TransitionRequest): Promise<TransitionResult> {
  const { state } = env;
  const now = env.now?.() ?? new Date();
  const info = {
    command: request.command,
    action: request.action,
    tenant: request.tenant,
    args: { to: request.to, ...(request.reason ? { reason: request.reason } : {}), ...request.args },
  };
  const result = await state.mutate(info, async (tx) => {
    const current = await requireTenant(state, request.tenant);
    let record = planTransition(current, request.to, { by: state.actor, now: now.toISOString(), ...(request.reason ? { reason: request.reason } : {}) });
    // Back in service, a suspension for non-payment is over, whoever lifted it.
    if (record.status === 'active' && (record.billing as { suspendedForPayment?: boolean } | undefined)?.suspendedForPayment) {
      const { suspendedForPayment: _done, ...billing } = record.billing as Record<string, unknown>;
      record = { ...record, billing: billing as TenantRecord['billing'] };
    }
    record = (await request.extend?.(tx, record)) ?? record;
    tx.eventArgs.from = current.status;
    const before = refusesTraffic(current.status);
    const after = refusesTraffic(record.status);
    // The marker the runtime obeys changes in the same commit as the record and its event.
    const ticket = before !== after && record.status !== 'deleted' ? tx.bumpGeneration(record.id, { references: [], suspended: after }, { audit: true }) : null;
    tx.putTenant(record);
    return { record, from: current.status, to: record.status, ticket };
  });
  const { ticket, ...rest } = result;
  return { ...rest, generation: ticket?.generation ?? null };
}

/** `tenant suspend`: extension routes answer 403 within about a second; no data is touched. */
export function suspendTenant(env: LifecycleEnv, tenant: string, options: { reason?: string; command?: string; args?: Record<string, unknown>; extend?: TransitionRequest['extend'] } = {}): Promise<TransitionResult> {
  return transitionTenant(env, { tenant, to: 'suspended', command: options.command ?? 'tenant suspend', action: 'tenant.suspend', ...options });
}

/** `tenant resume`: back to active; the runtime serves extension routes again within about a second. */
export function resumeTenant(env: LifecycleEnv, tenant: string, options: { reason?: string; command?: string; args?: Record<string, unknown>; extend?: TransitionRequest['extend'] } = {}): Promise<TransitionResult> {
  return transitionTenant(env, { tenant, to: 'active', command: options.command ?? 'tenant resume', action: 'tenant.resume', ...options });
}
