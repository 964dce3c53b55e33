/**
 * The invoice sync: walks Cetec invoices page by page, asks AvaTax for the tax of each (as a
 * SalesOrder, so nothing is recorded in AvaTax), and writes one item per invoice plus a
 * checkpoint after every chunk. Memory holds one chunk; a crashed or stopped run resumes from the
 * checkpoint; re-running rewrites the same keys, so nothing is ever duplicated.
 */
import { randomUUID } from 'node:crypto';
import type { ExtensionTable, Logger, Metrics, RouteContext } from 'sovereign-cli/runtime';
import { AvaTaxError, type AvaTaxClient } from '../../avalara/services/avatax-client.js';
import type { CreateTransactionModel } from '../../avalara/models/transaction.js';
import type { CetecInvoice } from '../../cetec/models/records.js';
import type { SyncConfig } from '../models/config.js';
import { SYNC_STATE_KEY, taxItemKey, type InvoiceTaxItem, type SyncRequest, type SyncState } from '../models/sync.js';

export interface InvoiceSyncDeps {
  db: ExtensionTable;
  paginate: RouteContext['paginate'];
  avaTax: AvaTaxClient;
  log: Logger;
  metrics: Metrics;
  /** The Cetec invoice list URL (it carries the token: never log or store it). */
  invoiceListUrl: string;
  config: SyncConfig;
  now?: () => number;
}

export type SyncOutcome =
  | { kind: 'complete' | 'partial'; state: SyncState; thisCall: { processed: number; resumedFrom: number } }
  | { kind: 'failed'; state: SyncState; thisCall: { processed: number; resumedFrom: number }; error: unknown }
  | { kind: 'busy'; state: SyncState };

/** Reads the run state, or undefined before the first run. */
export async function readSyncState(db: ExtensionTable): Promise<SyncState | undefined> {
  const item = await db.get(SYNC_STATE_KEY.pk, SYNC_STATE_KEY.sk);
  if (!item) return undefined;
  const { pk: _pk, sk: _sk, ...state } = item;
  return state as SyncState;
}

async function writeSyncState(db: ExtensionTable, state: SyncState): Promise<void> {
  const clean = Object.fromEntries(Object.entries(state).filter(([, v]) => v !== undefined));
  await db.put({ ...SYNC_STATE_KEY, ...clean });
}

/** The AvaTax model for one Cetec invoice; its code is stable so AvaTax sees the same document. */
export function invoiceToTransaction(invoice: CetecInvoice, companyCode: string): CreateTransactionModel {
  return {
    type: 'SalesOrder',
    companyCode,
    code: avalaraCodeFor(invoice),
    date: invoice.invoice_date,
    customerCode: String(invoice.customer_id),
    commit: false,
    currencyCode: 'USD',
    addresses: {
      singleLocation: {
        line1: invoice.ship_to.address1,
        city: invoice.ship_to.city,
        region: invoice.ship_to.state,
        postalCode: invoice.ship_to.zip,
        country: invoice.ship_to.country,
      },
    },
    lines: invoice.lines.map((line) => ({
      number: String(line.line_number),
      quantity: line.qty,
      amount: Math.round(line.qty * line.unit_price * 100) / 100,
      itemCode: line.prcpart,
      description: line.description,
    })),
  };
}

export function avalaraCodeFor(invoice: CetecInvoice): string {
  return `cetec-inv-${invoice.id}`;
}

/** Runs `work` over `items` with at most `limit` in flight, keeping the input order; stops starting work after a failure. */
export async function mapWithConcurrency<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    // After one failure no new work starts: the whole batch is retried on resume anyway.
    while (next < items.length && !failed) {
      const index = next++;
      try {
        results[index] = await work(items[index] as T);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Writes items with a few batch writes in flight (each `putMany` sends its batches one by one). */
async function writeItems(db: ExtensionTable, items: InvoiceTaxItem[]): Promise<void> {
  const lanes = Math.min(4, Math.ceil(items.length / 25));
  const groups: InvoiceTaxItem[][] = Array.from({ length: lanes }, () => []);
  items.forEach((item, i) => groups[Math.floor(i / 25) % lanes]!.push(item));
  await Promise.all(groups.map((group) => db.putMany(group)));
}

/** AvaTax codes that mean the setup is wrong (every invoice would fail the same way): they stop the run. */
const SETUP_ERRORS = new Set(['EntityNotFoundError', 'CompanyNotFoundError', 'AuthenticationException', 'AuthorizationException', 'PermissionRequired']);

async function taxInvoice(invoice: CetecInvoice, deps: InvoiceSyncDeps): Promise<InvoiceTaxItem> {
  const base = {
    ...taxItemKey(invoice.id),
    invoiceId: invoice.id,
    invoiceNumber: invoice.invoice_number,
    customerId: invoice.customer_id,
    invoiceDate: invoice.invoice_date,
    region: invoice.ship_to.state,
    avalaraCode: avalaraCodeFor(invoice),
  };
  try {
    const tx = await deps.avaTax.createTransaction(invoiceToTransaction(invoice, deps.config.companyCode));
    return { ...base, status: 'taxed', totalAmount: tx.totalAmount, totalTaxable: tx.totalTaxable, totalTax: tx.totalTax };
  } catch (error) {
    // A document AvaTax refuses (bad address, …) is recorded and the run goes on; credentials,
    // rate limits that outlast the retries and outages stop the run so it can resume later.
    const refused =
      error instanceof AvaTaxError &&
      error.status >= 400 &&
      error.status < 500 &&
      ![401, 403, 429].includes(error.status) &&
      !SETUP_ERRORS.has(error.code);
    if (!refused) throw error;
    return {
      ...base,
      status: 'rejected',
      totalAmount: invoice.total,
      totalTaxable: 0,
      totalTax: 0,
      error: { code: error.code, message: error.message },
    };
  }
}

export async function runInvoiceSync(deps: InvoiceSyncDeps, request: SyncRequest): Promise<SyncOutcome> {
  const now = deps.now ?? Date.now;
  const budget = request.timeBudgetMs ?? deps.config.timeBudgetMs;
  const deadline = budget === 0 ? Number.POSITIVE_INFINITY : now() + budget;
  const stamp = () => new Date(now()).toISOString();

  const previous = await readSyncState(deps.db);
  if (previous?.status === 'running' && (previous.leaseUntil ?? 0) > now()) {
    return { kind: 'busy', state: previous };
  }
  const fresh = request.restart || previous === undefined || previous.status === 'complete';
  const state: SyncState = fresh
    ? { status: 'running', runId: randomUUID(), offset: 0, processed: 0, taxed: 0, rejected: 0, resumes: 0, startedAt: stamp(), updatedAt: stamp() }
    : { ...previous, status: 'running', resumes: previous.resumes + 1, updatedAt: stamp(), lastError: undefined, finishedAt: undefined };
  const lease = () => (budget === 0 ? now() + 15 * 60_000 : deadline + 30_000);
  state.leaseUntil = lease();
  await writeSyncState(deps.db, state);
  const resumedFrom = state.offset;
  deps.log.info(fresh ? 'invoice sync started' : 'invoice sync resumed', { runId: state.runId, offset: state.offset });

  let processedThisCall = 0;
  let dispatched = 0;
  let chunk: CetecInvoice[] = [];
  // The write of one chunk (and the checkpoint after it) overlaps the AvaTax calls of the next.
  // Checkpoints stay in order: a chunk's checkpoint is written only after its items and after
  // the previous chunk's checkpoint, so the stored offset never passes an unwritten invoice.
  let writing: Promise<void> = Promise.resolve();
  const commit = async (size: number, items: InvoiceTaxItem[]) => {
    await writeItems(deps.db, items);
    const rejected = items.filter((item) => item.status === 'rejected').length;
    state.offset += size;
    state.processed += size;
    state.rejected += rejected;
    state.taxed += size - rejected;
    state.updatedAt = stamp();
    state.leaseUntil = lease();
    processedThisCall += size;
    deps.metrics.count('InvoicesSynced', size);
    if (rejected > 0) deps.metrics.count('InvoicesRejected', rejected);
    await writeSyncState(deps.db, state);
  };
  const flush = async () => {
    if (chunk.length === 0) return;
    const batch = chunk;
    chunk = [];
    dispatched += batch.length;
    const items = await mapWithConcurrency(batch, deps.config.concurrency, (invoice) => taxInvoice(invoice, deps));
    await writing;
    writing = commit(batch.length, items);
    writing.catch(() => undefined); // awaited by the next flush or at the end; this only marks it handled
  };

  let stoppedEarly = false;
  try {
    for await (const invoice of deps.paginate<CetecInvoice>({
      url: deps.invoiceListUrl,
      style: 'offset',
      pageSize: deps.config.pageSize,
      from: { kind: 'offset', offset: state.offset },
      maxRetries: deps.config.cetecMaxRetries,
      items: (body) => (Array.isArray(body) ? (body as CetecInvoice[]) : []),
    })) {
      chunk.push(invoice);
      const limitReached = request.maxRecords !== undefined && dispatched + chunk.length >= request.maxRecords;
      if (chunk.length >= deps.config.chunkSize || limitReached) {
        await flush();
        if (limitReached || now() >= deadline) {
          stoppedEarly = true;
          break;
        }
      }
    }
    await flush();
    await writing;
  } catch (error) {
    // Let an in-flight commit settle first, so it cannot overwrite the failed state.
    await writing.catch(() => undefined);
    state.status = 'failed';
    state.leaseUntil = undefined;
    state.updatedAt = stamp();
    const code = (error as { code?: unknown }).code;
    state.lastError = { message: (error as Error).message, ...(typeof code === 'string' ? { code } : {}) };
    await writeSyncState(deps.db, state);
    deps.log.error('invoice sync stopped', { runId: state.runId, offset: state.offset, error: state.lastError.message });
    return { kind: 'failed', state, thisCall: { processed: processedThisCall, resumedFrom }, error };
  }

  state.leaseUntil = undefined;
  if (!stoppedEarly) {
    state.status = 'complete';
    state.finishedAt = stamp();
  }
  state.updatedAt = stamp();
  await writeSyncState(deps.db, state);
  deps.log.info(stoppedEarly ? 'invoice sync paused' : 'invoice sync complete', {
    runId: state.runId,
    offset: state.offset,
    processed: state.processed,
  });
  return { kind: stoppedEarly ? 'partial' : 'complete', state, thisCall: { processed: processedThisCall, resumedFrom } };
}
