/** `secrets set`: maps an extension's secret key to a reference, validated before anything is recorded. */
import { join } from 'node:path';
import { badInput, denied, ExitCode, notFound, UserError } from '../errors.js';
import { loadExtension } from '../extensions/discover.js';
import { formatReference, referenceTarget } from '../contract/reference.js';
import { requireTenant } from '../tenants/tenants.js';
import { probeReference, type ProbeStatus } from './store.js';
import { assertScope, parseMappingKey, parseReferenceForInput, projectExtensions, type SecretsEnv } from './shared.js';

/**
 * Maps a failed probe to the exit code of SPEC.md. The message never repeats the typed reference
 * (nor its JSON key): a value pasted into a reference would be echoed.
 */
function probeError(status: ProbeStatus, detail: string, tenant: string): UserError {
  switch (status) {
    case 'missing':
      return notFound(`nothing is stored behind the reference for tenant "${tenant}"`, `store a value first: sovereign secrets put <reference> --tenant ${tenant} --from-stdin`);
    case 'key-missing':
      return notFound('the secret the reference names has no such JSON key (or its value is not a JSON object)', 'add the key to the secret\'s JSON value, or reference the whole value');
    case 'denied':
      return denied(detail);
    default:
      return new UserError(detail, { exitCode: ExitCode.failed });
  }
}

export interface SetSecretResult {
  tenant: string;
  mapping: string;
  reference: string;
  setAt: string;
  setBy: string;
  previousReference: string | null;
}

/**
 * `secrets set`: validates in the order of SPEC.md — syntax, tenant scope, the extension declares
 * the key, the target exists (and holds the JSON key) — and only then records the mapping.
 */
export async function setSecret(env: SecretsEnv, tenantId: string, mappingText: string, referenceText: string): Promise<SetSecretResult> {
  const { extension, key, mapping } = parseMappingKey(mappingText);
  const reference = parseReferenceForInput(referenceText);
  return env.state.mutate({ command: 'secrets set', action: 'secret.set', tenant: tenantId, args: { mapping } }, async (tx) => {
    const record = await requireTenant(env.state, tenantId);
    await assertScope(env, record, reference, [extension]);
    const discovered = await loadExtension(join(env.project.paths.extensions, extension));
    if (discovered.status === 'failed' && !projectExtensions(env.project).includes(extension)) {
      throw notFound(`extension "${extension}" does not exist`, 'list extensions with `sovereign ext list`');
    }
    if (!discovered.manifest) {
      throw badInput(`extension "${extension}" cannot be loaded: ${discovered.problems[0] ?? 'invalid manifest'}`, `check it with \`sovereign ext validate ${extension}\``);
    }
    const declared = discovered.manifest.secrets.map((secret) => secret.key);
    if (!declared.includes(key)) {
      throw badInput(`extension "${extension}" declares no secret "${key}"`,
        declared.length > 0 ? `it declares: ${declared.join(', ')}` : 'it declares no secrets; add one to `secrets` in its extension.ts');
    }
    const text = formatReference(reference);
    const backend = await env.backendFor(record);
    const probe = await probeReference(backend, reference, referenceTarget(reference));
    if (probe.status !== 'ok') throw probeError(probe.status, probe.detail, record.id);
    if (!record.extensions.includes(extension)) env.warn?.(`extension "${extension}" is not enabled for ${record.id}; the mapping takes effect once it is`);
    const now = new Date().toISOString();
    const previous = record.secrets?.[mapping]?.reference ?? null;
    tx.putTenant({ ...record, secrets: { ...record.secrets, [mapping]: { reference: text, setAt: now, setBy: env.state.actor } }, updatedAt: now });
    Object.assign(tx.eventArgs, { reference: text, previousReference: previous });
    return { tenant: record.id, mapping, reference: text, setAt: now, setBy: env.state.actor, previousReference: previous };
  });
}
