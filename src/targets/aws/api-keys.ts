/**
 * The aws target's API key records: items of the tenant's own table, `pk = _sovereign#apikey`,
 * `sk = <SHA-256 of the key>` (`apiKeyItem`), which the runtime role can read but not write (its
 * writes are confined to its extensions' `<extension>#` partitions and `_usage`). Last use is in
 * `pk = _usage`, `sk = apikey#<id>` (`lastUsedAt`), which the runtime writes.
 *
 * A create or revoke is staged as a tenant-table item of the mutation's transaction
 * (`tx.putTenantItem` / `tx.deleteTenantItem`): the aws state writes it in the same DynamoDB
 * transaction as the audit event (DynamoDB transactions span tables of one account and region),
 * so no crash leaves a key without its event or an event without its key. The put is conditional
 * on no item having that hash, the delete on the item being there. The generation marker that
 * tells warm runtimes to drop cached lookups follows the transaction, as for every other change.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { API_KEY_PARTITION, apiKeyItem, apiKeyRecordFromItem, USAGE_PARTITION } from '../../contract/api-keys.js';
import { ExitCode, UserError } from '../../errors.js';
import { tenantTableName } from '../../templates/names.js';
import type { ApiKeyStore } from '../target.js';
import { awsFailure, withBackoff } from './errors.js';
import type { AwsSession } from './session.js';

const USAGE_KEY_PREFIX = 'apikey#';

export function awsApiKeyStore(session: AwsSession): ApiKeyStore {
  const documents = session.clients.documents;
  const table = (tenant: string) => tenantTableName(session.stage, tenant);

  /** Every item of one partition of the tenant's table, page by page, consistent reads. */
  async function partition(tenant: string, pk: string, doing: string): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = [];
    let start: Record<string, unknown> | undefined;
    do {
      let page;
      try {
        page = await withBackoff(() =>
          documents.send(
            new QueryCommand({
              TableName: table(tenant),
              KeyConditionExpression: 'pk = :pk',
              ExpressionAttributeValues: { ':pk': pk },
              ConsistentRead: true,
              ...(start ? { ExclusiveStartKey: start } : {}),
            }),
          ),
        );
      } catch (error) {
        if ((error as { name?: string })?.name === 'ResourceNotFoundException') {
          throw new UserError(`tenant "${tenant}" has no table on aws in stage ${session.stage} (${table(tenant)}): its API keys live there`, {
            exitCode: ExitCode.notFound,
            hint: `deploy it first: sovereign tenant deploy ${tenant} --target aws`,
            cause: error,
          });
        }
        throw awsFailure(error, doing);
      }
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  return {
    async records(tenant) {
      const items = await partition(tenant.id, API_KEY_PARTITION, `reading the API keys of ${tenant.id}`);
      return items.flatMap((item) => apiKeyRecordFromItem(item) ?? []).sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
    },
    async lastUsed(tenant) {
      let items: Array<Record<string, unknown>>;
      try {
        items = await partition(tenant.id, USAGE_PARTITION, `reading the API key use of ${tenant.id}`);
      } catch {
        // Last use is a hint for people; a listing does not fail on it.
        return {};
      }
      const out: Record<string, string> = {};
      for (const item of items) {
        const { sk, lastUsedAt } = item;
        if (typeof sk !== 'string' || !sk.startsWith(USAGE_KEY_PREFIX) || typeof lastUsedAt !== 'string' || Number.isNaN(Date.parse(lastUsedAt))) continue;
        out[sk.slice(USAGE_KEY_PREFIX.length)] = new Date(Date.parse(lastUsedAt)).toISOString();
      }
      return out;
    },
    stageCreate(tx, tenant, record) {
      tx.putTenantItem(tenant.id, apiKeyItem(record));
    },
    stageRevoke(tx, tenant, record) {
      tx.deleteTenantItem(tenant.id, { pk: API_KEY_PARTITION, sk: record.hash });
    },
  };
}
