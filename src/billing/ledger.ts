/**
 * The billing ledger: the event ids already processed (for idempotency) and the ordering
 * watermark of each object stream. {@link BillingLedgerStore} is what the webhook needs of it;
 * locally it is `.sovereign/billing/ledger.json` (`targets/local/billing-ledger.ts`), on aws items in the
 * control-plane registry table (`targets/aws/billing-ledger.ts`). Either way it is written only
 * inside a mutation, so it changes together with the tenant and its audit event.
 */
import { GuardedWriteConflict, type GuardedItem, type Transaction } from '../state/store.js';

/** How many processed ids are remembered (Stripe retries for up to three days). */
export const MAX_PROCESSED = 10_000;

export interface ProcessedEvent {
  id: string;
  type: string;
  created: number;
  tenant: string | null;
  outcome: string;
  at: string;
}

export interface BillingLedger {
  version: 1;
  processed: ProcessedEvent[];
  watermarks: Record<string, { created: number; event: string }>;
}

export function findProcessed(ledger: BillingLedger, id: string): ProcessedEvent | undefined {
  return ledger.processed.find((p) => p.id === id);
}

/** Pure: the ledger after recording one event (and advancing its stream's watermark when applied). */
export function recordEvent(ledger: BillingLedger, entry: ProcessedEvent, watermark?: { key: string; created: number }): BillingLedger {
  const processed = [...ledger.processed, entry].slice(-MAX_PROCESSED);
  const watermarks = { ...ledger.watermarks };
  if (watermark && (watermarks[watermark.key]?.created ?? -1) <= watermark.created) watermarks[watermark.key] = { created: watermark.created, event: entry.id };
  return { version: 1, processed, watermarks };
}

export function serializeLedger(ledger: BillingLedger): string {
  return `${JSON.stringify(ledger, null, 2)}\n`;
}

/** A stream's watermark moving forward with an applied event. */
export interface WatermarkAdvance {
  key: string;
  created: number;
}

/** Guarded-item partitions of the ledger (aws items; also named in local conflicts). */
export const PROCESSED_PARTITION = 'billing-event';
export const WATERMARK_PARTITION = 'billing-watermark';

/** What the billing webhook reads and writes of its ledger, on either target. */
export interface BillingLedgerStore {
  findProcessed(id: string): Promise<ProcessedEvent | undefined>;
  /** `created` of the newest event applied in a stream. */
  watermark(key: string): Promise<number | undefined>;
  /**
   * Stages `entry` (and the watermark) inside a running mutation, to land with its commit. Throws,
   * or makes the commit throw, a {@link GuardedWriteConflict} naming {@link PROCESSED_PARTITION}
   * when the event was processed meanwhile, or {@link WATERMARK_PARTITION} when a newer event of
   * the stream was applied meanwhile.
   */
  stage(tx: Transaction, entry: ProcessedEvent, watermark?: WatermarkAdvance): Promise<void>;
}

/** Which ledger claim a conflict is about, if it is one of the ledger's. */
export function ledgerConflict(error: unknown): 'duplicate' | 'watermark' | undefined {
  if (!(error instanceof GuardedWriteConflict)) return undefined;
  if (error.items.some((item) => item.partition === PROCESSED_PARTITION)) return 'duplicate';
  if (error.items.some((item) => item.partition === WATERMARK_PARTITION)) return 'watermark';
  return undefined;
}

/** The item a processed event claims (also what the local ledger reports in a conflict). */
export function processedItem(entry: ProcessedEvent, purgeAt?: number): GuardedItem {
  return {
    partition: PROCESSED_PARTITION,
    key: entry.id,
    attributes: { type: entry.type, created: entry.created, tenant: entry.tenant, outcome: entry.outcome, at: entry.at },
    when: { kind: 'absent' },
    ...(purgeAt === undefined ? {} : { purgeAt }),
  };
}

export function watermarkItem(advance: WatermarkAdvance, event: string): GuardedItem {
  return { partition: WATERMARK_PARTITION, key: advance.key, attributes: { created: advance.created, event }, when: { kind: 'not-older', field: 'created' } };
}
