/**
 * Offboarding round trip on the local target: the tenant's table (a real dynalite on its data
 * folder) exported to JSONL.gz, a final audit bundle, the tenant destroyed, a signed deletion
 * certificate that verifies — and fails on any flipped byte, of itself or of the export.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { describe, expect, it } from 'vitest';
import type { LifecycleEnv } from '../src/lifecycle/apply.js';
import { verifyCertificateBytes } from '../src/lifecycle/certificate.js';
import { exportLocalTable } from '../src/targets/local/export.js';
import { offboardTenant } from '../src/lifecycle/offboard.js';
import { verifyCertificateFile } from '../src/lifecycle/verify-certificate.js';
import { loadProject } from '../src/project.js';
import { TENANT_TABLE_KEY_SCHEMA } from '../src/runtime/table.js';
import { LocalState } from '../src/targets/local/state.js';
import { tenantTableName } from '../src/templates/names.js';
import { createDeployedTenant } from './helpers/tenants.js';

async function makeEnv(): Promise<LifecycleEnv> {
  const dir = join(mkdtempSync(join(tmpdir(), 'sovereign-offboard-')), 'proj');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'sovereign.config.json'), JSON.stringify({ project: 'proj' }));
  const project = await loadProject(dir);
  return { project, state: new LocalState(project), target: 'local' };
}

/** Writes items into the tenant's on-disk table the way its dev process keeps it. */
async function seedTable(env: LifecycleEnv, tenant: string, count: number): Promise<void> {
  const path = join(env.project.paths.data, tenant, 'dynamodb');
  mkdirSync(path, { recursive: true });
  const server = dynalite({ path, createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const client = new DynamoDBClient({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const table = tenantTableName('dev', tenant);
  await client.send(new CreateTableCommand({ TableName: table, BillingMode: 'PAY_PER_REQUEST', KeySchema: TENANT_TABLE_KEY_SCHEMA.KeySchema.map((k) => ({ ...k })), AttributeDefinitions: TENANT_TABLE_KEY_SCHEMA.AttributeDefinitions.map((a) => ({ ...a })) }));
  // dynalite makes the table ACTIVE on a timer, which a loaded machine can run after the first put.
  while ((await client.send(new DescribeTableCommand({ TableName: table }))).Table?.TableStatus !== 'ACTIVE') await new Promise((resolve) => setTimeout(resolve, 5));
  for (let i = 0; i < count; i += 1) {
    await client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: `orders#${i}` }, sk: { S: 'v1' }, total: { N: String(i * 10) } } }));
  }
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function flipByte(file: string, at: number): void {
  const bytes = readFileSync(file);
  bytes[at] = bytes[at]! ^ 0x01;
  writeFileSync(file, bytes);
}

describe('offboarding with retention', () => {
  it('exports, destroys, and signs a certificate that verifies and catches changed bytes', async () => {
    const env = await makeEnv();
    await createDeployedTenant(env.state, 'dev', { id: 'acme', tier: 'standard', extensions: [] });
    await seedTable(env, 'acme', 25);
    const out = join(env.project.root, 'retention');
    const steps: string[] = [];
    const result = await offboardTenant(env, { tenant: 'acme', outDir: out, reason: 'contract ended', onStep: (step) => steps.push(step) });
    expect(steps).toEqual(['offboarding', 'data exported', 'audit bundle', 'destroyed', 'certificate']);

    // The export holds every item as DynamoDB JSON.
    const lines = gunzipSync(readFileSync(result.dataExport.path)).toString('utf8').trim().split('\n');
    expect(lines).toHaveLength(25);
    expect(result.dataExport.items).toBe(25);
    const items = lines.map((line) => (JSON.parse(line) as { Item: { pk: { S: string }; total: { N: string } } }).Item);
    expect(items.map((i) => i.pk.S).sort()).toEqual(Array.from({ length: 25 }, (_, i) => `orders#${i}`).sort());
    expect(existsSync(result.auditBundle.path)).toBe(true);

    // Everything of the tenant is gone; the audit log tells the story in order.
    expect(await env.state.getTenant('acme')).toBeUndefined();
    for (const gone of [join(env.project.paths.data, 'acme'), join(env.project.paths.keys, 'acme.key'), join(env.project.paths.vault, 'acme.vault')]) expect(existsSync(gone)).toBe(false);
    const actions = readFileSync(env.project.paths.auditLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { action: string; outcome: string; args: Record<string, unknown> });
    expect(actions.filter((a) => a.outcome === 'success').map((a) => a.action).slice(-4)).toEqual(['tenant.offboard', 'audit.export', 'tenant.destroy', 'tenant.delete']);
    expect(actions.at(-1)!.args).toMatchObject({ from: 'offboarding', to: 'deleted', dataExportSha256: result.dataExport.sha256 });

    // The certificate verifies, names the export's hash and the transitions up to deletion.
    const check = verifyCertificateFile(result.certificate.path);
    expect(check).toMatchObject({ ok: true, tenant: 'acme', problems: [] });
    expect(check.retained).toEqual([
      { file: basename(result.dataExport.path), status: 'ok' },
      { file: basename(result.auditBundle.path), status: 'ok' },
    ]);
    const certificate = JSON.parse(readFileSync(result.certificate.path, 'utf8')) as { retained: { dataExport: { sha256: string } }; transitions: Array<{ to: string }>; deletedBy: string; reason: string };
    expect(certificate.retained.dataExport.sha256).toBe(result.dataExport.sha256);
    expect(certificate.transitions.map((t) => t.to)).toEqual(['provisioning', 'active', 'offboarding', 'deleted']);
    expect(certificate.reason).toBe('contract ended');

    // Any flipped byte of the certificate fails, whitespace included.
    const original = readFileSync(result.certificate.path);
    for (let at = 0; at < original.length; at += Math.max(1, Math.floor(original.length / 97))) {
      const copy = Buffer.from(original);
      copy[at] = copy[at]! ^ 0x01;
      expect(verifyCertificateBytes(copy).ok, `byte ${at}`).toBe(false);
    }
    // A flipped byte of the export fails the check of the retained files.
    flipByte(result.dataExport.path, 40);
    const after = verifyCertificateFile(result.certificate.path);
    expect(after.ok).toBe(false);
    expect(after.problems.join('\n')).toMatch(/does not match the SHA-256/);
  });

  it('refuses a deleted or unknown tenant and an illegal start, and exports an empty table', async () => {
    const env = await makeEnv();
    await expect(offboardTenant(env, { tenant: 'nobody' })).rejects.toMatchObject({ exitCode: 3 });
    await createDeployedTenant(env.state, 'dev', { id: 'globex', tier: 'basic', extensions: [] });
    const result = await offboardTenant(env, { tenant: 'globex', outDir: join(env.project.root, 'kept') });
    expect(result.dataExport.items).toBe(0);
    expect(gunzipSync(readFileSync(result.dataExport.path)).length).toBe(0);
    expect(verifyCertificateFile(result.certificate.path).ok).toBe(true);
    await expect(offboardTenant(env, { tenant: 'globex' })).rejects.toMatchObject({ exitCode: 3 });
  });

  it('a certificate signed by another key fails a pinned check', async () => {
    const env = await makeEnv();
    await createDeployedTenant(env.state, 'dev', { id: 'initech', tier: 'basic', extensions: [] });
    const result = await offboardTenant(env, { tenant: 'initech', outDir: join(env.project.root, 'kept') });
    const { generateKeyPairSync } = await import('node:crypto');
    const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const pinned = verifyCertificateFile(result.certificate.path, { pinnedKey: other });
    expect(pinned.ok).toBe(false);
    expect(pinned.problems).toContain('signed by another key than the pinned one');
  });

  it('waits for a process holding the tenant\'s store, and refuses with exit 4 when it does not let go', async () => {
    const env = await makeEnv();
    await createDeployedTenant(env.state, 'dev', { id: 'hooli', tier: 'basic', extensions: [] });
    await seedTable(env, 'hooli', 3);
    // A running tenant process holds its LevelDB store; here the test holds it.
    const holder = dynalite({ path: join(env.project.paths.data, 'hooli', 'dynamodb'), createTableMs: 0 });
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()));
    const probe = new DynamoDBClient({ endpoint: `http://127.0.0.1:${(holder.address() as AddressInfo).port}`, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const { ListTablesCommand } = await import('@aws-sdk/client-dynamodb');
    expect((await probe.send(new ListTablesCommand({}))).TableNames).toEqual([tenantTableName('dev', 'hooli')]);
    const record = (await env.state.getTenant('hooli'))!;
    await expect(exportLocalTable(env.project, record, join(env.project.root, 'refused'), { lockWaitMs: 300 })).rejects.toMatchObject({ exitCode: 4, message: expect.stringContaining('in use by another process') });
    probe.destroy();
    await new Promise<void>((resolve) => holder.close(() => resolve()));
    const exported = await exportLocalTable(env.project, record, join(env.project.root, 'after'));
    expect(exported.items).toBe(3);
  });
});
