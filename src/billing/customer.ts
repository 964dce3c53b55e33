/** The billing customer → tenant mapping, kept in each tenant's record (`billing.customerId`). */
import { badInput, conflict } from '../errors.js';
import type { TenantRecord } from '../state/registry.js';
import type { StateStore } from '../state/store.js';
import { requireTenant } from '../tenants/tenants.js';

const CUSTOMER_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{2,254}$/;

export function assertCustomerId(value: string): void {
  if (!CUSTOMER_ID.test(value)) throw badInput(`"${value.length > 40 ? `${value.slice(0, 37)}...` : value}" is not a billing customer id`, 'e.g. --customer cus_NffrFeUfNV2Hib');
}

/** Maps a customer to a tenant; a customer belongs to one tenant at most (exit 4 otherwise). */
export async function setBillingCustomer(state: StateStore, tenant: string, customerId: string): Promise<{ record: TenantRecord; previous: string | null }> {
  assertCustomerId(customerId);
  await requireTenant(state, tenant);
  return state.mutate({ command: 'tenant billing', action: 'tenant.billing', tenant, args: { customer: customerId } }, async (tx) => {
    const record = await requireTenant(state, tenant);
    const other = (await state.listTenants()).find((r) => r.id !== tenant && r.billing?.customerId === customerId);
    if (other) throw conflict(`billing customer ${customerId} already belongs to tenant "${other.id}"`, `a customer maps to one tenant; change ${other.id}'s first`);
    const previous = record.billing?.customerId ?? null;
    tx.eventArgs.previous = previous;
    const next: TenantRecord = { ...record, billing: { ...record.billing, customerId }, updatedAt: new Date().toISOString() };
    tx.putTenant(next);
    return { record: next, previous };
  });
}
