/** Tenant-level settings of the avalara-cetec-sync extension. */
import { z } from 'zod';

export const syncConfigSchema = z.object({
  /** The tenant's Cetec ERP instance. */
  cetecBaseUrl: z.string().url().default('https://demo.cetecerp.com'),
  /** AvaTax API root: sandbox by default, `https://rest.avatax.com` in production. */
  avalaraBaseUrl: z.string().url().default('https://sandbox-rest.avatax.com'),
  /** The AvaTax company code taxes are computed for. */
  companyCode: z.string().min(1).max(25).default('DEFAULT'),
  /** Invoices asked from Cetec per page (Cetec caps a page at 500). */
  pageSize: z.number().int().min(1).max(500).default(500),
  /** Invoices taxed before their results and the checkpoint are written. */
  chunkSize: z.number().int().min(1).max(1000).default(100),
  /** AvaTax requests in flight at once. */
  concurrency: z.number().int().min(1).max(64).default(8),
  /** How long one request keeps syncing before it answers 202 and leaves the rest to the next call. */
  timeBudgetMs: z.number().int().min(0).default(25_000),
  /** Retries of one Cetec page (429, 5xx, network) before the run stops. */
  cetecMaxRetries: z.number().int().min(0).max(20).default(8),
  /** Retries of one AvaTax call before the run stops. */
  avalaraMaxRetries: z.number().int().min(0).max(20).default(6),
});
export type SyncConfig = z.infer<typeof syncConfigSchema>;
