import type { Command } from 'commander';
import { setBillingCustomer } from '../../billing/customer.js';
import { requireTenant } from '../../tenants/tenants.js';
import type { CommandModule } from '../types.js';

export const examples = ['sovereign tenant billing acme --customer cus_NffrFeUfNV2Hib', 'sovereign tenant billing acme --json'];

export function configure(command: Command): void {
  command.argument('<id>', 'tenant id').option('--customer <id>', 'the billing customer whose events drive this tenant');
}

export async function run(ctx: Parameters<CommandModule['run']>[0], [id]: string[], options: Record<string, unknown>): Promise<void> {
  const state = ctx.state();
  if (typeof options.customer === 'string') {
    const { record, previous } = await setBillingCustomer(state, id!, options.customer);
    ctx.out.result({ tenant: record.id, billing: record.billing ?? {}, previousCustomer: previous }, () =>
      `Tenant ${record.id} now follows billing customer ${options.customer as string}${previous && previous !== options.customer ? ` (was ${previous})` : ''}.`,
    );
    return;
  }
  const record = await requireTenant(state, id!);
  const billing = (record.billing ?? {}) as Record<string, unknown>;
  ctx.out.result({ tenant: record.id, billing }, () =>
    Object.keys(billing).length === 0
      ? `Tenant ${record.id} has no billing customer; set one with \`sovereign tenant billing ${record.id} --customer <cus_…>\`.`
      : [`${'tenant'.padEnd(20)} ${record.id}`, ...Object.entries(billing).map(([k, v]) => `${k.padEnd(20)} ${String(v)}`)].join('\n'),
  );
}
