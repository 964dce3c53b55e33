/** The local target's billing ledger: one file, `.sovereign/billing/ledger.json`, written with the mutation it guards. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findProcessed, processedItem, recordEvent, serializeLedger, type BillingLedger, type BillingLedgerStore } from '../../billing/ledger.js';
import type { Project } from '../../project.js';
import { GuardedWriteConflict } from '../../state/store.js';

export function ledgerPath(project: Project): string {
  return join(project.paths.state, 'billing', 'ledger.json');
}

export function readLedger(project: Project): BillingLedger {
  const path = ledgerPath(project);
  if (!existsSync(path)) return { version: 1, processed: [], watermarks: {} };
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<BillingLedger>;
  return { version: 1, processed: parsed.processed ?? [], watermarks: parsed.watermarks ?? {} };
}

/** The ledger in `.sovereign/billing/ledger.json`, re-read under the project lock when staging. */
export function localBillingLedger(project: Project): BillingLedgerStore {
  return {
    findProcessed: async (id) => findProcessed(readLedger(project), id),
    watermark: async (key) => readLedger(project).watermarks[key]?.created,
    stage: async (tx, entry, watermark) => {
      const ledger = readLedger(project);
      if (findProcessed(ledger, entry.id)) throw new GuardedWriteConflict([processedItem(entry)], `billing event ${entry.id} was processed meanwhile`);
      tx.write(ledgerPath(project), serializeLedger(recordEvent(ledger, entry, watermark)));
    },
  };
}
