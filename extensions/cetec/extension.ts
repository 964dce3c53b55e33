import { defineExtension } from 'sovereign-cli/runtime';
import { cetecConfigSchema } from './models/config.js';
import { customerSchema, invoiceSchema, listQuerySchema, orderSchema, pageSchema } from './models/records.js';

/** What every route answers when Cetec does not (`services/problems.ts`). */
const CETEC_RESPONSES = { 502: 'Cetec could not be reached, refused the tenant token, or failed', 503: 'Cetec rate limit reached' };

export default defineExtension({
  name: 'cetec',
  version: '1.0.0',
  description: 'Customers, orders and invoices from Cetec ERP',
  routes: [
    {
      method: 'GET',
      path: '/customers',
      handler: 'list-customers',
      summary: 'One page of customers (offset / limit)',
      request: { query: listQuerySchema },
      response: pageSchema(customerSchema),
      responses: CETEC_RESPONSES,
    },
    {
      method: 'GET',
      path: '/orders',
      handler: 'list-orders',
      summary: 'One page of sales orders (offset / limit)',
      request: { query: listQuerySchema },
      response: pageSchema(orderSchema),
      responses: CETEC_RESPONSES,
    },
    {
      method: 'GET',
      path: '/invoices',
      handler: 'list-invoices',
      summary: 'One page of invoices (offset / limit)',
      request: { query: listQuerySchema },
      response: pageSchema(invoiceSchema),
      responses: CETEC_RESPONSES,
    },
    {
      method: 'GET',
      path: '/invoices/{id}',
      handler: 'get-invoice',
      summary: 'One invoice',
      response: invoiceSchema,
      responses: { ...CETEC_RESPONSES, 400: 'The invoice id is not a number', 404: 'No such invoice' },
    },
  ],
  secrets: [{ key: 'api_token', description: 'Cetec ERP preshared token (sent as the preshared_token query parameter)' }],
  permissions: [
    {
      actions: ['ssm:GetParameter'],
      resources: ['arn:aws:ssm:{region}:{account}:parameter/{stage}/tenants/{tenant}/cetec/*'],
    },
    {
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      resources: [
        'arn:aws:secretsmanager:{region}:{account}:secret:{stage}/tenants/{tenant}/cetec-??????',
        'arn:aws:secretsmanager:{region}:{account}:secret:{stage}/tenants/{tenant}/cetec/*',
      ],
    },
  ],
  config: cetecConfigSchema,
});
