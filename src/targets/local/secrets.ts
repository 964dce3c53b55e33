/**
 * The local target's part of the `secrets` commands: each tenant's vault, and the signed rotation
 * webhook to its process when `sovereign dev` serves it (else the generation marker, written with
 * the change, brings the runtime the change within about a second).
 */
import type { Project } from '../../project.js';
import { parseReference } from '../../contract/reference.js';
import type { SecretStore } from '../../secrets/store.js';
import type { TenantRecord } from '../../state/registry.js';
import { webhookSecretReference } from '../../tenants/tenants.js';
import type { RuntimeNotice, SecretsPlumbing } from '../target.js';
import { DEFAULT_PICKUP_MS, runningDevPort, sendRotationWebhook } from './notify.js';
import { localBackendFor, recordedVaultGeneration } from './secret-store.js';

export function localSecretsPlumbing(project: Project): SecretsPlumbing {
  const stores = new Map<string, SecretStore>();
  const storeFor = async (tenant: TenantRecord): Promise<SecretStore> => {
    let store = stores.get(tenant.id);
    if (!store) {
      store = localBackendFor(project, tenant.id);
      stores.set(tenant.id, store);
    }
    return store;
  };
  return {
    storeFor,
    async notifyRuntime(record, targets, generation): Promise<RuntimeNotice> {
      const pickup = `the runtime picks the change up through its generation marker within about ${DEFAULT_PICKUP_MS / 1000} s of its next request`;
      const port = runningDevPort(project.paths.devState, record.id);
      if (port === undefined) return { generation, webhook: null, summary: `no running runtime for ${record.id} (sovereign dev is not running); ${pickup}` };
      let secret: string;
      try {
        const parsed = parseReference(webhookSecretReference(record.stage, record.id));
        if (!parsed.ok) throw new Error(parsed.problem.message);
        secret = await (await storeFor(record)).readValue(parsed.reference);
      } catch {
        return { generation, webhook: null, summary: `the webhook signing secret of ${record.id} is unavailable; ${pickup}` };
      }
      const webhook = await sendRotationWebhook({
        tenant: record.id,
        references: targets,
        generation: generation ?? 0,
        // Read after the commit: the generation this change's vault write recorded.
        vaultGeneration: recordedVaultGeneration(project, record.id),
        secret,
        baseUrl: `http://127.0.0.1:${port}/t/${record.id}`,
      });
      const summary = webhook.acknowledged
        ? `the runtime of ${record.id} acknowledged the rotation in ${webhook.propagationMs} ms${webhook.invalidated !== undefined ? ` (${webhook.invalidated} cached entr${webhook.invalidated === 1 ? 'y' : 'ies'} dropped)` : ''}`
        : `the runtime of ${record.id} did not acknowledge the webhook (${webhook.reason ?? 'no answer'}); the rotation is complete and ${pickup}`;
      return { generation, webhook, summary };
    },
  };
}
