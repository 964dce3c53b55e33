/**
 * `sovereign secrets …` end to end on the local target: the real CLI in temporary projects, the
 * tenant vaults on disk, a loopback HTTP server standing in for the tenant runtime's rotation
 * webhook. Canary values are planted everywhere and looked for in every output and file.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openVault, readVaultKey, STAGE_PENDING } from '../src/runtime/secrets/vault.js';
import { openWritableVault } from '../src/targets/local/vault-writer.js';
import { verifyWebhook } from '../src/runtime/webhook.js';
import { cliPath, makeProject, repoRoot, snapshotTree, type CliResult } from './helpers/cli.js';

const CANARY = `canary-${randomBytes(6).toString('hex')}`;
const outputs: string[] = [];

/** Runs the real CLI (`bin/sovereign.js` over `dist/`) and keeps its output for the canary check. */
async function secretsCli(args: string[], options: { cwd: string; input?: string }): Promise<CliResult> {
  const result = await execa('node', [cliPath, ...args], {
    cwd: options.cwd,
    env: { NO_COLOR: '1', SOVEREIGN_ACTOR: 'test@host', SOVEREIGN_LOCK_WAIT_MS: '20000' },
    reject: false,
    timeout: 60_000,
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
  });
  const out = { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
  outputs.push(out.stdout, out.stderr);
  return out;
}

afterAll(() => {
  // Every stdout and stderr of every command in this file.
  for (const text of outputs) expect(text).not.toContain(CANARY);
});

async function project(tenants: string[], config: Record<string, unknown> = {}): Promise<string> {
  const dir = await makeProject();
  const file = join(dir, 'sovereign.config.json');
  const current = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...current, extensionsDir: join(repoRoot, 'extensions'), ...config }, null, 2));
  for (const tenant of tenants) {
    await ok(['tenant', 'create', tenant, '--no-deploy'], { cwd: dir });
  }
  return dir;
}

/** The state files that matter: `.sovereign/` without the config cache (rewritten when the tool is rebuilt). */
function stateSnapshot(dir: string): Record<string, string> {
  return Object.fromEntries(Object.entries(snapshotTree(join(dir, '.sovereign'))).filter(([path]) => !path.startsWith('cache')));
}

/** Runs a setup step and fails with its stderr when it does not succeed. */
async function ok(args: string[], options: { cwd: string; input?: string }): Promise<CliResult> {
  const result = await secretsCli(args, options);
  expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result;
}

function filesWithout(dir: string, needle: string): void {
  const walk = (d: string) => {
    for (const name of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, name.name);
      if (name.isDirectory()) walk(path);
      else expect(readFileSync(path).includes(needle), `${path} contains the canary`).toBe(false);
    }
  };
  walk(join(dir, '.sovereign'));
}

function auditEvents(dir: string): Array<{ action: string; outcome: string; args: Record<string, unknown>; tenant: string | null }> {
  return readFileSync(join(dir, '.sovereign', 'audit', 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

const LK = 'secretsmanager:dev/tenants/acme/avalara:license_key';

describe('secrets on the local vault', { timeout: 120_000 }, () => {
  let dir: string;

  beforeAll(async () => {
    dir = await project(['acme', 'acme-eu', 'globex']);
  });

  it('the command table offers every secrets verb', async () => {
    const help = await secretsCli(['secrets', '--help'], { cwd: dir });
    expect(help.exitCode).toBe(0);
    for (const verb of ['set', 'put', 'list', 'check', 'history', 'rotate', 'rollback']) expect(help.stdout).toMatch(new RegExp(`^  ${verb} `, 'm'));
  });

  it('puts, maps, lists, checks, rotates and rolls back without a value ever leaving the vault', { timeout: 120_000 }, async () => {
    const put = await secretsCli(['secrets', 'put', 'secretsmanager:dev/tenants/acme/avalara', '--tenant', 'acme', '--from-stdin', '--json'], {
      cwd: dir, input: `${JSON.stringify({ license_key: `${CANARY}-1`, account_id: 'acct-7' })}\n`,
    });
    expect(put.exitCode, put.stderr).toBe(0);
    const stored = JSON.parse(put.stdout);
    expect(stored).toMatchObject({ tenant: 'acme', target: 'secretsmanager:dev/tenants/acme/avalara', outcome: 'created', source: 'stdin' });

    const set = await secretsCli(['secrets', 'set', 'acme', 'avalara.license_key', LK, '--json'], { cwd: dir });
    expect(set.exitCode, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ tenant: 'acme', mapping: 'avalara.license_key', reference: LK, setBy: 'test@host' });
    const record = JSON.parse(readFileSync(join(dir, '.sovereign', 'tenants', 'acme.json'), 'utf8'));
    expect(record.secrets['avalara.license_key']).toMatchObject({ reference: LK, setBy: 'test@host' });

    const list = await secretsCli(['secrets', 'list', 'acme', '--json'], { cwd: dir });
    expect(JSON.parse(list.stdout)).toEqual({
      tenant: 'acme',
      secrets: [expect.objectContaining({ mapping: 'avalara.license_key', reference: LK, versionId: stored.versionId, status: 'ok', lastRotatedBy: 'test@host' })],
    });
    expect((await secretsCli(['secrets', 'check', 'acme'], { cwd: dir })).exitCode).toBe(0);

    const rotate = await secretsCli(['secrets', 'rotate', 'acme', 'avalara.license_key', '--from-stdin', '--json'], { cwd: dir, input: `${CANARY}-2` });
    expect(rotate.exitCode, rotate.stderr).toBe(0);
    const rotated = JSON.parse(rotate.stdout);
    expect(rotated).toMatchObject({ outcome: 'rotated', previousVersionId: stored.versionId, runtime: { webhook: null } });
    expect(rotated.runtime.summary).toMatch(/generation marker within about 1 s/);

    const key = readVaultKey(join(dir, '.sovereign', 'keys', 'acme.key'));
    const vault = () => openWritableVault(join(dir, '.sovereign', 'vault', 'acme.vault'), key, 'acme');
    expect(vault().readSecret(LK)).toBe(`${CANARY}-2`);
    // Rotating one JSON key keeps the others.
    expect(vault().readSecret('secretsmanager:dev/tenants/acme/avalara:account_id')).toBe('acct-7');
    expect(vault().readSecret(`${LK}:AWSPREVIOUS`)).toBe(`${CANARY}-1`);

    const generation = JSON.parse(readFileSync(join(dir, '.sovereign', 'data', 'acme', 'generation.json'), 'utf8'));
    expect(generation.changes.at(-1).references).toEqual(['secretsmanager:dev/tenants/acme/avalara']);

    const history = await secretsCli(['secrets', 'history', 'acme', 'avalara.license_key', '--json'], { cwd: dir });
    expect(JSON.parse(history.stdout).versions.map((v: { labels: string[] }) => v.labels)).toEqual([['AWSCURRENT'], ['AWSPREVIOUS']]);

    const rollback = await secretsCli(['secrets', 'rollback', 'acme', 'avalara.license_key', '--json'], { cwd: dir });
    expect(rollback.exitCode, rollback.stderr).toBe(0);
    expect(JSON.parse(rollback.stdout)).toMatchObject({ versionId: stored.versionId, rolledBackVersionId: rotated.versionId });
    expect(vault().readSecret(LK)).toBe(`${CANARY}-1`);

    // A retried rotation with the value already current changes nothing.
    const again = await secretsCli(['secrets', 'rotate', 'acme', 'avalara.license_key', '--from-stdin', '--json'], { cwd: dir, input: `${CANARY}-1` });
    expect(JSON.parse(again.stdout).outcome).toBe('unchanged');

    // `put` to a JSON key: a new secret holds { key: value }; an existing one keeps its other keys.
    await ok(['secrets', 'put', 'secretsmanager:dev/tenants/acme/cetec:api_token', '--tenant', 'acme', '--from-stdin'], { cwd: dir, input: `${CANARY}-t1` });
    await ok(['secrets', 'put', 'secretsmanager:dev/tenants/acme/cetec:base_url', '--tenant', 'acme', '--from-stdin'], { cwd: dir, input: 'https://erp.example' });
    expect(JSON.parse(vault().readSecret('secretsmanager:dev/tenants/acme/cetec'))).toEqual({ api_token: `${CANARY}-t1`, base_url: 'https://erp.example' });

    const events = auditEvents(dir).filter((event) => event.action.startsWith('secret.'));
    expect(events.map((event) => [event.action, event.outcome])).toEqual([
      ['secret.put', 'success'], ['secret.set', 'success'], ['secret.rotate', 'success'], ['secret.rollback', 'success'], ['secret.rotate', 'success'],
      ['secret.put', 'success'], ['secret.put', 'success'],
    ]);
    expect(events[2]?.args).toMatchObject({ reference: LK, versionId: rotated.versionId, previousVersionId: stored.versionId });
    filesWithout(dir, CANARY);
  });

  it('refuses values on argv and every invalid value source, storing nothing', { timeout: 120_000 }, async () => {
    const before = stateSnapshot(dir);
    for (const args of [
      ['secrets', 'put', 'ssm:/dev/tenants/acme/x', '--tenant', 'acme', CANARY],
      ['secrets', 'put', 'ssm:/dev/tenants/acme/x', '--tenant', 'acme', `--value=${CANARY}`],
      ['secrets', 'put', 'ssm:/dev/tenants/acme/x', '--tenant', 'acme', '--secret', CANARY],
      ['secrets', 'rotate', 'acme', 'avalara.license_key', CANARY],
      ['secrets', 'put', 'ssm:/dev/tenants/acme/x', '--tenant', 'acme'],
      ['secrets', 'put', 'ssm:/dev/tenants/acme/x', '--tenant', 'acme', '--generate', '8'],
      ['secrets', 'put', 'ssm:/dev/tenants/acme/x', '--tenant', 'acme', '--generate', '20', '--from-stdin'],
      ['secrets', 'put', 'ssm:/dev/tenants/acme/x', '--tenant', 'acme', '--from-file', join(dir, 'missing.txt')],
    ]) {
      const result = await secretsCli(args, { cwd: dir });
      expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(/^error: /m);
    }
    expect(stateSnapshot(dir)).toEqual(before);
  });

  it('refuses a value on argv even with a valid value on stdin: nothing stored, nothing audited, nothing echoed', { timeout: 120_000 }, async () => {
    const argvValue = `${CANARY}-argv`;
    const before = stateSnapshot(dir);
    const eventsBefore = auditEvents(dir).length;
    for (const args of [
      ['secrets', 'put', 'ssm:/dev/tenants/acme/argv', '--tenant', 'acme', '--from-stdin', argvValue],
      ['secrets', 'put', 'ssm:/dev/tenants/acme/argv', '--tenant', 'acme', '--from-stdin', `--value=${argvValue}`],
      ['secrets', 'put', 'ssm:/dev/tenants/acme/argv', '--tenant', 'acme', '--from-stdin', '--value', argvValue],
      ['secrets', 'rotate', 'acme', 'avalara.license_key', '--from-stdin', argvValue],
    ]) {
      const result = await secretsCli(args, { cwd: dir, input: `${CANARY}-stdin` });
      expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(/^error: a secret value on the command line is refused/m);
      expect(`${result.stdout}${result.stderr}`).not.toContain(argvValue);
    }
    // No vault write, no history entry, no audit event: the state files are byte for byte the same.
    expect(stateSnapshot(dir)).toEqual(before);
    expect(auditEvents(dir)).toHaveLength(eventsBefore);
    const vault = openVault(join(dir, '.sovereign', 'vault', 'acme.vault'), readVaultKey(join(dir, '.sovereign', 'keys', 'acme.key')), 'acme');
    expect(vault.listNames()).not.toContain('ssm:/dev/tenants/acme/argv');
    filesWithout(dir, `${CANARY}-stdin`);
  });

  const adversarial = [
    // other tenants, prefix tricks
    'secretsmanager:dev/tenants/acme-eu/avalara:license_key', 'ssm:/dev/tenants/acme-eu/avalara/license_key', 'ssm:/dev/tenants/globex/avalara/x',
    'secretsmanager:dev/tenants/acmeeu/avalara', 'ssm:/dev/tenants/acme', 'secretsmanager:dev/tenants/acme', 'ssm:/prod/tenants/acme/avalara/x',
    'ssm:/dev/tenants/ACME/avalara/x', 'secretsmanager:Dev/tenants/acme/avalara', 'ssm:/dev/Tenants/acme/x', 'secretsmanager:avalara-acme-secrets:license_key',
    // traversal and malformed paths
    'ssm:/dev/tenants/acme/../globex/x', 'ssm:/dev/tenants/acme/./x', 'ssm:/dev/tenants//acme/x', 'ssm:/dev/tenants/acme//x', 'ssm:/dev/tenants/acme/x/',
    'secretsmanager:/dev/tenants/acme/avalara', 'secretsmanager:dev/tenants/acme/avalara/', 'ssm:dev/tenants/acme/x', 'secretsmanager:dev/tenants/acme/..',
    // wildcards
    'ssm:/dev/tenants/*/x', 'ssm:/dev/tenants/acme/*', 'secretsmanager:dev/tenants/acme/avalara?', 'secretsmanager:dev/tenants/*:license_key',
    // ARNs, also of other accounts
    'ssm:arn:aws:ssm:eu-west-1:999999999999:parameter/dev/tenants/acme/x', 'secretsmanager:arn:aws:secretsmanager:eu-west-1:999999999999:secret:dev/tenants/acme/avalara-AbCdEf',
    'arn:aws:secretsmanager:us-east-1:111111111111:secret:dev/tenants/acme/avalara', 'secretsmanager:arn:aws-cn:secretsmanager:cn-north-1:1:secret:x',
    // encodings and look-alikes
    'ssm:/dev/tenants/acme/%2e%2e/globex/x', 'ssm:/dev/tenants/acme%2Fx', 'secretsmanager:dev%2Ftenants%2Facme%2Favalara', 'ssm:/dev/tenants/\u0430cme/x',
    'ssm:/dev/tenants/acm\u0435/x', 'secretsmanager:dev/tenants/\uff41cme/avalara', 'ssm:/dev/tenants/acme\u200b/x', 'ssm:/dev/tenants/acme/x\u0007',
    'ssm:/dev/tenants/acme/x\n', 'ssm: /dev/tenants/acme/x', 'ssm:/dev/tenants/acme/x y',
    // grammar and reserved names
    'SSM:/dev/tenants/acme/x', 'vault:acme/x', '', 'secretsmanager:dev/tenants/acme/avalara:license_key:AWSCURRENT:1', 'secretsmanager:dev/tenants/acme/avalara:',
    'ssm:/dev/tenants/acme/x:3', 'ssm:/aws/reference/secretsmanager/x', 'secretsmanager:dev/tenants/acme/avalara-AbC123',
    'ssm:/dev/tenants/acme/_sovereign/webhook_secret', CANARY,
  ];

  it(`refuses ${adversarial.length} adversarial references with exit 2 and stores nothing`, { timeout: 240_000 }, async () => {
    expect(adversarial.length).toBeGreaterThanOrEqual(40);
    const before = stateSnapshot(dir);
    const results: Array<[string, number, string]> = [];
    for (let i = 0; i < adversarial.length; i += 8) {
      const batch = adversarial.slice(i, i + 8);
      results.push(...await Promise.all(batch.map(async (reference) => {
        const set = await secretsCli(['secrets', 'set', 'acme', 'avalara.license_key', reference], { cwd: dir });
        return [reference, set.exitCode, set.stderr] as [string, number, string];
      })));
    }
    for (const [reference, exitCode, stderr] of results) {
      expect(exitCode, `${JSON.stringify(reference)} → ${stderr}`).toBe(2);
      expect(stderr).toMatch(/^error: /m);
    }
    // Through `put` too, with a canary value on stdin: nothing lands in any vault.
    for (const reference of adversarial.slice(0, 12)) {
      const put = await secretsCli(['secrets', 'put', reference, '--tenant', 'acme', '--from-stdin'], { cwd: dir, input: CANARY });
      expect(put.exitCode, `${JSON.stringify(reference)} → ${put.stderr}`).toBe(2);
    }
    expect(stateSnapshot(dir)).toEqual(before);
  });

  it('validates in order: extension key declared, then the target and its JSON key exist', { timeout: 120_000 }, async () => {
    const undeclared = await secretsCli(['secrets', 'set', 'acme', 'avalara.nope', LK], { cwd: dir });
    expect([undeclared.exitCode, undeclared.stderr]).toEqual([2, expect.stringContaining('declares no secret "nope"')]);
    const noExtension = await secretsCli(['secrets', 'set', 'acme', 'nothere.key', 'ssm:/dev/tenants/acme/nothere/key'], { cwd: dir });
    expect(noExtension.exitCode).toBe(3);
    const missing = await secretsCli(['secrets', 'set', 'acme', 'cetec.api_token', 'ssm:/dev/tenants/acme/cetec/api_token'], { cwd: dir });
    expect([missing.exitCode, missing.stderr]).toEqual([3, expect.stringContaining('hint: store a value first')]);
    const noKey = await secretsCli(['secrets', 'set', 'acme', 'avalara.account_id', 'secretsmanager:dev/tenants/acme/avalara:nope'], { cwd: dir });
    expect([noKey.exitCode, noKey.stderr]).toEqual([3, expect.stringContaining('has no such JSON key')]);
    // The JSON key typed is not repeated: it could be a value pasted where the key belongs.
    expect(noKey.stderr).not.toContain('nope');
  });
});

describe('a damaged vault', { timeout: 120_000 }, () => {
  it('a wrong key: clear error, exit 5, nothing overwritten', async () => {
    const dir = await project(['acme']);
    await ok(['secrets', 'put', 'ssm:/dev/tenants/acme/cetec/api_token', '--tenant', 'acme', '--from-stdin'], { cwd: dir, input: CANARY });
    await ok(['secrets', 'set', 'acme', 'cetec.api_token', 'ssm:/dev/tenants/acme/cetec/api_token'], { cwd: dir });
    writeFileSync(join(dir, '.sovereign', 'keys', 'acme.key'), randomBytes(32), { mode: 0o600 });
    const vaultFile = join(dir, '.sovereign', 'vault', 'acme.vault');
    const before = readFileSync(vaultFile);

    const rotate = await secretsCli(['secrets', 'rotate', 'acme', 'cetec.api_token', '--generate', '32'], { cwd: dir });
    expect(rotate.exitCode).toBe(5);
    expect(rotate.stderr).toMatch(/error: the vault of tenant "acme" is encrypted under another key/);
    const check = await secretsCli(['secrets', 'check', 'acme', '--json'], { cwd: dir });
    expect(check.exitCode).toBe(1);
    // One JSON document, even though the command fails after its report.
    expect(JSON.parse(check.stdout)).toMatchObject({ tenant: 'acme', ok: false, secrets: [expect.objectContaining({ mapping: 'cetec.api_token', status: 'denied' })] });
    expect(readFileSync(vaultFile).equals(before)).toBe(true);
    expect(auditEvents(dir).at(-1)).toMatchObject({ action: 'secret.rotate', outcome: 'failure' });
  });

  it('a corrupted file: clear error, nothing overwritten', async () => {
    const dir = await project(['acme']);
    await ok(['secrets', 'put', 'ssm:/dev/tenants/acme/cetec/api_token', '--tenant', 'acme', '--from-stdin'], { cwd: dir, input: CANARY });
    await ok(['secrets', 'set', 'acme', 'cetec.api_token', 'ssm:/dev/tenants/acme/cetec/api_token'], { cwd: dir });
    const vaultFile = join(dir, '.sovereign', 'vault', 'acme.vault');
    const header = JSON.parse(readFileSync(vaultFile, 'utf8'));
    const data = Buffer.from(header.data, 'base64');
    data[5] = (data[5] ?? 0) ^ 0xff;
    const damaged = `${JSON.stringify({ ...header, data: data.toString('base64') })}\n`;
    writeFileSync(vaultFile, damaged);

    for (const args of [['secrets', 'rotate', 'acme', 'cetec.api_token', '--generate', '32'], ['secrets', 'rollback', 'acme', 'cetec.api_token']]) {
      const result = await secretsCli(args, { cwd: dir });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(/is corrupted \(authentication failed\); it was left untouched/);
    }
    const put = await secretsCli(['secrets', 'put', 'ssm:/dev/tenants/acme/other', '--tenant', 'acme', '--from-stdin'], { cwd: dir, input: CANARY });
    expect(put.exitCode).toBe(1);
    expect(readFileSync(vaultFile, 'utf8')).toBe(damaged);
  });
});

describe('an interrupted rotation', { timeout: 120_000 }, () => {
  it('is detected, refused for another value, then resumed or aborted', async () => {
    const dir = await project(['acme']);
    const ref = 'ssm:/dev/tenants/acme/cetec/api_token';
    await ok(['secrets', 'put', ref, '--tenant', 'acme', '--from-stdin'], { cwd: dir, input: `${CANARY}-a` });
    await ok(['secrets', 'set', 'acme', 'cetec.api_token', ref], { cwd: dir });
    // What a rotation killed after storing its pending version leaves behind.
    const vault = openWritableVault(join(dir, '.sovereign', 'vault', 'acme.vault'), readVaultKey(join(dir, '.sovereign', 'keys', 'acme.key')), 'acme');
    vault.putVersion(ref, `${CANARY}-b`, { by: 'test', labels: [STAGE_PENDING], versionId: 'pending-1' });

    const other = await secretsCli(['secrets', 'rotate', 'acme', 'cetec.api_token', '--from-stdin'], { cwd: dir, input: `${CANARY}-c` });
    expect(other.exitCode).toBe(4);
    expect(other.stderr).toMatch(/was interrupted: version pending-1 is still AWSPENDING/);
    expect(other.stderr).toMatch(/--resume.*--abort/);

    const resumed = await secretsCli(['secrets', 'rotate', 'acme', 'cetec.api_token', '--resume', '--json'], { cwd: dir });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ outcome: 'resumed', versionId: 'pending-1' });
    vault.refresh();
    expect(vault.readSecret(ref)).toBe(`${CANARY}-b`);

    vault.putVersion(ref, `${CANARY}-d`, { by: 'test', labels: [STAGE_PENDING], versionId: 'pending-2' });
    const aborted = await secretsCli(['secrets', 'rotate', 'acme', 'cetec.api_token', '--abort', '--json'], { cwd: dir });
    expect(JSON.parse(aborted.stdout)).toMatchObject({ outcome: 'aborted', versionId: 'pending-1' });
    vault.refresh();
    expect(vault.readSecret(ref)).toBe(`${CANARY}-b`);
    expect(vault.history(ref).flatMap((version) => version.labels)).not.toContain(STAGE_PENDING);
  });
});

describe('the rotation webhook', { timeout: 120_000 }, () => {
  let server: Server | undefined;
  afterAll(() => server?.close());

  it('is signed, names the references only, and its acknowledgement is reported', async () => {
    const dir = await project(['acme']);
    const ref = 'ssm:/dev/tenants/acme/cetec/api_token';
    await ok(['secrets', 'put', ref, '--tenant', 'acme', '--from-stdin'], { cwd: dir, input: `${CANARY}-1` });
    await ok(['secrets', 'set', 'acme', 'cetec.api_token', ref], { cwd: dir });
    const vault = openWritableVault(join(dir, '.sovereign', 'vault', 'acme.vault'), readVaultKey(join(dir, '.sovereign', 'keys', 'acme.key')), 'acme');
    const secret = vault.readSecret('ssm:/dev/tenants/acme/_sovereign/webhook_secret');

    const received: Array<{ url: string; body: string; verified: boolean }> = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      req.on('end', () => {
        let verified = false;
        try {
          verifyWebhook({ secret, headers: req.headers as Record<string, string>, body });
          verified = true;
        } catch {
          verified = false;
        }
        received.push({ url: req.url ?? '', body, verified });
        res.writeHead(verified ? 200 : 401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ invalidated: 1, receivedAt: new Date().toISOString() }));
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    writeFileSync(join(dir, '.sovereign', 'dev.json'), JSON.stringify({ pid: process.pid, port, startedAt: new Date().toISOString(), tenants: { acme: { pid: null, pids: [], status: 'idle', artifact: null } } }));

    const rotate = await secretsCli(['secrets', 'rotate', 'acme', 'cetec.api_token', '--from-stdin', '--json'], { cwd: dir, input: `${CANARY}-2` });
    expect(rotate.exitCode, rotate.stderr).toBe(0);
    const result = JSON.parse(rotate.stdout);
    expect(result.runtime.webhook).toMatchObject({ delivered: true, acknowledged: true, status: 200, invalidated: 1 });
    expect(result.runtime.webhook.propagationMs).toEqual(expect.any(Number));
    expect(result.runtime.summary).toMatch(/acknowledged the rotation in \d+ ms/);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ url: '/t/acme/_sovereign/webhooks/rotation', verified: true });
    // The notice carries the vault generation the registry recorded with the rotation.
    const recorded = JSON.parse(readFileSync(join(dir, '.sovereign', 'tenants', 'acme.json'), 'utf8')).vaultGeneration;
    expect(JSON.parse(received[0]!.body)).toEqual({ tenant: 'acme', references: [ref], generation: result.runtime.generation, vaultGeneration: recorded });
    expect(recorded).toBeGreaterThan(1);
    expect(received[0]!.body).not.toContain(CANARY);

    // The runtime unreachable: the rotation still completes and says when it is picked up.
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const offline = await secretsCli(['secrets', 'rotate', 'acme', 'cetec.api_token', '--from-stdin'], { cwd: dir, input: `${CANARY}-3` });
    expect(offline.exitCode, offline.stderr).toBe(0);
    expect(offline.stdout).toMatch(/did not acknowledge the webhook \(ECONNREFUSED\); the rotation is complete and the runtime picks the change up through its generation marker/);
    vault.refresh();
    expect(vault.readSecret(ref)).toBe(`${CANARY}-3`);
    expect(existsSync(join(dir, '.sovereign', 'data', 'acme', 'generation.json'))).toBe(true);
    filesWithout(dir, CANARY);
  });
});

describe('an ambiguous configured pattern', { timeout: 120_000 }, () => {
  it('is refused with an explanation, whatever tenants and extensions exist', async () => {
    const dir = await makeProject();
    // The tenants exist before the pattern is configured, so `secrets` itself must notice
    // (whatever `tenant create` checks).
    for (const tenant of ['efg', 'cd-efg']) expect((await secretsCli(['tenant', 'create', tenant, '--no-deploy'], { cwd: dir })).exitCode).toBe(0);
    const file = join(dir, 'sovereign.config.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), secrets: { secretsManagerName: '{extension}-{tenant}-secrets' } }, null, 2));
    for (const extension of ['ab', 'ab-cd']) mkdirSync(join(dir, 'extensions', extension), { recursive: true });
    const before = stateSnapshot(dir);
    const ambiguous = /^error: the secrets pattern "\{extension\}-\{tenant\}-secrets" \(secrets\.secretsManagerName in sovereign\.config\.json\) is ambiguous/m;
    const put = await secretsCli(['secrets', 'put', 'secretsmanager:ab-cd-efg-secrets', '--tenant', 'efg', '--from-stdin'], { cwd: dir, input: CANARY });
    expect(put.exitCode).toBe(2);
    expect(put.stderr).toMatch(ambiguous);
    expect(put.stderr).toMatch(/^hint: .*"secretsManagerName": "\{extension\}\/\{tenant\}-secrets"/m);
    expect(stateSnapshot(dir)).toEqual(before);
    const set = await secretsCli(['secrets', 'set', 'efg', 'ab-cd.key', 'secretsmanager:ab-cd-efg-secrets:key'], { cwd: dir });
    expect(set.exitCode).toBe(2);
    expect(set.stderr).toMatch(ambiguous);
    // A name no other tenant has today is refused too: an extension added later could share it.
    const other = await secretsCli(['secrets', 'set', 'efg', 'ab.key', 'secretsmanager:ab-efg-secrets:key'], { cwd: dir });
    expect(other.exitCode).toBe(2);
    expect(other.stderr).toMatch(ambiguous);
    expect(stateSnapshot(dir)).toEqual(before);
  });
});
