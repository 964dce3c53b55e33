/** Items the sync writes to the tenant table, and the schemas of its routes. */
import { z } from 'zod';

/** The run state: one item, rewritten after every chunk, so a crashed run resumes where it stopped. */
export const SYNC_STATE_KEY = { pk: 'sync', sk: 'invoices' } as const;

export const syncStateSchema = z.object({
  status: z.enum(['running', 'complete', 'failed']),
  runId: z.string(),
  /** Cetec offset of the first invoice not yet written. */
  offset: z.number().int().min(0),
  processed: z.number().int().min(0),
  taxed: z.number().int().min(0),
  rejected: z.number().int().min(0),
  /** How many times this run was resumed after stopping (budget, crash or error). */
  resumes: z.number().int().min(0),
  startedAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().optional(),
  /** A run holding the lease is in progress; others answer 409 until it expires. */
  leaseUntil: z.number().optional(),
  lastError: z.object({ message: z.string(), code: z.string().optional() }).optional(),
});
export type SyncState = z.infer<typeof syncStateSchema>;

/** One invoice's tax, keyed by invoice id so a re-run overwrites instead of duplicating. */
export interface InvoiceTaxItem {
  [key: string]: unknown;
  pk: string;
  sk: string;
  invoiceId: number;
  invoiceNumber: string;
  customerId: number;
  invoiceDate: string;
  region: string;
  status: 'taxed' | 'rejected';
  totalAmount: number;
  totalTaxable: number;
  totalTax: number;
  /** The AvaTax document code used (stable per invoice). */
  avalaraCode: string;
  error?: { code: string; message: string };
}

/** Number of partitions tax items are spread over. */
export const TAX_PARTITIONS = 16;

export function taxItemKey(invoiceId: number): { pk: string; sk: string } {
  const bucket = String(invoiceId % TAX_PARTITIONS).padStart(2, '0');
  return { pk: `tax#${bucket}`, sk: `invoice#${String(invoiceId).padStart(12, '0')}` };
}

/** Body of `POST /avalara-cetec-sync/sync/invoices`. */
export const syncRequestSchema = z
  .object({
    /** Start over from the first invoice even if an earlier run stopped half way. */
    restart: z.boolean().default(false),
    /** Stop after this many invoices in this call (the next call resumes). */
    maxRecords: z.number().int().min(1).optional(),
    /** Overrides the configured time budget of this call, in ms (0: no limit). */
    timeBudgetMs: z.number().int().min(0).optional(),
  })
  .default({ restart: false });
export type SyncRequest = z.infer<typeof syncRequestSchema>;

export const syncResponseSchema = syncStateSchema
  .omit({ leaseUntil: true })
  .extend({ thisCall: z.object({ processed: z.number(), resumedFrom: z.number() }) });

export const statusResponseSchema = z.union([
  syncStateSchema.omit({ leaseUntil: true }),
  z.object({ status: z.literal('never-run') }),
]);
