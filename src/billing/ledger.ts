/**
 * `.sovereign/billing/ledger.json`: the event ids already processed (for idempotency) and the
 * ordering watermark of each object stream. Written only through a mutation (`tx.write`), so it
 * changes together with the tenant and its audit event.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Project } from '../project.js';

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

export function ledgerPath(project: Project): string {
  return join(project.paths.state, 'billing', 'ledger.json');
}

export function readLedger(project: Project): BillingLedger {
  const path = ledgerPath(project);
  if (!existsSync(path)) return { version: 1, processed: [], watermarks: {} };
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<BillingLedger>;
  return { version: 1, processed: parsed.processed ?? [], watermarks: parsed.watermarks ?? {} };
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
