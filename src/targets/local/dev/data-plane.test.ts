import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient, GetItemCommand, ScanCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { OFFLINE_ACCOUNT } from '../../../isolation/inputs.js';
import { renderTenantPolicy } from '../../../templates/policy.js';
import { tenantTableName } from '../../../templates/names.js';
import { DataPlane, type TenantCredentials } from './data-plane.js';
import { serveDynaliteStore } from './dynalite-store.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const REGION = 'us-east-1';
const STAGE = 'dev';
const tableOf = (tenant: string) => tenantTableName(STAGE, tenant);
const arnOf = (tenant: string) => `arn:aws:dynamodb:${REGION}:${OFFLINE_ACCOUNT}:table/${tableOf(tenant)}`;

let dir: string;
let plane: DataPlane;
let endpoint: string;
let clock = () => new Date();
let acme: TenantCredentials;
let bolt: TenantCredentials;

function register(target: DataPlane, tenant: string, permissions: Array<{ actions: string[]; resources: string[] }> = []): void {
  target.register({
    id: tenant,
    stage: STAGE,
    policy: renderTenantPolicy({ tenant, stage: STAGE, extensions: [{ name: 'notes', permissions }], account: OFFLINE_ACCOUNT, region: REGION }),
    dataDir: join(dir, tenant),
  });
}

function raw(credentials: TenantCredentials | { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: REGION, credentials, maxAttempts: 1 });
}

function documents(credentials: TenantCredentials): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(raw(credentials));
}

/** The error name and message an SDK call fails with. */
async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return { name: (error as Error).name, message: (error as Error).message };
  }
  throw new Error('the call succeeded');
}

interface Captured {
  headers: Record<string, string>;
  body: string;
}

/** A client whose signed requests are captured and, optionally, changed after signing. */
function capturing(credentials: TenantCredentials, change?: (body: string) => string): { client: DynamoDBClient; captured: Captured[] } {
  const client = raw(credentials);
  const captured: Captured[] = [];
  // The deserialize step runs after signing, just before the request is sent.
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = (args as { request: { headers: Record<string, string>; body: string } }).request;
      captured.push({ headers: { ...request.headers }, body: request.body });
      if (change) request.body = change(request.body);
      return next(args);
    },
    { step: 'deserialize', priority: 'low' },
  );
  return { client, captured };
}

/** Sends one captured request again, byte for byte. */
function replay(request: Captured): Promise<{ status: number; body: { __type?: string; message?: string } }> {
  const url = new URL(endpoint);
  const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => name.toLowerCase() !== 'host'));
  return new Promise((resolve, reject) => {
    const call = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path: '/', headers: { ...headers, host: url.host } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { __type?: string; message?: string } }));
    });
    call.on('error', reject);
    call.end(request.body);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sovereign-data-plane-'));
  plane = new DataPlane({ region: REGION, account: OFFLINE_ACCOUNT, now: () => clock(), idleMs: 200 });
  register(plane, 'acme', [{ actions: ['dynamodb:GetItem'], resources: ['arn:aws:dynamodb:{region}:{account}:table/shared-{tenant}'] }]);
  register(plane, 'bolt');
  endpoint = await plane.listen();
  acme = plane.issueCredentials('acme');
  bolt = plane.issueCredentials('bolt');
});

afterAll(async () => {
  await plane.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('DataPlane: credentials', () => {
  it('issues temporary credentials shaped like Lambda’s, different for each tenant', () => {
    expect(acme.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(acme.secretAccessKey.length).toBe(40);
    expect(acme.sessionToken.length).toBeGreaterThan(100);
    expect(bolt.accessKeyId).not.toBe(acme.accessKeyId);
    expect(bolt.secretAccessKey).not.toBe(acme.secretAccessKey);
  });

  it('lets a tenant read and write its own extension’s items in its own table', async () => {
    const db = documents(acme);
    await db.send(new PutCommand({ TableName: tableOf('acme'), Item: { pk: 'notes#1', sk: 'a', text: 'hello' } }));
    const got = await db.send(new GetCommand({ TableName: tableOf('acme'), Key: { pk: 'notes#1', sk: 'a' } }));
    expect(got.Item).toEqual({ pk: 'notes#1', sk: 'a', text: 'hello' });
    const queried = await db.send(new QueryCommand({ TableName: tableOf('acme'), KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'notes#1' } }));
    expect(queried.Items).toHaveLength(1);
  });

  it('denies another tenant’s table with IAM’s AccessDeniedException', async () => {
    const denied = await failure(documents(acme).send(new GetCommand({ TableName: tableOf('bolt'), Key: { pk: 'notes#1', sk: 'a' } })));
    expect(denied).toEqual({
      name: 'AccessDeniedException',
      message: `User: arn:aws:sts::${OFFLINE_ACCOUNT}:assumed-role/sovereign-dev-acme-runtime/sovereign-dev-acme is not authorized to perform: dynamodb:GetItem on resource: ${arnOf('bolt')} because no identity-based policy allows the dynamodb:GetItem action`,
    });
  });

  it('answers MissingAuthenticationTokenException to an unsigned request', async () => {
    const answer = await replay({ headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.GetItem' }, body: JSON.stringify({ TableName: tableOf('bolt'), Key: { pk: { S: 'notes#1' }, sk: { S: 'a' } } }) });
    expect(answer).toEqual({ status: 400, body: { __type: 'com.amazon.coral.service#MissingAuthenticationTokenException', message: 'Request is missing Authentication Token' } });
  });

  it('answers UnrecognizedClientException to a forged access key id, and to a right key with a wrong session token', async () => {
    const forged = { accessKeyId: 'ASIAAAAAAAAAAAAAAAAA', secretAccessKey: acme.secretAccessKey, sessionToken: acme.sessionToken };
    expect(await failure(raw(forged).send(new GetItemCommand({ TableName: tableOf('bolt'), Key: { pk: { S: 'notes#1' }, sk: { S: 'a' } } })))).toEqual({
      name: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    });
    const wrongToken = { ...acme, sessionToken: bolt.sessionToken };
    expect((await failure(raw(wrongToken).send(new GetItemCommand({ TableName: tableOf('acme'), Key: { pk: { S: 'notes#1' }, sk: { S: 'a' } } })))).name).toBe('UnrecognizedClientException');
  });

  it('answers InvalidSignatureException to a wrong secret', async () => {
    const wrong = { ...acme, secretAccessKey: bolt.secretAccessKey };
    const denied = await failure(raw(wrong).send(new GetItemCommand({ TableName: tableOf('acme'), Key: { pk: { S: 'notes#1' }, sk: { S: 'a' } } })));
    expect(denied.name).toBe('InvalidSignatureException');
    expect(denied.message).toMatch(/^The request signature we calculated does not match the signature you provided/);
  });

  it('answers InvalidSignatureException to a body changed after signing (own table signed, another tenant’s sent)', async () => {
    const { client } = capturing(acme, (body) => body.replace(tableOf('acme'), tableOf('bolt')));
    const denied = await failure(client.send(new GetItemCommand({ TableName: tableOf('acme'), Key: { pk: { S: 'notes#1' }, sk: { S: 'a' } } })));
    expect(denied.name).toBe('InvalidSignatureException');
  });

  it('refuses a replayed request once its date is out of the 15-minute window, in either direction', async () => {
    const { client, captured } = capturing(acme);
    await client.send(new GetItemCommand({ TableName: tableOf('acme'), Key: { pk: { S: 'notes#1' }, sk: { S: 'a' } } }));
    const signedAt = Date.now();
    expect((await replay(captured[0]!)).status).toBe(200);
    try {
      clock = () => new Date(signedAt + 16 * 60 * 1000);
      const stale = await replay(captured[0]!);
      expect(stale.status).toBe(400);
      expect(stale.body.__type).toBe('com.amazon.coral.service#InvalidSignatureException');
      expect(stale.body.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/);
      clock = () => new Date(signedAt - 16 * 60 * 1000);
      expect((await replay(captured[0]!)).body.message).toMatch(/^Signature not yet current: /);
    } finally {
      clock = () => new Date();
    }
  });

  it('answers UnrecognizedClientException once the key is revoked', async () => {
    const spare = plane.issueCredentials('acme');
    await documents(spare).send(new GetCommand({ TableName: tableOf('acme'), Key: { pk: 'notes#1', sk: 'a' } }));
    plane.revoke(spare.accessKeyId);
    expect((await failure(documents(spare).send(new GetCommand({ TableName: tableOf('acme'), Key: { pk: 'notes#1', sk: 'a' } })))).name).toBe('UnrecognizedClientException');
  });
});

describe('DataPlane: the tenant’s own policy', () => {
  it('denies writing sovereign’s own items (the API key records) in the tenant’s own table', async () => {
    const denied = await failure(documents(acme).send(new PutCommand({ TableName: tableOf('acme'), Item: { pk: '_sovereign#apikey#k1', sk: 'key', scopes: ['*'] } })));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain(`dynamodb:PutItem on resource: ${arnOf('acme')} because no identity-based policy allows`);
  });

  it('denies a batch that hides one sovereign item among the extension’s own, and an UpdateItem on the generation marker', async () => {
    const batch = await failure(
      documents(acme).send(
        new BatchWriteCommand({ RequestItems: { [tableOf('acme')]: [{ PutRequest: { Item: { pk: 'notes#ok', sk: 'a' } } }, { PutRequest: { Item: { pk: '_sovereign#apikey#k2', sk: 'key' } } }] } }),
      ),
    );
    expect(batch.name).toBe('AccessDeniedException');
    expect(batch.message).toContain('dynamodb:BatchWriteItem');
    const marker = await failure(
      documents(acme).send(new UpdateCommand({ TableName: tableOf('acme'), Key: { pk: '_sovereign', sk: 'generation' }, UpdateExpression: 'SET suspended = :f', ExpressionAttributeValues: { ':f': false } })),
    );
    expect(marker.name).toBe('AccessDeniedException');
    // The extension's own items are writable the same ways.
    await documents(acme).send(new UpdateCommand({ TableName: tableOf('acme'), Key: { pk: 'notes#ok', sk: 'a' }, UpdateExpression: 'SET n = :n', ExpressionAttributeValues: { ':n': 1 } }));
  });

  it('denies a Scan, which the runtime role is not granted', async () => {
    expect((await failure(raw(acme).send(new ScanCommand({ TableName: tableOf('acme') })))).message).toContain('dynamodb:Scan on resource');
  });

  it('denies a TransactWriteItems that touches another tenant’s table, naming that item', async () => {
    const denied = await failure(
      raw(acme).send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: tableOf('acme'), Item: { pk: { S: 'notes#2' }, sk: { S: 'a' } } } },
            { Delete: { TableName: tableOf('bolt'), Key: { pk: { S: 'notes#1' }, sk: { S: 'a' } } } },
          ],
        }),
      ),
    );
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain(`dynamodb:DeleteItem on resource: ${arnOf('bolt')}`);
  });

  it('denies a BatchWriteItem with one entry for another tenant’s table, and writes none of it', async () => {
    const denied = await failure(
      documents(acme).send(
        new BatchWriteCommand({
          RequestItems: {
            [tableOf('acme')]: [{ PutRequest: { Item: { pk: 'notes#batch', sk: 'a' } } }],
            [tableOf('bolt')]: [{ PutRequest: { Item: { pk: 'notes#batch', sk: 'a' } } }],
          },
        }),
      ),
    );
    expect(denied.name).toBe('AccessDeniedException');
    expect((await documents(acme).send(new GetCommand({ TableName: tableOf('acme'), Key: { pk: 'notes#batch', sk: 'a' } }))).Item).toBeUndefined();
  });

  it('authorises before it looks a table up: a table the policy names but nobody owns is ResourceNotFoundException, one it does not name AccessDeniedException', async () => {
    const key = { pk: { S: 'notes#1' }, sk: { S: 'a' } };
    expect((await failure(raw(acme).send(new GetItemCommand({ TableName: 'shared-acme', Key: key })))).name).toBe('ResourceNotFoundException');
    expect((await failure(raw(acme).send(new GetItemCommand({ TableName: 'shared-bolt', Key: key })))).name).toBe('AccessDeniedException');
  });
});

describe('DataPlane: stores', () => {
  it('opens a tenant’s store on first use and closes it after the idle time; the data stays', async () => {
    await documents(bolt).send(new PutCommand({ TableName: tableOf('bolt'), Item: { pk: 'notes#idle', sk: 'a' } }));
    expect(plane.storeOpen('bolt')).toBe(true);
    await new Promise((r) => setTimeout(r, 600));
    expect(plane.storeOpen('bolt')).toBe(false);
    const got = await documents(bolt).send(new GetCommand({ TableName: tableOf('bolt'), Key: { pk: 'notes#idle', sk: 'a' } }));
    expect(got.Item).toEqual({ pk: 'notes#idle', sk: 'a' });
  });

  it('keeps its data where `tenant offboard` reads it (`<data>/<tenant>/dynamodb`)', async () => {
    await documents(bolt).send(new PutCommand({ TableName: tableOf('bolt'), Item: { pk: 'notes#export', sk: 'a' } }));
    await plane.removeTenant('bolt');
    const { server, port } = await serveDynaliteStore(join(dir, 'bolt', 'dynamodb'));
    try {
      const direct = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }));
      expect((await direct.send(new GetCommand({ TableName: tableOf('bolt'), Key: { pk: 'notes#export', sk: 'a' } }))).Item).toBeDefined();
    } finally {
      await new Promise((r) => server.close(r));
    }
    // Removed: its credentials are gone with it.
    expect((await failure(documents(bolt).send(new GetCommand({ TableName: tableOf('bolt'), Key: { pk: 'notes#1', sk: 'a' } })))).name).toBe('UnrecognizedClientException');
  });

  it('answers InternalServerError, and stays up, while another process holds a tenant’s store', async () => {
    register(plane, 'held');
    const held = plane.issueCredentials('held');
    // Another process (an offboarding export, say) holds the store's leveldb lock: open once it has answered a call.
    const path = join(dir, 'held', 'dynamodb');
    mkdirSync(path, { recursive: true });
    const holder = spawn(process.execPath, ['-e', `const s = require('dynalite')({ path: ${JSON.stringify(path)}, createTableMs: 0 }); s.listen(0, '127.0.0.1', () => { const r = require('http').request({ host: '127.0.0.1', port: s.address().port, method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.ListTables', 'x-amz-date': '20200101T000000Z', authorization: 'AWS4-HMAC-SHA256 Credential=x/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0' } }, (res) => { res.resume(); res.on('end', () => process.stdout.write('ready\\n')); }); r.end('{}'); }); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.once('data', () => resolve());
        holder.once('exit', (code) => reject(new Error(`the holder exited (${code})`)));
      });
      const answer = await failure(documents(held).send(new GetCommand({ TableName: tableOf('held'), Key: { pk: 'notes#1', sk: 'a' } })));
      expect(answer.name).toBe('InternalServerError');
    } finally {
      const exited = new Promise((r) => holder.once('exit', r));
      holder.kill('SIGKILL');
      await exited;
    }
    const got = await documents(held).send(new GetCommand({ TableName: tableOf('held'), Key: { pk: 'notes#1', sk: 'a' } }));
    expect(got.Item).toBeUndefined();
  });

  it('opens a store again only after it has closed: requests straddling the idle close all succeed', async () => {
    const eager = new DataPlane({ region: REGION, account: OFFLINE_ACCOUNT, idleMs: 0 });
    register(eager, 'eager');
    const saved = endpoint;
    try {
      endpoint = await eager.listen();
      const db = documents(eager.issueCredentials('eager'));
      for (let i = 0; i < 60; i += 1) {
        await db.send(new PutCommand({ TableName: tableOf('eager'), Item: { pk: 'notes#n', sk: String(i) } }));
        await new Promise((r) => setTimeout(r, i % 5 === 0 ? 0 : 1));
      }
      const got = await db.send(new QueryCommand({ TableName: tableOf('eager'), KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'notes#n' } }));
      expect(got.Items).toHaveLength(60);
    } finally {
      endpoint = saved;
      await eager.close();
    }
  });
});
