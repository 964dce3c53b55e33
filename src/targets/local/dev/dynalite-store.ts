/**
 * A local tenant's table as dynalite over its persistent store (`.sovereign/data/<tenant>/dynamodb`).
 *
 * Two ways in: `serveDynaliteStore` listens on a loopback port (what `tenant offboard` opens to
 * export the data while `dev` is not running), and `openDynaliteStore` listens on nothing: the
 * dev data plane hands it each request it has already authenticated and authorised, in process,
 * so no socket a tenant process could reach leads to the store unchecked.
 */
import type { Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { TENANT_TABLE_KEY_SCHEMA } from '../../../runtime/table.js';

type Dynalite = (options: Record<string, unknown>) => Server;

interface DynaliteDb {
  create: (options: Record<string, unknown>) => DynaliteLevelStore;
}

interface DynaliteLevelStore {
  lifecycleManager?: { gracefulClose(callback: (error?: Error | null) => void): void };
  db: { close(callback: (error?: Error | null) => void): void };
}

const dynaliteOptions = (path: string) => ({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });

async function loadDynalite(): Promise<Dynalite> {
  // dynalite has no types; declared loosely here.
  const { default: dynalite } = (await import('dynalite' as string)) as { default: Dynalite };
  return dynalite;
}

/** Starts dynalite on the store at `path` (created if absent), on a free loopback port. */
export async function serveDynaliteStore(path: string): Promise<{ server: Server; port: number }> {
  const dynalite = await loadDynalite();
  mkdirSync(path, { recursive: true });
  const server = dynalite(dynaliteOptions(path));
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  return { server, port };
}

/** One answer of dynalite: status, headers and the JSON body it wrote. */
export interface StoreAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** A store served in process: one DynamoDB JSON-protocol call at a time per `call`. */
export interface InProcessStore {
  /** `target` is the operation (`GetItem`); `body` the request's JSON bytes, unchanged. */
  call(target: string, body: Buffer): Promise<StoreAnswer>;
  close(): Promise<void>;
}

/**
 * What dynalite's request handler uses of a response. dynalite answers through `setHeader`,
 * `statusCode` and one `end(body)`; the data plane writes the answer to its client itself.
 */
class CollectedResponse {
  statusCode = 200;
  contentType = 'application/x-amz-json-1.0';
  readonly headers: Record<string, string> = {};
  constructor(private readonly done: (answer: StoreAnswer) => void) {}
  setHeader(name: string, value: string | number): void {
    this.headers[name.toLowerCase()] = String(value);
  }
  end(body?: string | Buffer): void {
    this.done({ status: this.statusCode, headers: this.headers, body: Buffer.from(body ?? '') });
  }
}

// dynalite only checks that a signature is present; the data plane verified the real one.
const STORE_AUTHORIZATION = 'AWS4-HMAC-SHA256 Credential=store/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0';

/**
 * Opens dynalite on the store at `path` without listening: requests reach its HTTP handler as
 * the server's own 'request' event. Its leveldb is closed through dynalite's own lifecycle
 * manager (its `server.close` would not get that far on a server that never listened).
 */
export async function openDynaliteStore(path: string): Promise<InProcessStore> {
  const dynalite = await loadDynalite();
  const requireFromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  const dbModule = requireFromDynalite('./db') as DynaliteDb;
  mkdirSync(path, { recursive: true });
  const create = dbModule.create;
  let level: DynaliteLevelStore | undefined;
  dbModule.create = (options) => (level = create(options));
  let server: Server;
  try {
    server = dynalite(dynaliteOptions(path));
  } finally {
    dbModule.create = create;
  }
  const opened = level;
  if (!opened) throw new Error('dynalite did not open its store');
  const call = (target: string, body: Buffer): Promise<StoreAnswer> =>
    new Promise((resolve) => {
      const req = Object.assign(Readable.from(body.length > 0 ? [body] : []), {
        method: 'POST',
        url: '/',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'content-length': String(body.length),
          'x-amz-target': `DynamoDB_20120810.${target}`,
          'x-amz-date': '20200101T000000Z',
          authorization: STORE_AUTHORIZATION,
        },
      });
      server.emit('request', req, new CollectedResponse(resolve));
    });
  return {
    call,
    close: () =>
      new Promise<void>((resolve, reject) => {
        const done = (error?: Error | null) => (error ? reject(error) : resolve());
        if (opened.lifecycleManager) opened.lifecycleManager.gracefulClose(done);
        else opened.db.close(done);
      }),
  };
}

/** Creates the tenant table from `TENANT_TABLE_KEY_SCHEMA` (the aws template's definition) if it is missing. */
export async function ensureTenantTable(store: InProcessStore, table: string): Promise<void> {
  const typeOf = (answer: StoreAnswer) => String((JSON.parse(answer.body.toString('utf8') || '{}') as { __type?: unknown }).__type ?? '');
  const described = await store.call('DescribeTable', Buffer.from(JSON.stringify({ TableName: table })));
  if (described.status === 200) return;
  if (!typeOf(described).endsWith('ResourceNotFoundException')) throw new Error(`DescribeTable ${table} failed: ${typeOf(described) || described.status}`);
  const created = await store.call(
    'CreateTable',
    Buffer.from(JSON.stringify({ TableName: table, BillingMode: 'PAY_PER_REQUEST', KeySchema: TENANT_TABLE_KEY_SCHEMA.KeySchema, AttributeDefinitions: TENANT_TABLE_KEY_SCHEMA.AttributeDefinitions })),
  );
  if (created.status !== 200 && !typeOf(created).endsWith('ResourceInUseException')) throw new Error(`CreateTable ${table} failed: ${typeOf(created) || created.status}`);
  // dynalite answers items of a CREATING table with ResourceNotFoundException, even at createTableMs 0.
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const status = await store.call('DescribeTable', Buffer.from(JSON.stringify({ TableName: table })));
    if ((JSON.parse(status.body.toString('utf8')) as { Table?: { TableStatus?: string } }).Table?.TableStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`table ${table} did not become ACTIVE`);
}

/**
 * Whether another process holds the store's leveldb lock (a `tenant offboard` exporting it).
 * dynalite itself crashes its host on a locked store, so the lock is probed with the same `level`
 * module dynalite uses before dynalite opens it.
 */
export async function storeIsLocked(dir: string): Promise<boolean> {
  const requireFromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  const { Level } = requireFromDynalite('level') as { Level: new (path: string) => { open(): Promise<void>; close(): Promise<void> } };
  const db = new Level(dir);
  try {
    await db.open();
  } catch {
    return true;
  }
  await db.close();
  return false;
}
