/** Tenant-level settings of the avalara extension. */
import { z } from 'zod';

export const avalaraConfigSchema = z.object({
  /** AvaTax API root: sandbox by default, `https://rest.avatax.com` in production. */
  baseUrl: z.string().url().default('https://sandbox-rest.avatax.com'),
  /** The AvaTax company code quotes are computed for. */
  companyCode: z.string().min(1).max(25).default('DEFAULT'),
  /** Per-request timeout in milliseconds. */
  timeoutMs: z.number().int().positive().max(120_000).default(20_000),
  /** Retries of one call on 429, 5xx and network errors, honouring Retry-After. */
  maxRetries: z.number().int().min(0).max(20).default(6),
});
export type AvalaraConfig = z.infer<typeof avalaraConfigSchema>;
