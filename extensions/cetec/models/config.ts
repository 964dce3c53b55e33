/** Tenant-level settings of the cetec extension. */
import { z } from 'zod';

export const cetecConfigSchema = z.object({
  /** The tenant's Cetec ERP instance, e.g. `https://acme.cetecerp.com`. */
  baseUrl: z.string().url().default('https://demo.cetecerp.com'),
  /** Records asked for per page (Cetec caps a page at 500). */
  pageSize: z.number().int().min(1).max(500).default(500),
});
export type CetecConfig = z.infer<typeof cetecConfigSchema>;
