/**
 * A vault file copied back over a newer one (someone with write access to the project folder
 * undoing a rotation): the real CLI refuses every command that opens it, `secrets check` names
 * the rollback (from the registry's record and from the audit log's), and the real tenant runtime
 * never serves the rotated-out value.
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config.js';
import { projectPaths, type Project } from '../src/project.js';
import { defineExtension, defineHandler } from '../src/runtime/extension.js';
import { createLambdaHandler } from '../src/runtime/handler.js';
import { openVault, readVaultKey } from '../src/runtime/secrets/vault.js';
import { webhookHeaders } from '../src/runtime/webhook.js';
import { webhookSecretReference } from '../src/contract/names.js';
import type { TenantRecord } from '../src/state/registry.js';
import { localTenantEnvironment } from '../src/targets/local/dev/launch.js';
import { startLocalTable, type LocalTable } from '../src/testing/dynalite.js';
import { apiGatewayEvent } from '../src/testing/events.js';
import { makeProject, runCli, snapshotTree, type CliResult } from './helpers/cli.js';

const OLD = `canary-old-${randomBytes(6).toString('hex')}`;
const NEW = `canary-new-${randomBytes(6).toString('hex')}`;
const REFERENCE = 'ssm:/dev/tenants/acme/vaulted/api_key';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const outputs: string[] = [];

async function cli(dir: string, args: string[], input?: string): Promise<CliResult> {
  const result = await runCli(args, { cwd: dir, ...(input === undefined ? {} : { input }) });
  outputs.push(result.stdout, result.stderr);
  return result;
}

async function ok(dir: string, args: string[], input?: string): Promise<CliResult> {
  const result = await cli(dir, args, input);
  expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result;
}

let dir: string;
let vaultFile: string;
let registryFile: string;
let oldCopy: string;
let newCopy: string;

beforeAll(async () => {
  dir = await makeProject();
  await ok(dir, ['ext', 'new', 'vaulted']);
  const manifest = join(dir, 'extensions', 'vaulted', 'extension.ts');
  writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('secrets: [],', "secrets: [{ key: 'api_key', description: 'API key' }],"));
  await ok(dir, ['tenant', 'create', 'acme', '--no-deploy']);
  await ok(dir, ['ext', 'enable', 'vaulted', '--tenant', 'acme']);
  await ok(dir, ['secrets', 'put', REFERENCE, '--tenant', 'acme', '--from-stdin'], OLD);
  await ok(dir, ['secrets', 'set', 'acme', 'vaulted.api_key', REFERENCE]);
  vaultFile = join(dir, '.sovereign', 'vault', 'acme.vault');
  registryFile = join(dir, '.sovereign', 'tenants', 'acme.json');
  oldCopy = join(dir, '..', 'acme.vault.old');
  newCopy = join(dir, '..', 'acme.vault.new');
  copyFileSync(vaultFile, oldCopy);
  await ok(dir, ['secrets', 'rotate', 'acme', 'vaulted.api_key', '--from-stdin'], NEW);
  copyFileSync(vaultFile, newCopy);
}, 120_000);

afterAll(() => {
  for (const text of outputs) {
    expect(text).not.toContain(OLD);
    expect(text).not.toContain(NEW);
  }
});

const header = (path: string) => JSON.parse(readFileSync(path, 'utf8').split('\n')[0]!) as { generation: number };
const registry = () => JSON.parse(readFileSync(registryFile, 'utf8')) as TenantRecord;

describe('a rolled-back vault through the CLI', { timeout: 120_000 }, () => {
  it('every write records the vault generation in the registry and in its audit event', () => {
    const recorded = registry().vaultGeneration;
    expect(recorded).toBe(header(newCopy).generation);
    expect(header(oldCopy).generation).toBeLessThan(recorded!);
    const events = readFileSync(join(dir, '.sovereign', 'audit', 'events.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(events.find((e) => e.action === 'tenant.create').args.vaultGenerations).toEqual({ acme: 1 });
    expect(events.findLast((e) => e.action === 'secret.rotate').args.vaultGenerations).toEqual({ acme: recorded });
  });

  it('is refused by every command that opens it, exit 1, with the rollback named and nothing written', async () => {
    copyFileSync(oldCopy, vaultFile);
    const before = snapshotTree(join(dir, '.sovereign', 'vault'));
    const registryBefore = readFileSync(registryFile, 'utf8');
    const commands: Array<[string[], string?]> = [
      [['secrets', 'list', 'acme']],
      [['secrets', 'history', 'acme', 'vaulted.api_key']],
      [['secrets', 'rotate', 'acme', 'vaulted.api_key', '--generate', '24']],
      [['secrets', 'rollback', 'acme', 'vaulted.api_key']],
      [['secrets', 'put', REFERENCE, '--tenant', 'acme', '--from-stdin'], 'another-value'],
      [['secrets', 'set', 'acme', 'vaulted.api_key', REFERENCE]],
      [['secrets', 'list', 'acme', '--json']],
    ];
    for (const [args, input] of commands) {
      const result = await cli(dir, args, input);
      expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBe(1);
      const error = result.stderr.split('\n').find((line) => line.startsWith('error: '));
      expect(error, args.join(' ')).toMatch(/is at generation \d+, older than generation \d+ recorded for tenant "acme": an older copy was put back/);
      expect(result.stderr, args.join(' ')).toMatch(/^hint: restore the newest copy of /m);
    }
    expect(snapshotTree(join(dir, '.sovereign', 'vault'))).toEqual(before);
    expect(readFileSync(registryFile, 'utf8')).toBe(registryBefore);
  });

  it('secrets check reports a rollback problem, in text and --json', async () => {
    copyFileSync(oldCopy, vaultFile);
    const text = await cli(dir, ['secrets', 'check', 'acme']);
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toMatch(/^rollback: the vault of tenant "acme" is at generation \d+, older than recorded \(\d+ in the registry, \d+ in the audit log\)/m);
    expect(text.stderr).toMatch(/^error: the vault of acme is rolled back/m);
    const json = await cli(dir, ['secrets', 'check', 'acme', '--json']);
    expect(json.exitCode).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      tenant: 'acme', ok: false,
      problems: [{ code: 'rollback', generation: header(oldCopy).generation, recorded: header(newCopy).generation, recordedIn: ['registry', 'audit log'] }],
    });
  });

  it('with the registry\'s record edited back too, check still finds the rollback in the audit log', async () => {
    copyFileSync(oldCopy, vaultFile);
    const original = readFileSync(registryFile, 'utf8');
    try {
      writeFileSync(registryFile, JSON.stringify({ ...registry(), vaultGeneration: header(oldCopy).generation }, null, 2));
      const json = await cli(dir, ['secrets', 'check', 'acme', '--json']);
      expect(json.exitCode).toBe(1);
      expect(JSON.parse(json.stdout).problems).toMatchObject([{ code: 'rollback', recordedIn: ['audit log'] }]);
    } finally {
      writeFileSync(registryFile, original);
    }
  });

  it('the newest copy put back is accepted again', async () => {
    copyFileSync(newCopy, vaultFile);
    await ok(dir, ['secrets', 'check', 'acme']);
    const history = JSON.parse((await ok(dir, ['secrets', 'history', 'acme', 'vaulted.api_key', '--json'])).stdout);
    expect(history.versions ?? history).toHaveLength(2);
  });
});

describe('a rolled-back vault in the tenant runtime', { timeout: 120_000 }, () => {
  let table: LocalTable;
  beforeAll(async () => {
    table = await startLocalTable('sovereign-dev-acme');
  });
  afterAll(async () => {
    await table.close();
    copyFileSync(newCopy, vaultFile);
  });

  const extension = defineExtension({
    name: 'vaulted', version: '1.0.0', description: 'reads its secret',
    // Public: this test is about the vault the runtime reads, not about its callers (test/runtime-auth.test.ts).
    routes: [{ method: 'GET', path: '/read', handler: 'read', auth: 'public' }],
    secrets: [{ key: 'api_key', description: 'API key' }],
  });
  const read = defineHandler(async (_request, ctx) => ({ sha256: sha(await ctx.secrets.get('api_key')) }));

  /** The runtime as `sovereign dev` starts it: the launcher's environment for the tenant's current record. */
  function startRuntime(overrides: Record<string, string | undefined> = {}) {
    const config = configSchema.parse(JSON.parse(readFileSync(join(dir, 'sovereign.config.json'), 'utf8')));
    const project: Project = { root: dir, config, paths: projectPaths(dir) };
    const env = { ...localTenantEnvironment(project, registry(), { sha256: 'a'.repeat(64), entry: join(dir, 'unused.mjs') }, { SOVEREIGN_SECRET_TTL_MS: '1' }), ...overrides };
    for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
    return createLambdaHandler([{ name: 'vaulted', load: async () => ({ manifest: extension, handlers: { read: { handler: read } } }) }], {
      env: env as Record<string, string>,
      aws: { documentClient: table.client },
      write: () => undefined,
    });
  }

  const served = async (handler: ReturnType<typeof startRuntime>) => {
    const result = await handler(apiGatewayEvent('GET', '/vaulted/read'), {});
    return { status: result.statusCode, sha256: result.statusCode === 200 ? (JSON.parse(result.body) as { sha256: string }).sha256 : undefined };
  };

  it('started on an older copy than the registry records, it refuses to serve it', async () => {
    copyFileSync(oldCopy, vaultFile);
    const handler = startRuntime();
    const result = await served(handler);
    expect(result.sha256).not.toBe(sha(OLD));
    expect(result.status).toBe(503);
  });

  it('running on the newest vault, it refuses an older copy put back while it runs (even without a recorded floor)', async () => {
    copyFileSync(newCopy, vaultFile);
    const handler = startRuntime({ SOVEREIGN_VAULT_MIN_GENERATION: undefined });
    expect(await served(handler)).toEqual({ status: 200, sha256: sha(NEW) });
    copyFileSync(oldCopy, vaultFile);
    // Past the 1 ms TTL each time: the runtime re-reads the vault (in the background, then served).
    for (let i = 0; i < 3; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await served(handler)).sha256).not.toBe(sha(OLD));
    }
  });

  it('told of a rotation by the signed notice before reading the newer vault, it refuses the older copy put back afterwards', async () => {
    // Running since before the rotation, on the vault as it was then, with the floor recorded then.
    copyFileSync(oldCopy, vaultFile);
    const handler = startRuntime({ SOVEREIGN_VAULT_MIN_GENERATION: String(header(oldCopy).generation), SOVEREIGN_SECRET_TTL_MS: '600000' });
    const secret = openVault(vaultFile, readVaultKey(join(dir, '.sovereign', 'keys', 'acme.key')), 'acme').readSecret(webhookSecretReference('dev', 'acme'));
    let sent = 0;
    const notify = async (vaultGeneration: number) => {
      const body = JSON.stringify({ tenant: 'acme', references: [REFERENCE], generation: sent + 1, vaultGeneration });
      const headers = { 'content-type': 'application/json', ...webhookHeaders(secret, `msg_rollback${(sent += 1)}`, body, Date.now()) };
      return handler(apiGatewayEvent('POST', '/_sovereign/webhooks/rotation', { body, headers }), {});
    };
    expect(await served(handler)).toEqual({ status: 200, sha256: sha(OLD) });
    // An earlier notice: the webhook secret is cached from now on, so later notices read no vault.
    expect((await notify(header(oldCopy).generation)).statusCode).toBe(200);
    // The rotation writes the newer vault and its notice arrives; the runtime serves no request in between.
    copyFileSync(newCopy, vaultFile);
    expect((await notify(registry().vaultGeneration!)).statusCode).toBe(200);
    copyFileSync(oldCopy, vaultFile);
    const result = await served(handler);
    expect(result.sha256).not.toBe(sha(OLD));
    expect(result.status).toBe(503);
  });
});
