/** `secrets put`: stores a value behind a reference in the tenant's scope. */
import { referenceTarget } from '../contract/reference.js';
import { requireTenant } from '../tenants/tenants.js';
import { rotateSecret, type RotationResult } from './rotate.js';
import { assertScope, composeValue, noNotice, parseReferenceForInput, projectExtensions, stageGeneration, type RuntimeNotice, type SecretsEnv } from './shared.js';
import { assertValueFits } from './value-input.js';

export interface PutSecretResult {
  tenant: string;
  target: string;
  versionId: string;
  created: boolean;
  outcome: 'created' | RotationResult['outcome'];
  previousVersionId: string | null;
  runtime: RuntimeNotice;
}

/**
 * `secrets put`: stores a value for a reference in the tenant's scope. An existing target gets a
 * new version through the rotation procedure (so labels and retries behave the same).
 */
export async function putSecret(env: SecretsEnv, tenantId: string, referenceText: string, value: string): Promise<PutSecretResult> {
  const reference = parseReferenceForInput(referenceText);
  const target = referenceTarget(reference);
  assertValueFits(value, reference.service);
  const { result, record, ticket } = await env.state.mutate({ command: 'secrets put', action: 'secret.put', tenant: tenantId, args: { reference: target } }, async (tx) => {
    const record = await requireTenant(env.state, tenantId);
    const extensions = [...new Set([...record.extensions, ...projectExtensions(env.project)])];
    await assertScope(env, record, reference, extensions.length > 0 ? extensions : ['extension']);
    const backend = await env.backendFor(record);
    const existing = await backend.describe(reference);
    const whole = await composeValue(backend, reference, value, existing !== undefined);
    assertValueFits(whole, reference.service);
    let result: Omit<PutSecretResult, 'runtime' | 'tenant'>;
    if (!existing) {
      const put = await backend.putVersion(reference, whole, { by: env.state.actor });
      result = { target, versionId: put.versionId, created: true, outcome: 'created', previousVersionId: null };
    } else {
      const rotated = await rotateSecret(backend, reference, whole, { by: env.state.actor });
      result = { target, versionId: rotated.versionId, created: false, outcome: rotated.outcome, previousVersionId: rotated.previousVersionId ?? null };
    }
    Object.assign(tx.eventArgs, { versionId: result.versionId, previousVersionId: result.previousVersionId, outcome: result.outcome });
    const ticket = stageGeneration(tx, record, result.outcome === 'unchanged' ? [] : [target]);
    return { result, record, ticket };
  });
  const runtime = result.outcome === 'unchanged' ? noNotice('the value was already current') : await env.notifyRuntime(record, [target], ticket?.generation ?? null);
  return { tenant: record.id, ...result, runtime };
}
