/** `secrets rotate`: a new value for a mapped secret, or the end of an interrupted rotation. */
import { formatReference, referenceTarget } from '../contract/reference.js';
import { requireTenant } from '../tenants/tenants.js';
import { abortRotation, resumeRotation, rotateSecret, type RotationResult } from './rotate.js';
import { composeValue, mappedReference, noNotice, parseMappingKey, stageGeneration, type RuntimeNotice, type SecretsEnv } from './shared.js';
import { assertValueFits } from './value-input.js';

export interface RotateSecretResult {
  tenant: string;
  mapping: string;
  reference: string;
  target: string;
  versionId: string;
  previousVersionId: string | null;
  outcome: RotationResult['outcome'] | 'aborted';
  runtime: RuntimeNotice;
}

/** `secrets rotate`: a new value (or `resume` / `abort` of an interrupted rotation). */
export async function rotateTenantSecret(
  env: SecretsEnv,
  tenantId: string,
  mappingText: string,
  action: { value: string; rotationId?: string } | { resume: true } | { abort: true },
): Promise<RotateSecretResult> {
  const { mapping } = parseMappingKey(mappingText);
  const { result, record, ticket } = await env.state.mutate({ command: 'secrets rotate', action: 'secret.rotate', tenant: tenantId, args: { mapping } }, async (tx) => {
    const record = await requireTenant(env.state, tenantId);
    const reference = mappedReference(record, mapping);
    const target = referenceTarget(reference);
    const backend = await env.backendFor(record);
    let result: Omit<RotateSecretResult, 'runtime' | 'tenant'>;
    if ('abort' in action) {
      const aborted = await abortRotation(backend, reference);
      result = { mapping, reference: formatReference(reference), target, versionId: aborted.currentVersionId ?? aborted.discardedVersionId, previousVersionId: null, outcome: 'aborted' };
      Object.assign(tx.eventArgs, { reference: formatReference(reference), discardedVersionId: aborted.discardedVersionId, outcome: 'aborted' });
      return { result, record, ticket: null };
    }
    let rotated: RotationResult;
    if ('resume' in action) {
      rotated = await resumeRotation(backend, reference, { by: env.state.actor });
    } else {
      const whole = await composeValue(backend, reference, action.value, true);
      assertValueFits(whole, reference.service);
      rotated = await rotateSecret(backend, reference, whole, { by: env.state.actor, ...(action.rotationId !== undefined ? { rotationId: action.rotationId } : {}) });
    }
    result = { mapping, reference: formatReference(reference), target, versionId: rotated.versionId, previousVersionId: rotated.previousVersionId ?? null, outcome: rotated.outcome };
    Object.assign(tx.eventArgs, { reference: formatReference(reference), versionId: rotated.versionId, previousVersionId: rotated.previousVersionId ?? null, outcome: rotated.outcome });
    const ticket = stageGeneration(tx, record, rotated.outcome === 'unchanged' ? [] : [target]);
    return { result, record, ticket };
  });
  const runtime = result.outcome === 'unchanged' || result.outcome === 'aborted'
    ? noNotice(result.outcome === 'aborted' ? 'the current version did not change' : 'the value was already current; nothing changed')
    : await env.notifyRuntime(record, [result.target], ticket?.generation ?? null);
  return { tenant: record.id, ...result, runtime };
}
