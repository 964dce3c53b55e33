/**
 * The tenants' tables under `sovereign dev`, served by the dev process (not by a tenant's
 * environments, which may be many at once and share one table): one dynalite server per tenant
 * over its store in `.sovereign/data/<tenant>/dynamodb`, started on the first environment's start
 * and kept while `dev` runs, its table created from `TENANT_TABLE_KEY_SCHEMA` (the aws template's
 * definition).
 */
import { request as httpRequest, type Server } from 'node:http';
import { join } from 'node:path';
import { TENANT_TABLE_KEY_SCHEMA } from '../../../runtime/table.js';
import { serveDynaliteStore } from './dynalite-store.js';

/** One DynamoDB JSON-protocol call to a dynalite server (no SDK: it is not worth its start-up time here). */
function dynamoCall(port: number, target: string, body: unknown): Promise<{ status: number; type: string }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const call = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'content-length': Buffer.byteLength(payload),
          'x-amz-target': `DynamoDB_20120810.${target}`,
          'x-amz-date': '20200101T000000Z',
          // dynalite wants a signature's shape, not a valid one.
          authorization: 'AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0',
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let type = '';
          try {
            type = String((JSON.parse(text) as { __type?: unknown }).__type ?? '');
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, type });
        });
      },
    );
    call.on('error', reject);
    call.end(payload);
  });
}

/** Creates the tenant table from `TENANT_TABLE_KEY_SCHEMA` if it is missing. */
async function ensureTable(port: number, table: string): Promise<void> {
  const described = await dynamoCall(port, 'DescribeTable', { TableName: table });
  if (described.status === 200) return;
  if (!described.type.endsWith('ResourceNotFoundException')) throw new Error(`DescribeTable ${table} failed: ${described.type || described.status}`);
  const created = await dynamoCall(port, 'CreateTable', {
    TableName: table,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: TENANT_TABLE_KEY_SCHEMA.KeySchema,
    AttributeDefinitions: TENANT_TABLE_KEY_SCHEMA.AttributeDefinitions,
  });
  if (created.status !== 200 && !created.type.endsWith('ResourceInUseException')) throw new Error(`CreateTable ${table} failed: ${created.type || created.status}`);
}

export class TableStores {
  private readonly stores = new Map<string, Promise<{ server: Server; port: number }>>();

  /** The endpoint of the tenant's table (its store started and the table created on first use). */
  async endpoint(tenant: string, dataDir: string, table: string): Promise<string> {
    let store = this.stores.get(tenant);
    if (store === undefined) {
      store = serveDynaliteStore(join(dataDir, 'dynamodb')).then(async (served) => {
        await ensureTable(served.port, table);
        return served;
      });
      this.stores.set(tenant, store);
      store.catch(() => this.stores.delete(tenant));
    }
    return `http://127.0.0.1:${(await store).port}`;
  }

  /** Closes the tenant's store (it was removed or destroyed). */
  async close(tenant: string): Promise<void> {
    const store = this.stores.get(tenant);
    this.stores.delete(tenant);
    const served = await store?.catch(() => undefined);
    if (served) await new Promise<void>((resolve) => served.server.close(() => resolve()));
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.stores.keys()].map((tenant) => this.close(tenant)));
  }
}
