/** `secrets check`: resolves every reference of a tenant and names the required keys left unset. */
import { join } from 'node:path';
import { formatSecretMapping } from '../contract/secret-mapping.js';
import { UserError } from '../errors.js';
import { loadExtension } from '../extensions/discover.js';
import { parseReference, referenceTarget } from '../contract/reference.js';
import { requireTenant } from '../tenants/tenants.js';
import { probeReference, type ProbeStatus, type RollbackProblem } from './store.js';
import type { SecretsEnv } from './shared.js';

export interface SecretCheckEntry {
  mapping: string;
  reference: string | null;
  status: ProbeStatus | 'unset';
  detail: string;
}

/** A problem of the tenant's secret store as a whole (today: `rollback`, a vault older than its record). */
export interface SecretStoreProblem extends RollbackProblem {
  code: 'rollback';
}

export interface SecretCheckResult {
  tenant: string;
  ok: boolean;
  /** Problems of the store as a whole; with one, no reference is resolved. */
  problems: SecretStoreProblem[];
  secrets: SecretCheckEntry[];
}

/**
 * `secrets check`: first that the tenant's store is not older than its records (a rolled-back
 * vault), then resolves every reference of the tenant (stage and JSON key included) and lists
 * required keys of enabled extensions that have no reference.
 */
export async function checkTenantSecrets(env: SecretsEnv, tenantId: string): Promise<SecretCheckResult> {
  const record = await requireTenant(env.state, tenantId);
  const backend = await env.backendFor(record);
  const results: SecretCheckEntry[] = [];
  const rollback = await backend.rollbackProblem?.();
  const problems: SecretStoreProblem[] = rollback ? [{ code: 'rollback', ...rollback }] : [];
  for (const mapping of Object.keys(record.secrets ?? {}).sort()) {
    const text = record.secrets[mapping]!.reference;
    if (rollback) {
      results.push({ mapping, reference: text, status: 'error', detail: 'not resolved: the vault is older than its record (rollback)' });
      continue;
    }
    const parsed = parseReference(text);
    if (!parsed.ok) {
      results.push({ mapping, reference: text, status: 'error', detail: `invalid reference: ${parsed.problem.message}` });
      continue;
    }
    try {
      const probe = await probeReference(backend, parsed.reference, referenceTarget(parsed.reference));
      results.push({ mapping, reference: text, status: probe.status, detail: probe.detail });
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      results.push({ mapping, reference: text, status: 'error', detail: error.message });
    }
  }
  for (const extension of record.extensions) {
    const discovered = await loadExtension(join(env.project.paths.extensions, extension));
    for (const secret of discovered.manifest?.secrets ?? []) {
      const mapping = formatSecretMapping({ extension, key: secret.key });
      if (secret.required && !record.secrets?.[mapping]) results.push({ mapping, reference: null, status: 'unset', detail: 'required by the extension and not set' });
    }
  }
  results.sort((a, b) => a.mapping.localeCompare(b.mapping));
  return { tenant: record.id, ok: problems.length === 0 && results.every((entry) => entry.status === 'ok'), problems, secrets: results };
}
