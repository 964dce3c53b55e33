/**
 * What one invoice sync needs from the context it runs in: the tenant's secrets, table, log,
 * metrics and settings. One place for the route (`POST /sync/invoices`) and the schedule, which
 * get the same context from the runtime.
 */
import type { RouteContext } from 'sovereign-cli/runtime';
import { createAvaTaxClient } from '../../avalara/services/avatax-client.js';
import { cetecListUrl } from '../../cetec/services/cetec-client.js';
import type { SyncConfig } from '../models/config.js';
import type { InvoiceSyncDeps } from './invoice-sync.js';

export async function invoiceSyncDeps(ctx: RouteContext<SyncConfig>): Promise<InvoiceSyncDeps> {
  const [token, accountId, licenseKey] = await Promise.all([
    ctx.secrets.get('cetec_api_token'),
    ctx.secrets.get('avalara_account_id'),
    ctx.secrets.get('avalara_license_key'),
  ]);
  return {
    db: ctx.db,
    paginate: (options) => ctx.paginate(options),
    avaTax: createAvaTaxClient({
      baseUrl: ctx.config.avalaraBaseUrl,
      accountId,
      licenseKey,
      maxRetries: ctx.config.avalaraMaxRetries,
      appName: `sovereign-${ctx.extension}`,
    }),
    log: ctx.log,
    metrics: ctx.metrics,
    invoiceListUrl: cetecListUrl(ctx.config.cetecBaseUrl, 'invoice', token),
    config: ctx.config,
  };
}
