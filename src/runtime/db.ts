/**
 * `ctx.db`: the tenant's DynamoDB table seen by one extension. Every `pk` is stored as
 * `<extension>#<pk>`, so extensions never read or overwrite each other's items. The SDK is
 * imported on first use; the endpoint follows the SDK chain (`AWS_ENDPOINT_URL_DYNAMODB`, …).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ExtensionTable, Item } from './extension.js';
import { extensionKeyPrefix } from './table.js';

/** Lazily creates one DocumentClient shared by every extension of the environment. */
export type DocumentClientProvider = () => Promise<DynamoDBDocumentClient>;

export function lazyDocumentClient(client?: DynamoDBDocumentClient): DocumentClientProvider {
  let promise: Promise<DynamoDBDocumentClient> | undefined = client ? Promise.resolve(client) : undefined;
  return () => {
    promise ??= Promise.all([import('@aws-sdk/client-dynamodb'), import('@aws-sdk/lib-dynamodb')]).then(
      ([ddb, lib]) =>
        lib.DynamoDBDocumentClient.from(new ddb.DynamoDBClient({}), {
          marshallOptions: { removeUndefinedValues: true },
        }),
    );
    return promise;
  };
}

const BATCH = 25;

export function createExtensionTable(tableName: string, extension: string, client: DocumentClientProvider): ExtensionTable {
  const prefix = extensionKeyPrefix(extension);
  const outgoing = (item: Item & { pk: string; sk: string }) => ({ ...item, pk: prefix + item.pk });
  const incoming = (item: Record<string, unknown>): Item => ({ ...item, pk: String(item.pk).slice(prefix.length) });
  const lib = () => import('@aws-sdk/lib-dynamodb');

  return {
    async get(pk, sk) {
      const [c, { GetCommand }] = await Promise.all([client(), lib()]);
      const out = await c.send(new GetCommand({ TableName: tableName, Key: { pk: prefix + pk, sk } }));
      return out.Item ? incoming(out.Item) : undefined;
    },
    async put(item) {
      const [c, { PutCommand }] = await Promise.all([client(), lib()]);
      await c.send(new PutCommand({ TableName: tableName, Item: outgoing(item) }));
    },
    async delete(pk, sk) {
      const [c, { DeleteCommand }] = await Promise.all([client(), lib()]);
      await c.send(new DeleteCommand({ TableName: tableName, Key: { pk: prefix + pk, sk } }));
    },
    async *query(pk, options = {}) {
      const [c, { QueryCommand }] = await Promise.all([client(), lib()]);
      let remaining = options.limit ?? Number.POSITIVE_INFINITY;
      let startKey: Record<string, unknown> | undefined;
      do {
        const out = await c.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: options.skPrefix === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :sk)',
            ExpressionAttributeValues:
              options.skPrefix === undefined ? { ':pk': prefix + pk } : { ':pk': prefix + pk, ':sk': options.skPrefix },
            ExclusiveStartKey: startKey,
            ...(Number.isFinite(remaining) ? { Limit: Math.min(remaining, 1000) } : {}),
          }),
        );
        for (const item of out.Items ?? []) {
          if (remaining <= 0) return;
          remaining--;
          yield incoming(item);
        }
        startKey = out.LastEvaluatedKey;
      } while (startKey !== undefined && remaining > 0);
    },
    async putMany(items) {
      const [c, { BatchWriteCommand }] = await Promise.all([client(), lib()]);
      for (let i = 0; i < items.length; i += BATCH) {
        let requests: Array<Record<string, unknown>> = items
          .slice(i, i + BATCH)
          .map((item) => ({ PutRequest: { Item: outgoing(item) } }));
        for (let attempt = 0; requests.length > 0; attempt++) {
          if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 2000)));
          if (attempt > 10) throw new Error(`putMany: ${requests.length} items still unprocessed after ${attempt} attempts`);
          const out = await c.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests as never } }));
          requests = (out.UnprocessedItems?.[tableName] as Array<Record<string, unknown>> | undefined) ?? [];
        }
      }
    },
  };
}
