/** `secrets list`: a tenant's references with their version metadata, never values. */
import { referenceTarget } from '../contract/reference.js';
import { requireTenant } from '../tenants/tenants.js';
import { SecretStoreError, VaultRollbackError } from './store.js';
import { parseReferenceForInput, type SecretsEnv } from './shared.js';

export interface SecretListEntry {
  mapping: string;
  reference: string;
  versionId: string | null;
  lastRotatedAt: string | null;
  lastRotatedBy: string | null;
  setAt: string;
  setBy: string;
  /** `ok`, or why the metadata could not be read (`missing`, `denied`, `error`). */
  status: 'ok' | 'missing' | 'denied' | 'error';
  /** For a status other than `ok`: one line, no values. */
  detail: string | null;
}

function statusOfError(error: unknown): { status: 'missing' | 'denied' | 'error'; detail: string } {
  // A rolled-back vault is not listed from: its metadata is an older copy's (shortened history).
  if (error instanceof SecretStoreError && !(error instanceof VaultRollbackError)) {
    return { status: error.reason === 'not-found' ? 'missing' : error.reason === 'denied' ? 'denied' : 'error', detail: error.message };
  }
  throw error;
}

/** `secrets list`: references and version metadata, never values. */
export async function listTenantSecrets(env: SecretsEnv, tenantId: string): Promise<{ tenant: string; secrets: SecretListEntry[] }> {
  const record = await requireTenant(env.state, tenantId);
  const backend = await env.backendFor(record);
  const secrets: SecretListEntry[] = [];
  for (const mapping of Object.keys(record.secrets ?? {}).sort()) {
    const entry = record.secrets[mapping]!;
    const base = { mapping, reference: entry.reference, setAt: entry.setAt, setBy: entry.setBy };
    try {
      const description = await backend.describe(parseReferenceForInput(entry.reference));
      secrets.push({
        ...base,
        versionId: description?.currentVersionId ?? null,
        lastRotatedAt: description?.lastChangedAt ?? null,
        lastRotatedBy: description?.lastChangedBy ?? null,
        status: description ? 'ok' : 'missing',
        detail: description ? null : `${referenceTarget(parseReferenceForInput(entry.reference))} does not exist`,
      });
    } catch (error) {
      secrets.push({ ...base, versionId: null, lastRotatedAt: null, lastRotatedBy: null, ...statusOfError(error) });
    }
  }
  return { tenant: record.id, secrets };
}
