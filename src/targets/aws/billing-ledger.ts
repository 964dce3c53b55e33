/**
 * The billing ledger on aws: items in the control-plane registry table, written as guarded items
 * of the mutation that applies the event, so they land in the same TransactWriteItems as the
 * tenant record and the audit event:
 *
 * - processed event: `pk = <project>#billing-event`, `sk = <event id>`, put only if absent
 *   (`attribute_not_exists(pk)`): of two environments applying one delivery, the second commit
 *   is cancelled as a whole and its delivery answered as a duplicate. `purgeAt` lets the table's
 *   TTL drop it after {@link PROCESSED_RETENTION_DAYS} days (Stripe retries for three).
 * - watermark: `pk = <project>#billing-watermark`, `sk = <ordering key>`, put only if absent or
 *   not newer than this event (`created <= :created`): it never moves back. One per customer's
 *   invoices and per subscription, so they stay few and are kept.
 */
import { PROCESSED_PARTITION, processedItem, WATERMARK_PARTITION, watermarkItem, type BillingLedgerStore, type ProcessedEvent } from '../../billing/ledger.js';
import type { AwsState } from './state.js';

export const PROCESSED_RETENTION_DAYS = 30;

export function awsBillingLedger(state: AwsState, options: { now?: () => number } = {}): BillingLedgerStore {
  const now = options.now ?? Date.now;
  return {
    async findProcessed(id) {
      const item = await state.getGuarded(PROCESSED_PARTITION, id);
      if (!item) return undefined;
      return { id, type: String(item.type), created: Number(item.created), tenant: (item.tenant as string | null) ?? null, outcome: String(item.outcome), at: String(item.at) } satisfies ProcessedEvent;
    },
    async watermark(key) {
      const item = await state.getGuarded(WATERMARK_PARTITION, key);
      return item ? Number(item.created) : undefined;
    },
    async stage(tx, entry, watermark) {
      tx.putGuarded(processedItem(entry, Math.floor(now() / 1000) + PROCESSED_RETENTION_DAYS * 86_400));
      if (watermark) tx.putGuarded(watermarkItem(watermark, entry.id));
    },
  };
}
