/**
 * The aws target's part of the `secrets` commands: SSM Parameter Store and Secrets Manager under
 * the stage's KMS key. The generation marker item is published by the aws state's commit; warm
 * environments refetch within about a second of their next request.
 */
import { secretsKeyAlias } from '../../templates/names.js';
import type { SecretStore } from '../../secrets/store.js';
import { DEFAULT_PICKUP_MS, type SecretsPlumbing, type TargetHost } from '../target.js';
import { AwsSecretStore, createSecretClients } from './secrets-backend.js';
import type { AwsSession } from './session.js';
import type { TenantRecord } from '../../state/registry.js';
import { clientConfig } from './clients.js';

export async function awsSecretsPlumbing(
  host: TargetHost,
  session: AwsSession,
  options: { mutating: boolean; sessionFor?: (record: TenantRecord) => AwsSession },
): Promise<SecretsPlumbing> {
  const { globals } = host;
  const clients = createSecretClients({
    ...(globals.region !== undefined ? { region: globals.region } : {}),
    ...(globals.endpointUrl !== undefined ? { endpoint: globals.endpointUrl } : {}),
    ...(globals.profile !== undefined ? { profile: globals.profile } : {}),
  });
  if (options.mutating) await session.announce();
  const stores = new Map<string, SecretStore>();
  return {
    async storeFor(tenant) {
      let store = stores.get(tenant.id);
      if (!store) {
        // A tenant in a cell keeps its secrets there, where its runtime reads them.
        const cell = tenant.cell ? options.sessionFor?.(tenant) : undefined;
        if (cell && options.mutating) await cell.announce();
        const where = cell ? createSecretClients(clientConfig(cell.settings)) : clients;
        store = new AwsSecretStore({ ...where, kmsKeyId: secretsKeyAlias(tenant.stage) });
        stores.set(tenant.id, store);
      }
      return store;
    },
    async notifyRuntime(record, _targets, generation) {
      return {
        generation,
        webhook: null,
        summary: generation !== null
          ? `generation ${generation} published: warm runtime environments of ${record.id} refetch the secret within about ${DEFAULT_PICKUP_MS / 1000} s of their next request; no redeploy needed`
          : 'warm runtime environments fetch the new version when their cached copy expires (SOVEREIGN_SECRET_TTL_MS); no redeploy needed',
      };
    },
  };
}
