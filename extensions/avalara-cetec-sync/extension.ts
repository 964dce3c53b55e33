import { defineExtension } from 'sovereign-cli/runtime';
import { syncConfigSchema } from './models/config.js';
import { statusResponseSchema, syncRequestSchema, syncResponseSchema } from './models/sync.js';

export default defineExtension({
  name: 'avalara-cetec-sync',
  version: '1.0.0',
  description: 'Taxes Cetec ERP invoices with Avalara AvaTax into the tenant table, resumably',
  routes: [
    {
      method: 'POST',
      path: '/sync/invoices',
      handler: 'sync-invoices',
      summary: 'Run (or resume) the invoice sync; 202 means call again to continue',
      request: { body: syncRequestSchema },
      response: syncResponseSchema,
      responses: {
        202: 'Partial: the time budget ran out; the state so far (call again to continue)',
        409: 'Another call holds the sync run',
        422: 'AvaTax rejected an invoice',
        502: 'Cetec or AvaTax could not be reached, refused the tenant credentials, or failed (call again to resume)',
        503: 'Cetec or AvaTax rate limit reached',
      },
    },
    {
      method: 'GET',
      path: '/sync/status',
      handler: 'sync-status',
      summary: 'State of the last invoice sync',
      response: statusResponseSchema,
    },
  ],
  schedules: [
    {
      name: 'sync',
      expression: 'rate(15 minutes)',
      handler: 'scheduled-sync',
      description: 'Continue or start the invoice sync every 15 minutes (one time budget per run)',
    },
  ],
  secrets: [
    { key: 'cetec_api_token', description: 'Cetec ERP preshared token' },
    { key: 'avalara_account_id', description: 'AvaTax account id' },
    { key: 'avalara_license_key', description: 'AvaTax license key' },
  ],
  permissions: [
    {
      actions: ['ssm:GetParameter'],
      resources: ['arn:aws:ssm:{region}:{account}:parameter/{stage}/tenants/{tenant}/avalara-cetec-sync/*'],
    },
    {
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      resources: [
        'arn:aws:secretsmanager:{region}:{account}:secret:{stage}/tenants/{tenant}/avalara-cetec-sync-??????',
        'arn:aws:secretsmanager:{region}:{account}:secret:{stage}/tenants/{tenant}/avalara-cetec-sync/*',
      ],
    },
  ],
  config: syncConfigSchema,
});
