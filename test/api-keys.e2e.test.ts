/**
 * `sovereign tenant keys` through the real CLI on the local target: a key is printed once on
 * stdout and only its SHA-256 is stored (in the tenant's `api-keys.json`, journaled with the
 * audit event); bad input is one `error:` line and a `hint:` with the exit code the contract
 * gives, and writes nothing. The canary: after a key is created, every later command's output,
 * the audit log, the evidence bundle and the whole `.sovereign/` tree are searched for the key
 * in every encoding — it appears only in its creation's stdout.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { extract } from 'tar';
import { API_KEY_PATTERN, isWellFormedApiKey, parseApiKeysFile } from '../src/contract/api-keys.js';
import { hashApiKey } from '../src/runtime/key-material.js';
import { makeProject, repoRoot, runCli, snapshotTree, type CliResult } from './helpers/cli.js';

const keysFile = (dir: string, tenant = 'acme') => join(dir, '.sovereign', 'data', tenant, 'api-keys.json');

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(path);
    }
  };
  walk(dir);
  return out;
}

async function ok(dir: string, args: string[]): Promise<CliResult> {
  const result = await runCli(args, { cwd: dir });
  expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result;
}

describe('sovereign tenant keys (local target)', { timeout: 240_000 }, () => {
  let dir: string;

  beforeAll(async () => {
    dir = await makeProject();
    const configFile = join(dir, 'sovereign.config.json');
    const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(configFile, JSON.stringify({ ...config, extensionsDir: join(repoRoot, 'extensions'), auth: { tenants: { globex: { apiKeys: false } } } }, null, 2));
    await ok(dir, ['tenant', 'create', 'acme', '--no-deploy']);
    await ok(dir, ['tenant', 'create', 'globex', '--no-deploy']);
    await ok(dir, ['ext', 'enable', 'avalara', '--tenant', 'acme']);
  }, 120_000);

  it('`tenant --help` lists keys and `tenant keys --help` its three verbs', async () => {
    const tenant = await ok(dir, ['tenant', '--help']);
    expect(tenant.stdout).toMatch(/^\s+keys\s+API keys of a tenant's machine clients/m);
    const keys = await ok(dir, ['tenant', 'keys', '--help']);
    for (const verb of ['create', 'list', 'revoke']) expect(keys.stdout).toMatch(new RegExp(`^\\s+${verb}\\s+\\S`, 'm'));
  });

  it('create prints the key once on stdout, warns on stderr, stores only its record, and audits it without key material', async () => {
    const created = await ok(dir, ['tenant', 'keys', 'create', 'acme', '--name', 'erp', '--scopes', 'invoices:read,invoices:write', '--scopes', 'invoices:read', '--scopes', 'sync:run', '--expires', '90d']);
    const key = created.stdout.trim();
    // The whole of stdout (execa drops the final newline): nothing else to mix it up with in a pipe.
    expect(created.stdout).toBe(key);
    expect(isWellFormedApiKey(key, 'dev')).toBe(true);
    expect(API_KEY_PATTERN.test(key)).toBe(true);
    expect(created.stderr).toMatch(/^Created API key erp \(key_[0-9a-f]{16}\) for tenant acme: scopes invoices:read, invoices:write, sync:run, expires \d{4}-/m);
    expect(created.stderr).toMatch(/^warning: the key is shown only now/m);
    expect(created.stderr).not.toContain(key);

    const stored = parseApiKeysFile(readFileSync(keysFile(dir), 'utf8')).keys;
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ name: 'erp', hash: hashApiKey(key), scopes: ['invoices:read', 'invoices:write', 'sync:run'], createdBy: 'test@host' });
    const days = (Date.parse(stored[0]!.expiresAt!) - Date.parse(stored[0]!.createdAt)) / 86_400_000;
    expect(days).toBe(90);

    const events = readFileSync(join(dir, '.sovereign', 'audit', 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const event = events.at(-1)!;
    expect(event).toMatchObject({ action: 'tenant.keys.create', command: 'tenant keys create', tenant: 'acme', outcome: 'success', args: { name: 'erp', id: stored[0]!.id, scopes: stored[0]!.scopes, expiresAt: stored[0]!.expiresAt } });

    // The generation marker lists the key change, so warm runtimes drop cached lookups.
    const marker = JSON.parse(readFileSync(join(dir, '.sovereign', 'data', 'acme', 'generation.json'), 'utf8')) as { changes: Array<{ references: string[] }> };
    expect(marker.changes.at(-1)!.references).toContain('_sovereign:api-keys');
  });

  it('create --json is one document holding the key as `key`; list shows name, id, scopes, created, last used, expiry, status, never the hash', async () => {
    const created = await ok(dir, ['tenant', 'keys', 'create', 'acme', '--name', 'nightly', '--json']);
    const doc = JSON.parse(created.stdout) as { tenant: string; key: string; apiKey: Record<string, unknown> };
    expect(Object.keys(doc)).toEqual(['tenant', 'key', 'apiKey']);
    expect(doc.tenant).toBe('acme');
    expect(isWellFormedApiKey(doc.key, 'dev')).toBe(true);
    expect(doc.apiKey).toMatchObject({ name: 'nightly', scopes: [], expiresAt: null, lastUsedAt: null, status: 'active' });
    expect(Object.keys(doc.apiKey)).not.toContain('hash');

    const listed = await ok(dir, ['tenant', 'keys', 'list', 'acme', '--json']);
    const list = JSON.parse(listed.stdout) as { tenant: string; keys: Array<Record<string, unknown>> };
    expect(list.tenant).toBe('acme');
    expect(list.keys.map((k) => k.name)).toEqual(['erp', 'nightly']);
    for (const k of list.keys) expect(Object.keys(k)).toEqual(['name', 'id', 'scopes', 'createdAt', 'createdBy', 'lastUsedAt', 'expiresAt', 'status']);
    expect(listed.stdout).not.toContain(hashApiKey(doc.key));

    const human = await ok(dir, ['tenant', 'keys', 'list', 'acme']);
    expect(human.stdout).toMatch(/^NAME\s+ID\s+SCOPES\s+CREATED\s+LAST USED\s+EXPIRES\s+STATUS$/m);
    expect(human.stdout).toMatch(/^nightly\s+key_[0-9a-f]{16}\s+-\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d by test@host\s+never\s+never\s+active$/m);
  });

  it('list reads last use from the runtime\'s api-keys-used.json and survives it being absent, malformed or hostile', async () => {
    const ids = (JSON.parse((await ok(dir, ['tenant', 'keys', 'list', 'acme', '--json'])).stdout) as { keys: Array<{ id: string; name: string }> }).keys;
    const erp = ids.find((k) => k.name === 'erp')!.id;
    const nightly = ids.find((k) => k.name === 'nightly')!.id;
    const used = join(dir, '.sovereign', 'data', 'acme', 'api-keys-used.json');
    const lastUsed = async () => Object.fromEntries((JSON.parse((await ok(dir, ['tenant', 'keys', 'list', 'acme', '--json'])).stdout) as { keys: Array<{ name: string; lastUsedAt: string | null }> }).keys.map((k) => [k.name, k.lastUsedAt]));

    writeFileSync(used, JSON.stringify({ [erp]: '2026-03-04T05:06:07.000Z', [nightly]: 'not a time', key_0000000000000000: '2026-01-01T00:00:00Z', '__proto__': '2026-01-01T00:00:00Z' }));
    expect(await lastUsed()).toEqual({ erp: '2026-03-04T05:06:07.000Z', nightly: null });
    for (const hostile of ['{', '[]', 'null', '"x"', JSON.stringify({ [erp]: 42 }), JSON.stringify({ [erp]: 'x'.repeat(100_000) })]) {
      writeFileSync(used, hostile);
      expect(await lastUsed(), hostile.slice(0, 20)).toEqual({ erp: null, nightly: null });
    }
    rmSync(used);
    expect(await lastUsed()).toEqual({ erp: null, nightly: null });
  });

  it('bad input is one error line and a hint, exit 2, and writes nothing', async () => {
    const before = snapshotTree(join(dir, '.sovereign'));
    const cases: Array<[string[], RegExp]> = [
      [['tenant', 'keys', 'create', 'acme', '--name', 'ERP'], /^error: --name: "ERP" is not a key name$/m],
      [['tenant', 'keys', 'create', 'acme', '--name', `k${'x'.repeat(40)}`], /^error: --name: "kx+" is not a key name$/m],
      [['tenant', 'keys', 'create', 'acme', '--name', 'ok', '--scopes', 'a b'], /^error: --scopes: "a b" is not a scope$/m],
      [['tenant', 'keys', 'create', 'acme', '--name', 'ok', '--scopes', 'a,,b'], /^error: --scopes: "" is not a scope$/m],
      [['tenant', 'keys', 'create', 'acme', '--name', 'ok', '--expires', '90'], /^error: --expires "90" is not a duration of up to 3650 days$/m],
      [['tenant', 'keys', 'create', 'acme', '--name', 'ok', '--expires', '0d'], /^error: --expires "0d" is not a duration/m],
      [['tenant', 'keys', 'create', 'acme', '--name', 'ok', '--expires', '3651d'], /^error: --expires "3651d" is not a duration/m],
      [['tenant', 'keys', 'create', 'acme'], /^error: required option '--name <name>' not specified$/m],
      [['tenant', 'keys', 'revoke', 'acme', 'Not-A-Name'], /^error: "Not-A-Name" is not a key name$/m],
      [['tenant', 'keys', 'create', 'globex', '--name', 'erp'], /^error: tenant "globex" does not accept API keys \(auth\.apiKeys is false in sovereign\.config\.json\)$/m],
    ];
    for (const [args, message] of cases) {
      for (const json of [false, true]) {
        const result = await runCli(json ? [...args, '--json'] : args, { cwd: dir });
        expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBe(2);
        expect(result.stderr, args.join(' ')).toMatch(message);
        expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(2);
        expect(result.stderr).toMatch(/^hint: \S/m);
        if (json) expect(JSON.parse(result.stdout)).toMatchObject({ error: { exitCode: 2 } });
        else expect(result.stdout).toBe('');
      }
    }
    expect(snapshotTree(join(dir, '.sovereign'))).toEqual(before);
  });

  it('a duplicate name is exit 4, an unknown tenant or key exit 3; each leaves the keys as they were', async () => {
    const before = readFileSync(keysFile(dir), 'utf8');
    const duplicate = await runCli(['tenant', 'keys', 'create', 'acme', '--name', 'erp'], { cwd: dir });
    expect(duplicate.exitCode).toBe(4);
    expect(duplicate.stderr).toMatch(/^error: tenant "acme" already has an API key named "erp"\nhint: choose another --name, or revoke it first: sovereign tenant keys revoke acme erp$/m);
    expect(duplicate.stdout).toBe('');
    for (const args of [['tenant', 'keys', 'create', 'initech', '--name', 'erp'], ['tenant', 'keys', 'list', 'initech'], ['tenant', 'keys', 'revoke', 'initech', 'erp']]) {
      const missing = await runCli(args, { cwd: dir });
      expect(missing.exitCode, args.join(' ')).toBe(3);
      expect(missing.stderr).toMatch(/^error: tenant "initech" does not exist\nhint: /m);
    }
    const unknown = await runCli(['tenant', 'keys', 'revoke', 'acme', 'nope'], { cwd: dir });
    expect(unknown.exitCode).toBe(3);
    expect(unknown.stderr).toMatch(/^error: tenant "acme" has no API key named "nope"\nhint: list its keys with `sovereign tenant keys list acme`$/m);
    expect(readFileSync(keysFile(dir), 'utf8')).toBe(before);
  });

  it('revoke asks nothing, says what it revoked, removes the record and audits it', async () => {
    const revoked = await ok(dir, ['tenant', 'keys', 'revoke', 'acme', 'nightly']);
    expect(revoked.stdout).toMatch(/^Revoked API key nightly \(key_[0-9a-f]{16}, scopes none\) of tenant acme: its runtime refuses it within about a second\.$/m);
    expect(parseApiKeysFile(readFileSync(keysFile(dir), 'utf8')).keys.map((k) => k.name)).toEqual(['erp']);
    const last = JSON.parse(readFileSync(join(dir, '.sovereign', 'audit', 'events.jsonl'), 'utf8').trim().split('\n').at(-1)!) as Record<string, any>;
    expect(last).toMatchObject({ action: 'tenant.keys.revoke', outcome: 'success', args: { name: 'nightly', scopes: [], expiresAt: null } });
    // Revoking is the safe direction: allowed where new keys are refused.
    const verify = await ok(dir, ['audit', 'log', '--verify', '--json']);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
  });

  it('a keys file that is not one is a clear error (exit 1), not a crash', async () => {
    const copy = join(mkdtempSync(join(tmpdir(), 'sovereign-keys-')), 'proj');
    cpSync(dir, copy, { recursive: true });
    writeFileSync(keysFile(copy), '{"version":1,"keys":[{"id":1}]}');
    const result = await runCli(['tenant', 'keys', 'list', 'acme'], { cwd: copy });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^error: .*api-keys\.json is not a keys file \(api-keys\.json: keys\[0\] is not a key record\)\nhint: it is written only by `sovereign tenant keys`/m);
    rmSync(join(copy, '..'), { recursive: true, force: true });
  });

  it('tenant code that puts a link, a FIFO or another file\'s text in place of its key files gets nothing out of the CLI', async () => {
    // The tenant's data folder is the one folder its process may write: a hostile extension of acme
    // points its key files at a secret the CLI can read and acme cannot (here a file beside the
    // project; another tenant's key works the same way), hoping an error line or audit event quotes it.
    const copy = join(mkdtempSync(join(tmpdir(), 'sovereign-keys-')), 'proj');
    cpSync(dir, copy, { recursive: true });
    await ok(copy, ['tenant', 'keys', 'create', 'acme', '--name', 'victim']);
    const original = readFileSync(keysFile(copy));
    const secret = join(copy, 'outside-secret.txt');
    const CANARY = 'zk_live_7fQ2mX9pLr4sVt8w';
    writeFileSync(secret, `${CANARY}\n`);
    const used = join(copy, '.sovereign', 'data', 'acme', 'api-keys-used.json');
    const log = join(copy, '.sovereign', 'audit', 'events.jsonl');
    const quoted = (text: string) => [CANARY.slice(0, 10), CANARY.slice(0, 6)].some((part) => text.includes(part));

    for (const plant of [() => symlinkSync(secret, keysFile(copy)), () => writeFileSync(keysFile(copy), readFileSync(secret))]) {
      rmSync(keysFile(copy), { force: true });
      plant();
      for (const args of [['tenant', 'keys', 'list', 'acme'], ['tenant', 'keys', 'list', 'acme', '--json'], ['tenant', 'keys', 'create', 'acme', '--name', 'probe'], ['tenant', 'keys', 'revoke', 'acme', 'erp', '--json']]) {
        const result = await runCli(args, { cwd: copy });
        expect(result.exitCode, args.join(' ')).toBe(1);
        expect(result.stderr, args.join(' ')).toMatch(/api-keys\.json is not a keys file \(it (is a symbolic link|is not JSON)\)/);
        expect(quoted(result.stdout + result.stderr), args.join(' ')).toBe(false);
      }
      expect(quoted(readFileSync(log, 'utf8')), 'audit log').toBe(false);
    }

    // The record of use: a link to a file that would parse, a FIFO nobody writes to. `list` answers, showing no use.
    rmSync(keysFile(copy), { force: true });
    writeFileSync(keysFile(copy), original);
    const id = parseApiKeysFile(original.toString('utf8')).keys.at(-1)!.id;
    const decoy = join(copy, 'decoy.json');
    writeFileSync(decoy, JSON.stringify({ [id]: '2026-01-01T00:00:00.000Z' }));
    symlinkSync(decoy, used);
    const linked = await ok(copy, ['tenant', 'keys', 'list', 'acme', '--json']);
    expect((JSON.parse(linked.stdout) as { keys: Array<{ id: string; lastUsedAt: string | null }> }).keys.find((k) => k.id === id)!.lastUsedAt).toBeNull();
    rmSync(used);
    execFileSync('mkfifo', [used]);
    const fifo = await runCli(['tenant', 'keys', 'list', 'acme', '--json'], { cwd: copy, timeout: 20_000 });
    expect(fifo.exitCode, fifo.stderr).toBe(0);
    rmSync(join(copy, '..'), { recursive: true, force: true });
  });

  it('canary: the key appears in no output but its creation\'s stdout, in no encoding, nor in the log, the bundle or .sovereign/', async () => {
    await ok(dir, ['tenant', 'keys', 'create', 'acme', '--name', 'kept']);
    const created = await ok(dir, ['tenant', 'keys', 'create', 'acme', '--name', 'canary', '--scopes', 'canary:read', '--verbose']);
    const key = created.stdout.trim();
    expect(isWellFormedApiKey(key, 'dev')).toBe(true);
    const hash = hashApiKey(key);
    const bytes = Buffer.from(key);
    const forms: Record<string, string> = {
      key,
      'random part': key.slice(-38),
      base64: bytes.toString('base64'),
      base64url: bytes.toString('base64url'),
      hex: bytes.toString('hex'),
      HEX: bytes.toString('hex').toUpperCase(),
      url: encodeURIComponent(key),
      'url of base64': encodeURIComponent(bytes.toString('base64')),
      'hash of the key': hash,
      'hash, base64': Buffer.from(hash, 'hex').toString('base64'),
      'hash, base64url': Buffer.from(hash, 'hex').toString('base64url'),
    };
    const keyForms = Object.entries(forms).filter(([name]) => !name.startsWith('hash'));
    const leaks = (text: string, which = Object.entries(forms)) => which.filter(([, form]) => text.includes(form)).map(([name]) => name);
    expect(leaks(created.stderr), 'create stderr').toEqual([]);

    const out = mkdtempSync(join(tmpdir(), 'sovereign-keys-bundle-'));
    const bundle = join(out, 'acme.tar.gz');
    const later: string[][] = [
      ['tenant', 'keys', 'list', 'acme'],
      ['tenant', 'keys', 'list', 'acme', '--json'],
      ['tenant', 'keys', 'list', 'acme', '--verbose'],
      ['tenant', 'show', 'acme'],
      ['tenant', 'show', 'acme', '--json'],
      ['tenant', 'list', '--json'],
      ['audit', 'log'],
      ['audit', 'log', '--json'],
      ['audit', 'log', '--tenant', 'acme', '--verify', '--json'],
      ['audit', 'export', '--tenant', 'acme', '--out', bundle, '--json'],
      ['audit', 'verify', bundle, '--key', join(dir, '.sovereign', 'keys', '_signing.pub'), '--json'],
      ['tenant', 'keys', 'create', 'acme', '--name', 'canary'],
    ];
    for (const args of later) {
      const result = await runCli(args, { cwd: dir });
      expect(leaks(result.stdout + result.stderr), args.join(' ')).toEqual([]);
    }
    // The project folder while the key is live: the key in no encoding anywhere, its hash only where the runtime reads it.
    const hashHolders = () => files(join(dir, '.sovereign')).filter((file) => readFileSync(file, 'latin1').includes(hash)).map((file) => relative(dir, file));
    for (const file of files(join(dir, '.sovereign'))) expect(leaks(readFileSync(file, 'latin1'), keyForms), relative(dir, file)).toEqual([]);
    expect(hashHolders()).toEqual([join('.sovereign', 'data', 'acme', 'api-keys.json')]);
    for (const args of [['tenant', 'keys', 'revoke', 'acme', 'canary', '--json'], ['audit', 'log', '--limit', '3', '--json']]) {
      const result = await runCli(args, { cwd: dir });
      expect(leaks(result.stdout + result.stderr), args.join(' ')).toEqual([]);
    }

    // The bundle, unpacked: every file, the report and auth.json included.
    const unpacked = join(out, 'unpacked');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(unpacked);
    await extract({ file: bundle, cwd: unpacked });
    const bundled = files(unpacked);
    expect(bundled.map((f) => relative(unpacked, f))).toContain('auth.json');
    // Signed with the rest: the manifest lists it with its digest, so `audit verify` fails on any changed byte.
    const manifest = JSON.parse(readFileSync(join(unpacked, 'manifest.json'), 'utf8')) as { files: Array<{ path: string; sha256: string }> };
    expect(manifest.files.find((f) => f.path === 'auth.json')?.sha256).toBe(createHash('sha256').update(readFileSync(join(unpacked, 'auth.json'))).digest('hex'));
    for (const file of bundled) expect(leaks(readFileSync(file, 'latin1')), relative(unpacked, file)).toEqual([]);
    const auth = JSON.parse(readFileSync(join(unpacked, 'auth.json'), 'utf8')) as { callers: { deployed: unknown; configured: { apiKeys: boolean } }; keys: Array<{ name: string }>; routes: Array<{ path: string; auth: string }> };
    // Never deployed (--no-deploy): no rules were given to it yet; the configured ones accept keys.
    expect(auth.callers.deployed).toBeNull();
    expect(auth.callers.configured.apiKeys).toBe(true);
    expect(auth.keys.map((k) => k.name).slice(-2)).toEqual(['kept', 'canary']);
    expect(auth.routes.length).toBeGreaterThan(0);
    expect(auth.routes.every((r) => r.path.startsWith('/avalara') && r.auth === 'required')).toBe(true);
    // Without the report's line-break opportunities (`<wbr>` after separators), which are layout.
    const report = readFileSync(join(unpacked, 'report.html'), 'utf8').replaceAll('<wbr>', '');
    expect(report).toContain('<h2>Route authentication and API keys</h2>');
    expect(report).toMatch(/<td><code>canary<\/code><\/td><td><code>key_[0-9a-f]{16}<\/code><\/td><td><code>canary:read<\/code><\/td>/);

    // Revoked: neither the key nor its hash, in any encoding, anywhere in the project folder.
    for (const file of files(join(dir, '.sovereign'))) expect(leaks(readFileSync(file, 'latin1')), relative(dir, file)).toEqual([]);
    // A key that is not revoked has its hash where the runtime reads it, and only there.
    const kept = parseApiKeysFile(readFileSync(keysFile(dir), 'utf8')).keys.find((k) => k.name === 'kept')!;
    const holders = files(join(dir, '.sovereign')).filter((file) => readFileSync(file, 'latin1').includes(kept.hash)).map((file) => relative(dir, file));
    expect(holders).toEqual([join('.sovereign', 'data', 'acme', 'api-keys.json')]);
    rmSync(out, { recursive: true, force: true });
  });
});
