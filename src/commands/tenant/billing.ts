import { setBillingCustomer } from '../../billing/customer.js';
import { requireTenant } from '../../tenants/tenants.js';
import { defineCommand, option, optionalText } from '../define.js';
import { idArgument } from '../fields.js';

export default defineCommand({
  examples: ['sovereign tenant billing acme --customer cus_NffrFeUfNV2Hib', 'sovereign tenant billing acme --json'],
  arguments: { id: idArgument },
  options: { customer: option('--customer <id>', 'the billing customer whose events drive this tenant', optionalText) },
  async run(ctx, { id, customer }) {
    const state = ctx.state();
    if (customer !== undefined) {
      const { record, previous } = await setBillingCustomer(state, id, customer);
      ctx.out.result({ tenant: record.id, billing: record.billing ?? {}, previousCustomer: previous }, () =>
        `Tenant ${record.id} now follows billing customer ${customer}${previous && previous !== customer ? ` (was ${previous})` : ''}.`,
      );
      return;
    }
    const record = await requireTenant(state, id);
    const billing = (record.billing ?? {}) as Record<string, unknown>;
    ctx.out.result({ tenant: record.id, billing }, () =>
      Object.keys(billing).length === 0
        ? `Tenant ${record.id} has no billing customer; set one with \`sovereign tenant billing ${record.id} --customer <cus_…>\`.`
        : [`${'tenant'.padEnd(20)} ${record.id}`, ...Object.entries(billing).map(([k, v]) => `${k.padEnd(20)} ${String(v)}`)].join('\n'),
    );
  },
});
