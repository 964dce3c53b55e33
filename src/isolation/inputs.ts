/**
 * The isolation check's inputs from a project: each tenant's enabled extensions with their
 * declared permissions, its secret scope (the same one its runtime role is rendered with) and the
 * references it uses.
 */
import { loadExtensionSources } from '../artifact/manifests.js';
import { webhookSecretReference } from '../contract/tenant-runtime-config.js';
import type { Project } from '../project.js';
import type { TenantRecord } from '../state/registry.js';
import { tenantSecretScope } from '../templates/secret-scope.js';
import type { PermissionStatement } from '../runtime/extension.js';
import type { IsolationInputs, IsolationTenantInput } from './matrix.js';

/** Account and region used for offline checks when there is no AWS account to name. */
export const OFFLINE_ACCOUNT = '000000000000';
export const OFFLINE_REGION = 'us-east-1';

/** One tenant's input from its enabled extensions' declared permissions (by extension name). */
export function isolationTenantInput(project: Project, record: TenantRecord, stage: string, permissions: ReadonlyMap<string, PermissionStatement[]>): IsolationTenantInput {
  const webhook = webhookSecretReference(stage, record.id);
  return {
    id: record.id,
    extensions: [...record.extensions].sort().map((name) => ({ name, permissions: permissions.get(name) ?? [] })),
    scope: tenantSecretScope({ stage, tenant: record.id, extensions: record.extensions, secretsConfig: project.config.secrets, references: [webhook] }),
    references: [webhook, ...Object.values(record.secrets).map((s) => s.reference)],
  };
}

export async function isolationInputsFor(project: Project, records: TenantRecord[], where: { stage: string; account: string; region: string }): Promise<IsolationInputs> {
  const names = [...new Set(records.flatMap((r) => r.extensions))].sort();
  const sources = names.length > 0 ? await loadExtensionSources(project.paths.extensions, names) : [];
  const permissions = new Map(sources.map((s) => [s.name, s.manifest.permissions ?? []]));
  return { ...where, tenants: records.map((record) => isolationTenantInput(project, record, where.stage, permissions)) };
}
