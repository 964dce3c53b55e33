/**
 * `ext enable|disable <name> --tenant <id>`: the tenant record's `extensions` list, changed under
 * the project lock and recorded as one audit event. Enabling reports the required secrets the
 * tenant has no reference for yet, as the exact `secrets set` commands to run.
 */
import { join } from 'node:path';
import { formatSecretMapping } from '../contract/secret-mapping.js';
import { badInput, notFound } from '../errors.js';
import { assertExtensionName, assertTenantId } from '../names.js';
import type { TenantRecord } from '../state/registry.js';
import type { StateStore } from '../state/store.js';
import { exampleReference, resolveSecretsConfig, scopeRule } from '../secrets/scope.js';
import { listExtensionFolders, loadExtension } from './discover.js';
import type { ValidManifest } from './manifest-schema.js';

export interface MissingSecret {
  key: string;
  description: string;
  /** The command that sets it, with the tenant's default reference. */
  command: string;
}

export interface EnablementResult {
  tenant: string;
  extension: string;
  enabled: boolean;
  /** False when the extension already was in the requested state (nothing written). */
  changed: boolean;
  extensions: string[];
  missingSecrets: MissingSecret[];
}

/**
 * The reference suggested for a secret key: in the tenant's SSM namespace as the project's
 * `secrets` settings define it (default `/<stage>/tenants/<tenant>/`).
 */
export function defaultReference(stage: string, tenant: string, extension: string, key: string, secretsConfig?: unknown): string {
  return exampleReference(scopeRule(resolveSecretsConfig(secretsConfig), 'ssm', { stage, tenant, extension }), extension, key);
}

/** Required secrets of `manifest` the tenant record has no reference for. Pure. */
export function missingSecrets(
  record: TenantRecord,
  manifest: Pick<ValidManifest, 'name' | 'secrets'>,
  secretsConfig?: unknown,
): MissingSecret[] {
  return manifest.secrets
    .filter((secret) => secret.required && record.secrets[formatSecretMapping({ extension: manifest.name, key: secret.key })] === undefined)
    .map((secret) => ({
      key: secret.key,
      description: secret.description,
      command: `sovereign secrets set ${record.id} ${formatSecretMapping({ extension: manifest.name, key: secret.key })} ${defaultReference(record.stage, record.id, manifest.name, secret.key, secretsConfig)}`,
    }));
}

async function loadValid(extensionsDir: string, name: string): Promise<ValidManifest> {
  assertExtensionName(name);
  if (!listExtensionFolders(extensionsDir).includes(name)) {
    throw notFound(`extension "${name}" not found in ${extensionsDir}`, 'see the available ones with `sovereign ext list`');
  }
  const ext = await loadExtension(join(extensionsDir, name));
  if (!ext.manifest) {
    throw badInput(`extension "${name}" is not valid: ${ext.problems[0] ?? 'unknown problem'}`, `see every problem with \`sovereign ext validate ${name}\``);
  }
  return ext.manifest;
}

async function tenantOrFail(state: StateStore, tenant: string): Promise<TenantRecord> {
  const record = await state.getTenant(tenant);
  if (!record) throw notFound(`tenant "${tenant}" not found`, 'see the tenants with `sovereign tenant list`');
  return record;
}

/** Enables `name` for `tenant`; idempotent. */
export async function enableExtension(
  state: StateStore,
  options: {
    extensionsDir: string;
    name: string;
    tenant: string;
    secretsConfig?: unknown;
    /** Throws when the tenant's settings for the extension do not fit its config schema (before anything is written). */
    checkSettings?: (record: TenantRecord, manifest: ValidManifest) => Promise<void>;
  },
): Promise<EnablementResult> {
  const { name, tenant, secretsConfig } = options;
  assertTenantId(tenant);
  const manifest = await loadValid(options.extensionsDir, name);
  const current = await tenantOrFail(state, tenant);
  await options.checkSettings?.(current, manifest);
  if (current.extensions.includes(name)) {
    return { tenant, extension: name, enabled: true, changed: false, extensions: current.extensions, missingSecrets: missingSecrets(current, manifest, secretsConfig) };
  }
  return state.mutate(
    { command: 'ext enable', action: 'extension.enable', tenant, args: { extension: name, version: manifest.version } },
    async (tx) => {
      const record = await tenantOrFail(state, tenant);
      const changed = !record.extensions.includes(name);
      const next: TenantRecord = changed
        ? { ...record, extensions: [...record.extensions, name].sort(), updatedAt: new Date().toISOString() }
        : record;
      if (changed) tx.putTenant(next);
      const missing = missingSecrets(next, manifest, secretsConfig);
      tx.eventArgs.missingSecrets = missing.map((m) => m.key);
      return { tenant, extension: name, enabled: true, changed, extensions: next.extensions, missingSecrets: missing };
    },
  );
}

/**
 * Disables `name` for `tenant`; idempotent. The tenant's secret references for it are kept, so
 * enabling it again needs no new `secrets set`.
 */
export async function disableExtension(
  state: StateStore,
  options: { name: string; tenant: string },
): Promise<EnablementResult> {
  const { name, tenant } = options;
  assertExtensionName(name);
  assertTenantId(tenant);
  const current = await tenantOrFail(state, tenant);
  if (!current.extensions.includes(name)) {
    return { tenant, extension: name, enabled: false, changed: false, extensions: current.extensions, missingSecrets: [] };
  }
  return state.mutate({ command: 'ext disable', action: 'extension.disable', tenant, args: { extension: name } }, async (tx) => {
    const record = await tenantOrFail(state, tenant);
    const changed = record.extensions.includes(name);
    const next: TenantRecord = changed
      ? { ...record, extensions: record.extensions.filter((e) => e !== name), updatedAt: new Date().toISOString() }
      : record;
    if (changed) tx.putTenant(next);
    return { tenant, extension: name, enabled: false, changed, extensions: next.extensions, missingSecrets: [] };
  });
}
