/** Builds the AvaTax client of one request from the tenant's secrets and settings. */
import type { RouteContext } from 'sovereign-cli/runtime';
import type { AvalaraConfig } from '../models/config.js';
import { createAvaTaxClient, type AvaTaxClient } from './avatax-client.js';

export async function avaTaxClientFor(ctx: RouteContext<AvalaraConfig>): Promise<AvaTaxClient> {
  const [accountId, licenseKey] = await Promise.all([ctx.secrets.get('account_id'), ctx.secrets.get('license_key')]);
  return createAvaTaxClient({
    baseUrl: ctx.config.baseUrl,
    accountId,
    licenseKey,
    timeoutMs: ctx.config.timeoutMs,
    maxRetries: ctx.config.maxRetries,
    appName: `sovereign-${ctx.extension}`,
  });
}
