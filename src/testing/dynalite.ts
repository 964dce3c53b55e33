/** A dynalite-backed tenant table on a loopback port, created with the real key schema. */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { TENANT_TABLE_KEY_SCHEMA } from '../runtime/table.js';

export interface LocalTable {
  /** Table name. */
  name: string;
  /** `http://127.0.0.1:<port>` of the dynalite server. */
  endpoint: string;
  /** A DocumentClient on the table's endpoint (raw keys, no extension prefix). */
  client: DynamoDBDocumentClient;
  /** Every item of the table as stored (`pk` with its `<extension>#` prefix). */
  items(): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

/** The AWS SDK's opt-out of its notice that later releases need a newer Node. */
const NODE_VERSION_NOTICE_OPT_OUT = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/**
 * Makes the kit's client without the SDK's Node-version notice: the kit talks to dynalite on
 * loopback, so the notice concerns no code of the test, yet would print in every test run. The
 * SDK reads the opt-out while a client's configuration is built and then never checks again in
 * this process, so it is set for that moment only, and not at all when the user set it either
 * way. Every other warning (deprecations, the user's own) still prints.
 */
function withoutNodeVersionNotice<T>(make: () => T): T {
  if (process.env[NODE_VERSION_NOTICE_OPT_OUT] !== undefined) return make();
  process.env[NODE_VERSION_NOTICE_OPT_OUT] = 'true';
  try {
    return make();
  } finally {
    delete process.env[NODE_VERSION_NOTICE_OPT_OUT];
  }
}

/** Starts dynalite in-process on 127.0.0.1 (port 0) and creates a tenant table in it. */
export async function startLocalTable(name = 'sovereign-test-tenant'): Promise<LocalTable> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const raw = withoutNodeVersionNotice(() =>
    new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 3,
    }),
  );
  await raw.send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: TENANT_TABLE_KEY_SCHEMA.KeySchema.map((k) => ({ ...k })),
      AttributeDefinitions: TENANT_TABLE_KEY_SCHEMA.AttributeDefinitions.map((a) => ({ ...a })),
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  for (let i = 0; i < 100; i++) {
    const out = await raw.send(new DescribeTableCommand({ TableName: name }));
    if (out.Table?.TableStatus === 'ACTIVE') break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  return {
    name,
    endpoint,
    client,
    async items() {
      const items: Array<Record<string, unknown>> = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await client.send(new ScanCommand({ TableName: name, ExclusiveStartKey: start }));
        items.push(...(out.Items ?? []));
        start = out.LastEvaluatedKey;
      } while (start);
      return items;
    },
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
