/**
 * The dev data plane end to end, attacked from inside a tenant: a hostile extension enabled for
 * acme alone uses the credentials `sovereign dev` gave acme's process (the AWS SDK's default
 * chain, as on Lambda) against globex's table, forges credentials, and tries to load a native
 * library — through the real CLI, gateway and tenant processes.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, runCli } from './helpers/cli.js';
import { devTenantPids, killDev, startDevCli, type RunningDev } from './helpers/dev.js';
import { write } from './helpers/wait.js';

const SPY_MANIFEST = `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({
  name: 'spy',
  version: '1.0.0',
  description: 'A hostile extension: tries other tenants\\' data and native code',
  routes: [
    { method: 'GET', path: '/dynamo', handler: 'dynamo', auth: 'public' },
    { method: 'GET', path: '/native', handler: 'native', auth: 'public' },
    { method: 'GET', path: '/peek', handler: 'peek', auth: 'public' },
  ],
  permissions: [],
});
`;
// ?op=get|put|scan &table=… &pk=… &forge=1: one DynamoDB call with the process's own credentials
// (the SDK's default chain) or with forged ones; answers what DynamoDB said.
const DYNAMO = `import { randomBytes } from 'node:crypto';
import { DynamoDBClient, GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (request, ctx) => {
  const { op, table, pk, forge } = request.query;
  const credentials = forge ? { accessKeyId: 'ASIA' + randomBytes(8).toString('hex').toUpperCase(), secretAccessKey: randomBytes(30).toString('base64'), sessionToken: randomBytes(64).toString('base64') } : undefined;
  const client = new DynamoDBClient({ maxAttempts: 1, ...(credentials ? { credentials } : {}) });
  const Key = { pk: { S: String(pk) }, sk: { S: 'x' } };
  try {
    const command = op === 'put' ? new PutItemCommand({ TableName: table, Item: { ...Key, by: { S: ctx.tenant.id } } }) : op === 'scan' ? new ScanCommand({ TableName: table }) : new GetItemCommand({ TableName: table, Key });
    const answer = await client.send(command);
    return { ok: true, item: answer.Item ?? null, count: answer.Count ?? null, endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB };
  } catch (error) {
    return { ok: false, name: error.name, message: error.message };
  }
});
`;
// ?path=…: loads a native addon with process.dlopen and with require.
const NATIVE = `import { createRequire } from 'node:module';
import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (request) => {
  const path = String(request.query.path);
  const attempt = (load) => { try { load(); return { loaded: true }; } catch (error) { return { loaded: false, code: error.code ?? null, message: String(error.message).slice(0, 200) }; } };
  return {
    dlopen: attempt(() => process.dlopen({ exports: {} }, path)),
    require: attempt(() => createRequire(import.meta.url)(path)),
  };
});
`;

// ?path=…: reads a file (another tenant's process environment, where its credentials are).
const PEEK = `import { readFileSync } from 'node:fs';
import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (request) => {
  try {
    return { readable: true, hasKey: readFileSync(String(request.query.path), 'utf8').includes('AWS_SECRET_ACCESS_KEY=') };
  } catch (error) {
    return { readable: false, code: error.code };
  }
});
`;

let dir: string;
let running: RunningDev | undefined;
const pids = new Set<number>();
const env = { NO_COLOR: '1', SOVEREIGN_ACTOR: 'test@host', SOVEREIGN_LOCK_WAIT_MS: '5000', CI: '1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
const table = (tenant: string) => `sovereign-dev-${tenant}`;
const get = async (path: string) => (await (await fetch(`http://127.0.0.1:${running!.port}${path}`)).json()) as Record<string, unknown>;
const dynamo = (tenant: string, query: Record<string, string>) => get(`/t/${tenant}/spy/dynamo?${new URLSearchParams(query)}`);

beforeAll(async () => {
  dir = await makeProject();
  const configFile = join(dir, 'sovereign.config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(configFile, JSON.stringify({ ...config, defaults: { tier: 'standard', extensions: [] } }, null, 2));
  write(join(dir, 'extensions', 'spy', 'extension.ts'), SPY_MANIFEST);
  write(join(dir, 'extensions', 'spy', 'handlers', 'dynamo.ts'), DYNAMO);
  write(join(dir, 'extensions', 'spy', 'handlers', 'native.ts'), NATIVE);
  write(join(dir, 'extensions', 'spy', 'handlers', 'peek.ts'), PEEK);
  for (const id of ['acme', 'globex']) {
    const created = await runCli(['tenant', 'create', id, '--no-deploy'], { cwd: dir, env });
    expect(created.exitCode, created.stderr).toBe(0);
    // Enabled for both: globex's copy writes globex's own item, acme's is the attacker.
    const enabled = await runCli(['ext', 'enable', 'spy', '--tenant', id], { cwd: dir, env });
    expect(enabled.exitCode, enabled.stderr).toBe(0);
  }
  running = await startDevCli(dir, env);
  for (const pid of [running.pid, ...devTenantPids(dir)]) pids.add(pid);
}, 180_000);

afterAll(() => killDev(running, pids));

describe('sovereign dev data plane, attacked from a tenant', { timeout: 60_000 }, () => {
  it('serves a tenant its own table with the credentials dev issued it, on the data plane', async () => {
    expect(await dynamo('globex', { op: 'put', table: table('globex'), pk: 'spy#secret' })).toMatchObject({ ok: true });
    const own = await dynamo('acme', { op: 'put', table: table('acme'), pk: 'spy#mine' });
    expect(own).toMatchObject({ ok: true });
    expect(String(own.endpoint)).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await dynamo('acme', { op: 'get', table: table('acme'), pk: 'spy#mine' })).toMatchObject({ ok: true, item: { pk: { S: 'spy#mine' } } });
  });

  it('denies another tenant’s table with its own credentials: AccessDeniedException with IAM’s message', async () => {
    for (const op of ['get', 'put', 'scan']) {
      const answer = await dynamo('acme', { op, table: table('globex'), pk: 'spy#secret' });
      const action = { get: 'GetItem', put: 'PutItem', scan: 'Scan' }[op];
      expect(answer).toEqual({
        ok: false,
        name: 'AccessDeniedException',
        message: `User: arn:aws:sts::000000000000:assumed-role/sovereign-dev-acme-runtime/sovereign-dev-acme is not authorized to perform: dynamodb:${action} on resource: arn:aws:dynamodb:us-east-1:000000000000:table/${table('globex')} because no identity-based policy allows the dynamodb:${action} action`,
      });
    }
    // globex's item is as globex wrote it.
    expect(await dynamo('globex', { op: 'get', table: table('globex'), pk: 'spy#secret' })).toMatchObject({ ok: true, item: { pk: { S: 'spy#secret' }, by: { S: 'globex' } } });
  });

  it('refuses forged credentials with UnrecognizedClientException, on another tenant’s table and its own', async () => {
    for (const tenantTable of [table('globex'), table('acme')]) {
      expect(await dynamo('acme', { op: 'get', table: tenantTable, pk: 'spy#secret', forge: '1' })).toEqual({ ok: false, name: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
    }
  });

  it('cannot read another tenant’s credentials from its process environment', async () => {
    const state = JSON.parse(readFileSync(join(dir, '.sovereign', 'dev.json'), 'utf8')) as { tenants: Record<string, { pid: number }> };
    const peek = async (tenant: string, path: string) => get(`/t/${tenant}/spy/peek?path=${encodeURIComponent(path)}`);
    expect(await peek('acme', `/proc/${state.tenants.globex!.pid}/environ`)).toEqual({ readable: false, code: 'ERR_ACCESS_DENIED' });
    expect(await peek('acme', `/proc/${running!.pid}/environ`)).toEqual({ readable: false, code: 'ERR_ACCESS_DENIED' });
    expect(await peek('acme', '/proc/self/environ')).toEqual({ readable: false, code: 'ERR_ACCESS_DENIED' });
  });

  it('logs the denials on the dev event log without a credential in it', async () => {
    const log = running!.stderr();
    expect(log).toContain('data denied');
    expect(log).toContain('AccessDeniedException');
    const devState = readFileSync(join(dir, '.sovereign', 'dev.json'), 'utf8');
    expect(`${log}${devState}`).not.toMatch(/ASIA[A-Z2-7]{16}/);
  });

  it('cannot load a native addon, from the package’s modules or its own writable data folder', async () => {
    const addon = join(dirname(createRequire(import.meta.url).resolve('classic-level/package.json')), 'prebuilds', 'linux-x64', 'classic-level.node');
    const planted = join(dir, '.sovereign', 'data', 'acme', 'planted.node');
    copyFileSync(addon, planted);
    for (const path of [addon, planted]) {
      const answer = await get(`/t/acme/spy/native?path=${encodeURIComponent(path)}`);
      expect(answer.dlopen).toMatchObject({ loaded: false, code: 'ERR_DLOPEN_DISABLED' });
      expect(answer.require).toMatchObject({ loaded: false, code: 'ERR_DLOPEN_DISABLED' });
    }
  });
});
