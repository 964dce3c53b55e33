/**
 * The tenant lifecycle as a pure state machine:
 *
 *   provisioning → active ⇄ suspended → offboarding → deleted
 *
 * and `failed` from any live state (a provisioning, deploy or offboarding step that broke), which
 * can be retried into `active` or `offboarding`. No I/O here: `planTransition` returns the record
 * after the change or throws a conflict (exit 4) naming the current state.
 */
import { conflict } from '../errors.js';
import type { TenantRecord, TenantStatus } from '../state/registry.js';

export const TENANT_STATUSES: readonly TenantStatus[] = ['provisioning', 'active', 'suspended', 'offboarding', 'deleted', 'failed'];

/** Every legal move; anything else is refused. */
export const LEGAL_TRANSITIONS: Readonly<Record<TenantStatus, readonly TenantStatus[]>> = {
  provisioning: ['active', 'failed'],
  active: ['suspended', 'offboarding', 'failed'],
  suspended: ['active', 'offboarding', 'failed'],
  offboarding: ['deleted', 'failed'],
  deleted: [],
  failed: ['active', 'offboarding'],
};

export function isLegalTransition(from: TenantStatus, to: TenantStatus): boolean {
  return LEGAL_TRANSITIONS[from]?.includes(to) ?? false;
}

/** Verb of a target state, for messages (`cannot be suspended`). */
const VERB: Record<TenantStatus, string> = {
  provisioning: 'provisioned',
  active: 'activated',
  suspended: 'suspended',
  offboarding: 'offboarded',
  deleted: 'deleted',
  failed: 'marked failed',
};

export interface TransitionOptions {
  by: string;
  now: string;
  reason?: string;
}

/** The record after moving to `to`; throws a conflict (exit 4) naming the current state when illegal. */
export function planTransition(record: TenantRecord, to: TenantStatus, options: TransitionOptions): TenantRecord {
  const from = record.status;
  if (!isLegalTransition(from, to)) {
    const legal = LEGAL_TRANSITIONS[from] ?? [];
    const hint = legal.length === 0 ? `a ${from} tenant has no further states` : `from ${from} a tenant can become: ${legal.join(', ')}`;
    throw conflict(`tenant "${record.id}" is ${from}; it cannot be ${VERB[to]}`, hint);
  }
  const transition: TenantRecord['transitions'][number] = { from, to, at: options.now, by: options.by, ...(options.reason ? { reason: options.reason } : {}) };
  return { ...record, status: to, updatedAt: options.now, transitions: [...(record.transitions ?? []), transition] };
}

/** Provisioning, or failed by its first deploy: the next successful deploy activates the tenant. */
export function awaitsFirstDeploy(record: TenantRecord): boolean {
  return record.status === 'provisioning' || (record.status === 'failed' && record.transitions?.at(-1)?.from === 'provisioning');
}

/**
 * The record after a deploy: a tenant's first successful deploy activates it, a failed first deploy
 * marks it failed (and a later success activates it); any other deploy leaves the status alone.
 */
export function afterDeploy(record: TenantRecord, outcome: 'success' | 'failure', options: TransitionOptions): TenantRecord {
  if (!awaitsFirstDeploy(record)) return record;
  if (outcome === 'success') return planTransition(record, 'active', { ...options, reason: 'first deploy' });
  return record.status === 'provisioning' ? planTransition(record, 'failed', { ...options, reason: 'first deploy failed' }) : record;
}
