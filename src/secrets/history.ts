/** `secrets history`: the versions of one mapped secret. */
import { formatReference } from '../contract/reference.js';
import { requireTenant } from '../tenants/tenants.js';
import type { SecretVersionInfo } from './store.js';
import { mappedReference, parseMappingKey, type SecretsEnv } from './shared.js';

/** `secrets history`: the versions of one mapping's target, newest first, without values. */
export async function secretHistory(env: SecretsEnv, tenantId: string, mappingText: string): Promise<{ tenant: string; mapping: string; reference: string; versions: SecretVersionInfo[] }> {
  const { mapping } = parseMappingKey(mappingText);
  const record = await requireTenant(env.state, tenantId);
  const reference = mappedReference(record, mapping);
  const backend = await env.backendFor(record);
  return { tenant: record.id, mapping, reference: formatReference(reference), versions: await backend.history(reference) };
}
