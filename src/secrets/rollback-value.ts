/** `secrets rollback`: the previous version of a mapped secret becomes current again. */
import { formatReference } from '../contract/reference.js';
import { requireTenant } from '../tenants/tenants.js';
import { rollbackSecret } from './rotate.js';
import { mappedReference, parseMappingKey, stageGeneration, type RuntimeNotice, type SecretsEnv } from './shared.js';

export interface RollbackSecretResult {
  tenant: string;
  mapping: string;
  reference: string;
  target: string;
  versionId: string;
  rolledBackVersionId: string | null;
  runtime: RuntimeNotice;
}

/** `secrets rollback`: `AWSPREVIOUS` becomes current again. */
export async function rollbackTenantSecret(env: SecretsEnv, tenantId: string, mappingText: string): Promise<RollbackSecretResult> {
  const { mapping } = parseMappingKey(mappingText);
  const { result, record, ticket } = await env.state.mutate({ command: 'secrets rollback', action: 'secret.rollback', tenant: tenantId, args: { mapping } }, async (tx) => {
    const record = await requireTenant(env.state, tenantId);
    const reference = mappedReference(record, mapping);
    const backend = await env.backendFor(record);
    const rolled = await rollbackSecret(backend, reference, { by: env.state.actor });
    Object.assign(tx.eventArgs, { reference: formatReference(reference), versionId: rolled.versionId, rolledBackVersionId: rolled.rolledBackVersionId ?? null });
    const ticket = stageGeneration(tx, record, [rolled.target]);
    return {
      result: { mapping, reference: formatReference(reference), target: rolled.target, versionId: rolled.versionId, rolledBackVersionId: rolled.rolledBackVersionId ?? null },
      record,
      ticket,
    };
  });
  const runtime = await env.notifyRuntime(record, [result.target], ticket?.generation ?? null);
  return { tenant: record.id, ...result, runtime };
}
