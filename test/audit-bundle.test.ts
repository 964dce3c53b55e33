import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { bundleEntries, CANARIES, makeAuditProject, type AuditProject } from './audit-fixture.js';

let project: AuditProject;
let bundle: string;
let exportRun: { stdout: string; stderr: string };

beforeAll(async () => {
  project = await makeAuditProject();
  const result = await runCli(['audit', 'export', '--tenant', 'acme', '--out', 'evidence/acme.tar.gz', '--json'], { cwd: project.dir });
  expect(result.exitCode, result.stderr).toBe(0);
  exportRun = result;
  bundle = join(project.dir, 'evidence', 'acme.tar.gz');
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('sovereign audit export', () => {
  it('writes a signed bundle holding every section, and records the export in the audit log', async () => {
    const out = JSON.parse(exportRun.stdout) as { bundle: { path: string; sha256: string; events: number; signer: { fingerprint: string }; sections: Array<{ id: string; status: string }> } };
    expect(out.bundle.path).toBe(bundle);
    expect(out.bundle.sha256).toBe(sha256(readFileSync(bundle)));
    expect(out.bundle.sections.every((s) => s.status === 'included')).toBe(true);

    const entries = bundleEntries(bundle);
    expect([...entries.keys()]).toEqual([
      'manifest.json',
      'audit/chain.jsonl',
      'audit/checkpoints.jsonl',
      'audit/events.jsonl',
      'auth.json',
      'extensions/avalara.json',
      'extensions/cetec.json',
      'extensions/index.json',
      'iam/isolation-proof.json',
      'iam/runtime-policy.json',
      'openapi.json',
      'report.html',
      'secrets/references.json',
      'stack/parameters.json',
      'stack/template.json',
      'tenant/deploys.json',
      'tenant/record.json',
    ]);
    const manifest = JSON.parse(entries.get('manifest.json')!.toString()) as Record<string, any>;
    expect(manifest).toMatchObject({ format: 'sovereign-audit-bundle', tenant: 'acme', tool: { name: 'sovereign', version: expect.any(String) }, signer: { algorithm: 'Ed25519' } });
    // What kind of evidence this is, as the local target says it, inside what the signature covers.
    expect(manifest.evidence).toMatchObject({ kind: 'offline', records: expect.stringContaining('.sovereign/'), isolation: expect.stringContaining('offline evaluation') });
    const { signedBytes } = await import('../src/audit/manifest.js');
    expect(signedBytes(manifest as never).toString()).toContain('"evidence":{"isolation":');
    for (const file of manifest.files as Array<{ path: string; sha256: string; size: number }>) {
      expect(sha256(entries.get(file.path)!), file.path).toBe(file.sha256);
      expect(entries.get(file.path)!.length).toBe(file.size);
    }

    const extension = JSON.parse(entries.get('extensions/avalara.json')!.toString()) as Record<string, any>;
    expect(extension.codeSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(extension.files.map((f: { path: string }) => f.path)).toContain('extension.ts');
    const openapi = JSON.parse(entries.get('openapi.json')!.toString()) as { openapi: string; paths: Record<string, unknown> };
    expect(openapi.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.paths)).toContain('/avalara/quotes');
    const template = JSON.parse(entries.get('stack/template.json')!.toString()) as { Resources: Record<string, unknown> };
    expect(Object.keys(template.Resources)).toContain('RuntimeRole');
    const proof = JSON.parse(entries.get('iam/isolation-proof.json')!.toString()) as { ok: boolean; matrix: { tenants: string[]; crossTenantAllows: number; cells: Array<{ subject: string; target: string; kind: string; decision: string }> } };
    expect(proof).toMatchObject({ ok: true, matrix: { tenants: ['acme', 'globex'], crossTenantAllows: 0 } });
    const kinds = (subject: string, target: string) => proof.matrix.cells.filter((c) => c.subject === subject && c.target === target).map((c) => c.kind).sort();
    expect(kinds('acme', 'globex')).toEqual(['extension', 'function', 'logs', 'parameters', 'secrets', 'table']);
    expect(kinds('globex', 'acme')).toEqual(['extension', 'function', 'logs', 'parameters', 'secrets', 'table']);
    expect(proof.matrix.cells.every((c) => c.decision === 'denied')).toBe(true);

    const secrets = JSON.parse(entries.get('secrets/references.json')!.toString()) as { references: Array<Record<string, any>> };
    const account = secrets.references.find((s) => s.key === 'avalara.account_id')!;
    expect(account).toMatchObject({ storage: 'stored', stale: true, reference: 'ssm:/dev/tenants/acme/avalara/account_id' });
    expect(account.ageDays).toBeGreaterThanOrEqual(119);
    expect(account.versions).toHaveLength(2);
    expect(secrets.references.find((s) => s.key === 'avalara.license_key')).toMatchObject({ storage: 'stored', stale: false });

    const log = await runCli(['audit', 'log', '--tenant', 'acme', '--json'], { cwd: project.dir });
    const events = (JSON.parse(log.stdout) as { events: Array<Record<string, any>> }).events;
    const recorded = events.at(-1)!;
    expect(recorded).toMatchObject({ action: 'audit.export', outcome: 'success', args: { out: bundle, sha256: out.bundle.sha256 } });
    // The export event is the one right after the bundle's head.
    expect(recorded.prevHash).toBe(manifest.auditChain.head.hash);
    expect(recorded.seq).toBe(manifest.auditChain.head.seq + 1);
  });

  it('creates the signing key once, private part mode 0600 and git-ignored, public key beside it', async () => {
    const key = join(project.dir, '.sovereign', 'keys', '_signing.key');
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(readFileSync(key, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(readFileSync(join(project.dir, '.sovereign', 'keys', '_signing.pub'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(readFileSync(join(project.dir, '.gitignore'), 'utf8')).toMatch(/^\.sovereign\/$/m);
    // The key is made by the project's first mutation (it signs the audit checkpoints), not by the export.
    expect(exportRun.stderr).not.toContain('Created the project signing key');
    const before = readFileSync(key);
    const again = await runCli(['audit', 'export', '--tenant', 'globex', '--out', 'evidence/globex.tar.gz'], { cwd: project.dir });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('Created the project signing key');
    expect(readFileSync(key).equals(before)).toBe(true);
  });

  it('never puts a secret value into the bundle, its output or the audit log', () => {
    const compressed = readFileSync(bundle);
    const tar = gunzipSync(compressed);
    expect(project.secretValues.length).toBeGreaterThanOrEqual(6);
    for (const value of project.secretValues) {
      for (const form of [value, Buffer.from(value).toString('base64'), JSON.stringify(value).slice(1, -1)]) {
        expect(tar.includes(Buffer.from(form)), `${value.slice(0, 12)}… in the bundle`).toBe(false);
        expect(compressed.includes(Buffer.from(form))).toBe(false);
      }
      expect(exportRun.stdout.includes(value) || exportRun.stderr.includes(value)).toBe(false);
      expect(readFileSync(join(project.dir, '.sovereign', 'audit', 'events.jsonl'), 'utf8').includes(value)).toBe(false);
    }
    // The references themselves are there: the scan looks at the right bytes.
    expect(tar.includes(Buffer.from('ssm:/dev/tenants/acme/avalara/account_id'))).toBe(true);
    expect(tar.includes(Buffer.from(CANARIES.acmeAccount.slice(0, 7)))).toBe(false);
  });

  it('is deterministic apart from the generation time and the events since the last export', async () => {
    const second = await runCli(['audit', 'export', '--tenant', 'acme', '--out', 'evidence/acme-2.tar.gz'], { cwd: project.dir });
    expect(second.exitCode, second.stderr).toBe(0);
    const a = bundleEntries(bundle);
    const b = bundleEntries(join(project.dir, 'evidence', 'acme-2.tar.gz'));
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const name of a.keys()) {
      if (['manifest.json', 'report.html', 'audit/events.jsonl', 'audit/chain.jsonl', 'audit/checkpoints.jsonl'].includes(name)) continue;
      expect(b.get(name)!.equals(a.get(name)!), name).toBe(true);
    }
  });

  it('writes into a folder given as --out with the default name', async () => {
    const result = await runCli(['audit', 'export', '--tenant', 'globex', '--out', 'evidence/', '--json'], { cwd: project.dir });
    expect(result.exitCode, result.stderr).toBe(0);
    const path = (JSON.parse(result.stdout) as { bundle: { path: string } }).bundle.path;
    expect(path).toMatch(new RegExp(`^${join(project.dir, 'evidence')}/globex-audit-\\d{8}T\\d{6}Z\\.tar\\.gz$`));
    expect(existsSync(path)).toBe(true);
  });

  it('filters events with --since', async () => {
    const all = JSON.parse((await runCli(['audit', 'log', '--tenant', 'acme', '--json'], { cwd: project.dir })).stdout) as { events: Array<{ time: string }> };
    const cut = all.events[1]!.time;
    const result = await runCli(['audit', 'export', '--tenant', 'acme', '--since', cut, '--out', 'evidence/since.tar.gz', '--json'], { cwd: project.dir });
    expect(result.exitCode, result.stderr).toBe(0);
    const events = bundleEntries(join(project.dir, 'evidence', 'since.tar.gz')).get('audit/events.jsonl')!.toString().trim().split('\n');
    expect(events.length).toBe(all.events.filter((e) => e.time >= cut).length);
    expect(events.length).toBeLessThan(all.events.length);
    const verify = await runCli(['audit', 'verify', 'evidence/since.tar.gz', '--key', '.sovereign/keys/_signing.pub'], { cwd: project.dir });
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
  });

  it('refuses bad input with the documented exit codes, writing nothing', async () => {
    const unknown = await runCli(['audit', 'export', '--tenant', 'nosuch', '--out', 'x.tar.gz'], { cwd: project.dir });
    expect(unknown.exitCode).toBe(3);
    const since = await runCli(['audit', 'export', '--tenant', 'acme', '--since', 'yesterday'], { cwd: project.dir });
    expect(since.exitCode).toBe(2);
    expect(since.stderr).toContain('--since "yesterday"');
    const exists = await runCli(['audit', 'export', '--tenant', 'acme', '--out', 'evidence/acme.tar.gz'], { cwd: project.dir });
    expect(exists.exitCode).toBe(4);
    const missing = await runCli(['audit', 'verify', 'nope.tar.gz'], { cwd: project.dir });
    expect(missing.exitCode).toBe(3);
    const folder = await runCli(['audit', 'verify', 'evidence'], { cwd: project.dir });
    expect(folder.exitCode).toBe(1);
    expect(folder.stderr).toContain('cannot be read (EISDIR)');
    expect(existsSync(join(project.dir, 'x.tar.gz'))).toBe(false);
  });
});

describe('sovereign audit verify', () => {
  it('prints a line per check and exits 0 for an intact bundle; --json reports the same', async () => {
    const human = await runCli(['audit', 'verify', bundle, '--key', '.sovereign/keys/_signing.pub'], { cwd: project.dir });
    expect(human.exitCode, human.stderr).toBe(0);
    for (const check of ['archive', 'manifest', 'signature', 'signer: the signer is the pinned key', 'files', 'hash report.html', 'audit chain']) expect(human.stdout).toContain(check);
    const json = await runCli(['audit', 'verify', bundle, '--json', '--key', '.sovereign/keys/_signing.pub'], { cwd: project.dir });
    const report = JSON.parse(json.stdout) as { ok: boolean; tenant: string; checks: Array<{ check: string; ok: boolean }> };
    expect(report).toMatchObject({ ok: true, tenant: 'acme' });
    expect(report.checks.length).toBeGreaterThan(15);
  });

  it('pins the signer: another key (file or base64) fails with exit 1', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const other = generateKeyPairSync('ed25519').publicKey;
    const pem = join(project.dir, 'other.pub');
    writeFileSync(pem, other.export({ type: 'spki', format: 'pem' }));
    const byFile = await runCli(['audit', 'verify', bundle, '--key', pem], { cwd: project.dir });
    expect(byFile.exitCode).toBe(1);
    expect(byFile.stderr).toMatch(/^error: the bundle is signed by SHA256:[A-Za-z0-9+/]{43}, which is not a pinned key \(pinned: SHA256:[A-Za-z0-9+/]{43} \(--key\)\)$/m);
    expect(byFile.stderr).toMatch(/^hint: check SHA256:\S+ with whoever exported it, then pin their public key: --key <file\.pub>, or add it to "audit": \{ "trustedKeys"/m);
    const base64 = other.export({ type: 'spki', format: 'der' }).toString('base64');
    const byText = await runCli(['audit', 'verify', bundle, '--key', base64], { cwd: project.dir });
    expect(byText.exitCode).toBe(1);
    const own = readFileSync(join(project.dir, '.sovereign', 'keys', '_signing.pub'), 'utf8');
    const { createPublicKey } = await import('node:crypto');
    const ownBase64 = createPublicKey(own).export({ type: 'spki', format: 'der' }).toString('base64');
    expect((await runCli(['audit', 'verify', bundle, '--key', ownBase64], { cwd: project.dir })).exitCode).toBe(0);
    const garbage = await runCli(['audit', 'verify', bundle, '--key', 'not-a-key'], { cwd: project.dir });
    expect(garbage.exitCode).toBe(2);
  });
});

describe('a failed export', () => {
  it('leaves no bundle and no temporary file behind, and is recorded as a failure', async () => {
    const log = join(project.dir, '.sovereign', 'audit', 'events.jsonl');
    const original = readFileSync(log, 'utf8');
    const lines = original.trim().split('\n');
    // An event of acme deleted from the middle of the log.
    const index = lines.findIndex((l) => JSON.parse(l).tenant === 'acme');
    const tampered = [...lines.slice(0, index), ...lines.slice(index + 1)];
    writeFileSync(log, `${tampered.join('\n')}\n`);
    try {
      const result = await runCli(['audit', 'export', '--tenant', 'acme', '--out', 'broken/acme.tar.gz'], { cwd: project.dir });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(/chain is broken at seq \d+: expected seq \d+/);
      const dir = join(project.dir, 'broken');
      expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    } finally {
      const appended = readFileSync(log, 'utf8').split('\n').slice(tampered.length).join('\n');
      writeFileSync(log, original + appended);
    }
    const last = JSON.parse(readFileSync(log, 'utf8').trim().split('\n').at(-1)!) as { action: string; outcome: string; error: string };
    expect(last).toMatchObject({ action: 'audit.export', outcome: 'failure' });
    expect(last.error).toMatch(/chain is broken/);
    expect((await runCli(['audit', 'log', '--verify'], { cwd: project.dir })).exitCode).toBe(0);
  });
});
