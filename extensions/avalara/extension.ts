import { defineExtension } from 'sovereign-cli/runtime';
import { avalaraConfigSchema } from './models/config.js';
import { pingResponseSchema, quoteRequestSchema, quoteResponseSchema } from './models/transaction.js';

export default defineExtension({
  name: 'avalara',
  version: '1.0.0',
  description: 'Sales tax quotes from Avalara AvaTax (REST v2)',
  routes: [
    {
      method: 'GET',
      path: '/ping',
      handler: 'ping',
      summary: 'Check that AvaTax is reachable and accepts the tenant credentials',
      response: pingResponseSchema,
      responses: { 502: 'AvaTax could not be reached or failed', 503: 'AvaTax rate limit reached' },
    },
    {
      method: 'POST',
      path: '/quotes',
      handler: 'create-quote',
      summary: 'Compute the tax of a prospective sale (AvaTax SalesOrder)',
      request: { body: quoteRequestSchema },
      response: quoteResponseSchema,
      responses: {
        422: 'AvaTax rejected the transaction',
        502: 'AvaTax could not be reached, refused the tenant credentials, or failed',
        503: 'AvaTax rate limit reached',
      },
    },
  ],
  secrets: [
    { key: 'account_id', description: 'AvaTax account id (HTTP Basic user name)' },
    { key: 'license_key', description: 'AvaTax license key (HTTP Basic password)' },
  ],
  permissions: [
    {
      actions: ['ssm:GetParameter'],
      resources: ['arn:aws:ssm:{region}:{account}:parameter/{stage}/tenants/{tenant}/avalara/*'],
    },
    {
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      resources: [
        'arn:aws:secretsmanager:{region}:{account}:secret:{stage}/tenants/{tenant}/avalara-??????',
        'arn:aws:secretsmanager:{region}:{account}:secret:{stage}/tenants/{tenant}/avalara/*',
      ],
    },
  ],
  config: avalaraConfigSchema,
});
