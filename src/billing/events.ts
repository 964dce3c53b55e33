/**
 * Billing events and what they do to a tenant. Pure: given the event, the tenant's record, the
 * ordering watermarks and the config, {@link decideBillingEvent} says what to change; nothing here
 * reads or writes.
 *
 * Ordering: deliveries can arrive late and twice. Duplicates are caught by event id (the ledger);
 * late ones by the event's `created` time per object stream — a customer's invoices form one
 * stream (their payment standing), each subscription another — so an older
 * `invoice.payment_failed` arriving after a newer `invoice.paid` changes nothing.
 */
import { z } from 'zod';
import type { Tier } from '../config.js';
import type { TenantRecord } from '../state/registry.js';
import type { BillingConfig } from './config.js';

export const billingEventSchema = z.object({
  id: z.string().min(1).max(255),
  type: z.string().min(1).max(255),
  created: z.number().int().nonnegative(),
  data: z.object({
    object: z.record(z.string(), z.unknown()),
    previous_attributes: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type BillingEvent = z.infer<typeof billingEventSchema>;

export const HANDLED_EVENTS = ['invoice.payment_failed', 'invoice.paid', 'invoice.payment_succeeded', 'customer.subscription.updated', 'customer.subscription.deleted'] as const;

/** The billing part of a tenant record, with the orchestrator's bookkeeping. */
export interface TenantBilling {
  customerId?: string;
  failedPayments?: number;
  plan?: string;
  /** Set when billing (not an operator) suspended the tenant, so only a payment resumes it. */
  suspendedForPayment?: boolean;
  subscriptionId?: string;
  /** When the subscription ended, the tenant is offboarded at this time (ISO). */
  offboardAfter?: string;
}

export function tenantBilling(record: TenantRecord): TenantBilling {
  return { ...(record.billing as TenantBilling | undefined) };
}

/** The customer an event is about. */
export function eventCustomer(event: BillingEvent): string | undefined {
  const customer = event.data.object.customer;
  if (typeof customer === 'string') return customer;
  if (customer && typeof customer === 'object' && typeof (customer as { id?: unknown }).id === 'string') return (customer as { id: string }).id;
  return undefined;
}

/** The ordering stream of an event: a customer's invoices, or one subscription. */
export function orderingKey(event: BillingEvent, customer: string): string {
  if (event.type.startsWith('invoice.')) return `${customer}:invoices`;
  const id = event.data.object.id;
  return `${customer}:subscription:${typeof id === 'string' ? id : 'unknown'}`;
}

/** Price id, lookup key and plan id of a subscription object, most specific first. */
export function subscriptionPlanKeys(object: Record<string, unknown>): string[] {
  const keys: string[] = [];
  const items = (object.items as { data?: Array<{ price?: { id?: unknown; lookup_key?: unknown }; plan?: { id?: unknown } }> } | undefined)?.data ?? [];
  for (const item of items) {
    if (typeof item.price?.lookup_key === 'string') keys.push(item.price.lookup_key);
    if (typeof item.price?.id === 'string') keys.push(item.price.id);
    if (typeof item.plan?.id === 'string') keys.push(item.plan.id);
  }
  const plan = object.plan as { id?: unknown } | undefined;
  if (typeof plan?.id === 'string') keys.push(plan.id);
  return [...new Set(keys)];
}

export type BillingDecision =
  | { kind: 'ignore'; reason: string }
  | { kind: 'record'; billing: TenantBilling; reason: string }
  | { kind: 'suspend'; billing: TenantBilling; reason: string }
  | { kind: 'resume'; billing: TenantBilling; reason: string }
  | { kind: 'change-tier'; tier: Tier; billing: TenantBilling; reason: string }
  | { kind: 'schedule-offboard'; billing: TenantBilling; offboardAfter: string; reason: string };

export interface DecideInput {
  event: BillingEvent;
  record: TenantRecord;
  /** `created` of the newest event already applied in this event's stream. */
  watermark: number | undefined;
  config: BillingConfig;
}

/** What an event does to its tenant. */
export function decideBillingEvent({ event, record, watermark, config }: DecideInput): BillingDecision {
  if (!(HANDLED_EVENTS as readonly string[]).includes(event.type)) return { kind: 'ignore', reason: `${event.type} is not acted on` };
  if (watermark !== undefined && event.created < watermark) {
    return { kind: 'ignore', reason: `older (created ${event.created}) than an event already applied to the same object (created ${watermark})` };
  }
  if (record.status === 'offboarding' || record.status === 'deleted') return { kind: 'ignore', reason: `tenant is ${record.status}` };
  const billing = tenantBilling(record);
  switch (event.type) {
    case 'invoice.payment_failed': {
      const failures = (billing.failedPayments ?? 0) + 1;
      const next = { ...billing, failedPayments: failures };
      if (failures >= config.suspendAfterFailures && record.status === 'active') {
        return { kind: 'suspend', billing: { ...next, suspendedForPayment: true }, reason: `${failures} failed payment(s) (suspendAfterFailures ${config.suspendAfterFailures})` };
      }
      return { kind: 'record', billing: next, reason: `failed payment ${failures} of ${config.suspendAfterFailures}` };
    }
    case 'invoice.paid':
    case 'invoice.payment_succeeded': {
      const next: TenantBilling = { ...billing, failedPayments: 0 };
      delete next.suspendedForPayment;
      if (record.status === 'suspended' && billing.suspendedForPayment) return { kind: 'resume', billing: next, reason: 'invoice paid' };
      if (record.status === 'suspended') return { kind: 'record', billing: { ...next }, reason: 'invoice paid; the tenant stays suspended (suspended by an operator, not for payment)' };
      return { kind: 'record', billing: next, reason: 'invoice paid' };
    }
    case 'customer.subscription.updated': {
      const object = event.data.object;
      const keys = subscriptionPlanKeys(object);
      const next: TenantBilling = { ...billing, ...(typeof object.id === 'string' ? { subscriptionId: object.id } : {}) };
      // A subscription that is live again (a newer event than its deletion) cancels the offboarding.
      const live = object.status === undefined || object.status === 'active' || object.status === 'trialing' || object.status === 'past_due';
      const cancelled = live && next.offboardAfter !== undefined;
      if (cancelled) delete next.offboardAfter;
      const note = cancelled ? '; scheduled offboarding cancelled' : '';
      const mapped = keys.find((key) => key in config.plans);
      if (!mapped) return { kind: 'record', billing: next, reason: (keys.length === 0 ? 'no plan on the subscription' : `plan ${keys[0]} is not in billing.plans`) + note };
      next.plan = mapped;
      const tier = config.plans[mapped]!;
      if (tier === record.tier) return { kind: 'record', billing: next, reason: `plan ${mapped} keeps tier ${tier}${note}` };
      return { kind: 'change-tier', tier, billing: next, reason: `plan ${mapped} → tier ${tier} (was ${record.tier})${note}` };
    }
    case 'customer.subscription.deleted': {
      const offboardAfter = new Date(event.created * 1000 + config.offboardGraceMs).toISOString();
      return { kind: 'schedule-offboard', billing: { ...billing, offboardAfter }, offboardAfter, reason: `subscription ended; offboarding after ${config.offboardGracePeriod} (${offboardAfter})` };
    }
    default:
      return { kind: 'ignore', reason: `${event.type} is not acted on` };
  }
}

/** Tenants whose scheduled offboarding is due. */
export function dueOffboardings(records: TenantRecord[], now: Date): string[] {
  return records
    .filter((r) => (r.status === 'active' || r.status === 'suspended' || r.status === 'offboarding') && tenantBilling(r).offboardAfter !== undefined && Date.parse(tenantBilling(r).offboardAfter!) <= now.getTime())
    .map((r) => r.id);
}
