/**
 * Attacks on the audit trail by someone who can write the log but does not hold the checkpoint
 * key, and on bundles by someone who signs with a key of their own — each through the real CLI.
 * Every attack here leaves a hash chain that verifies on its own (the test checks that too), so
 * only the signed checkpoints and the pinned signer can catch it.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync, appendFileSync, mkdirSync } from 'node:fs';
import { generateKeyPairSync, sign } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeTarGz } from '../src/audit/archive.js';
import { keyFingerprint, serializeCheckpoint, signCheckpointSync, localCheckpointSigner } from '../src/audit/checkpoint.js';
import { serializeManifest, signedBytes } from '../src/audit/manifest.js';
import { buildEvent, verifyLog, type AuditEvent } from '../src/state/audit-log.js';
import { readEntries } from './helpers/bundle-entries.js';
import { makeProject, runCli } from './helpers/cli.js';

const LOG = ['.sovereign', 'audit', 'events.jsonl'];
let base: string;
let events: AuditEvent[];

interface TrailReport {
  ok: boolean;
  kind?: string;
  firstBadSeq?: number;
  lastTrusted: { seq: number } | null;
}

/** A copy of the prepared project, to attack. */
function copy(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'sovereign-anchor-')), 'proj');
  cpSync(base, dir, { recursive: true });
  return dir;
}

const lines = (dir: string) => readFileSync(join(dir, ...LOG), 'utf8').split('\n').filter(Boolean);
const writeLines = (dir: string, text: string[]) => writeFileSync(join(dir, ...LOG), text.map((l) => `${l}\n`).join(''));

async function verify(dir: string): Promise<{ exitCode: number; report: TrailReport; stderr: string }> {
  const result = await runCli(['audit', 'log', '--verify', '--json'], { cwd: dir });
  return { exitCode: result.exitCode, report: JSON.parse(result.stdout) as TrailReport, stderr: result.stderr };
}

beforeAll(async () => {
  base = await makeProject();
  for (const args of [
    ['tenant', 'create', 'acme', '--no-deploy'],
    ['tenant', 'create', 'globex', '--no-deploy'],
    ['tenant', 'create', 'hooli-one', '--no-deploy'],
    ['tenant', 'destroy', 'hooli-one', '--yes'],
    ['tenant', 'create', 'initech', '--no-deploy'],
  ]) {
    const result = await runCli(args, { cwd: base });
    if (result.exitCode !== 0) throw new Error(`${args.join(' ')}: ${result.stderr}`);
  }
  events = lines(base).map((line) => JSON.parse(line) as AuditEvent);
}, 120_000);

describe('audit log --verify against signed checkpoints', () => {
  it('an untouched log verifies, naming its checkpoint and signer', async () => {
    const result = await runCli(['audit', 'log', '--verify'], { cwd: base });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Audit chain intact: ${events.length} events, last seq ${events.length}, head [0-9a-f]{16}…, signed checkpoint at seq ${events.length} \\(.+\\) by SHA256:[A-Za-z0-9+/]{43}$`));
  });

  it('a log truncated at every line boundary: exit 1, naming the first missing seq and the last trusted checkpoint', { timeout: 120_000 }, async () => {
    const all = lines(base);
    for (let keep = 0; keep < all.length; keep += 1) {
      const dir = copy();
      writeLines(dir, all.slice(0, keep));
      expect((await verifyLog(join(dir, ...LOG))).ok, 'the cut chain is intact on its own').toBe(true);
      const { exitCode, report, stderr } = await verify(dir);
      expect(exitCode, `kept ${keep} lines`).toBe(1);
      expect(report).toMatchObject({ ok: false, kind: 'truncated', firstBadSeq: keep + 1, lastTrusted: keep === 0 ? null : { seq: keep } });
      expect(stderr).toMatch(new RegExp(`^error: audit chain broken at seq ${keep + 1}: the log was truncated: it ends at seq ${keep}, but checkpoint seq ${all.length} \\(.+\\) proves ${all.length} events existed`, 'm'));
    }
  });

  it('a mutation refuses to sign over a truncated log, and changes nothing', async () => {
    const dir = copy();
    writeLines(dir, lines(dir).slice(0, 3));
    const before = readFileSync(join(dir, ...LOG));
    const result = await runCli(['tenant', 'create', 'pied-piper', '--no-deploy'], { cwd: dir });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^error: the audit log does not match its last signed checkpoint: the log ends at seq 3, the checkpoint covers seq 5; nothing was changed$/m);
    expect(readFileSync(join(dir, ...LOG)).equals(before)).toBe(true);
    expect((await verify(dir)).report.kind).toBe('truncated');
  });

  it('a tail rewritten from seq 3 on with recomputed hashes: exit 1 at seq 3, last trusted checkpoint seq 2', async () => {
    const dir = copy();
    let previous: AuditEvent | undefined = events[1];
    const rewritten = events.slice(2).map((event) => {
      const { seq: _seq, prevHash: _prev, hash: _hash, ...rest } = event;
      previous = buildEvent(previous, { ...rest, actor: 'mallory@host' });
      return previous;
    });
    writeLines(dir, [...lines(dir).slice(0, 2), ...rewritten.map((e) => JSON.stringify(e))]);
    expect((await verifyLog(join(dir, ...LOG))).ok, 'the rewritten chain is intact on its own').toBe(true);
    const { exitCode, report, stderr } = await verify(dir);
    expect(exitCode).toBe(1);
    expect(report).toMatchObject({ ok: false, kind: 'rewritten', firstBadSeq: 3, lastTrusted: { seq: 2 } });
    expect(stderr).toMatch(/^error: audit chain broken at seq 3: the log was rewritten at seq 3: the event at seq 3 is not the one checkpoint seq 3 signed; the last trusted checkpoint is seq 2/m);
  });

  it('an event appended without the key: exit 1 at the new seq, the last checkpoint still trusted', async () => {
    const dir = copy();
    const forged = buildEvent(events.at(-1), { actor: 'mallory@host', command: 'tenant create', tenant: 'evil', action: 'tenant.create', args: {}, outcome: 'success' });
    appendFileSync(join(dir, ...LOG), `${JSON.stringify(forged)}\n`);
    expect((await verifyLog(join(dir, ...LOG))).ok).toBe(true);
    const { exitCode, report, stderr } = await verify(dir);
    expect(exitCode).toBe(1);
    expect(report).toMatchObject({ ok: false, kind: 'unsigned-append', firstBadSeq: events.length + 1, lastTrusted: { seq: events.length } });
    expect(stderr).toContain(`seq ${events.length + 1} was appended after the latest checkpoint (seq ${events.length}) without the checkpoint key`);
  });

  it('an appended event with a checkpoint signed by a key of the forger: exit 1, not trusted', async () => {
    const dir = copy();
    const forged = buildEvent(events.at(-1), { actor: 'mallory@host', command: 'tenant create', tenant: 'evil', action: 'tenant.create', args: {}, outcome: 'success' });
    appendFileSync(join(dir, ...LOG), `${JSON.stringify(forged)}\n`);
    const mallory = localCheckpointSigner(generateKeyPairSync('ed25519').privateKey);
    const checkpoint = signCheckpointSync(mallory, { seq: forged.seq, headHash: forged.hash, count: forged.seq, time: new Date().toISOString() });
    writeFileSync(join(dir, '.sovereign', 'audit', 'checkpoint.json'), `${serializeCheckpoint(checkpoint)}\n`);
    appendFileSync(join(dir, '.sovereign', 'audit', 'checkpoints.jsonl'), `${serializeCheckpoint(checkpoint)}\n`);
    const { exitCode, report, stderr } = await verify(dir);
    expect(exitCode).toBe(1);
    expect(report).toMatchObject({ ok: false, kind: 'untrusted-checkpoint', firstBadSeq: forged.seq });
    expect(stderr).toContain(`it names ${keyFingerprint(mallory.publicKey)}`);
  });

  it('a deleted checkpoint: exit 1, the log is not anchored', async () => {
    const dir = copy();
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, '.sovereign', 'audit', 'checkpoint.json'));
    const { exitCode, report } = await verify(dir);
    expect(exitCode).toBe(1);
    expect(report).toMatchObject({ ok: false, kind: 'unanchored' });
    expect((await runCli(['tenant', 'create', 'pied-piper', '--no-deploy'], { cwd: dir })).exitCode).toBe(1);
  });
});


describe('audit verify trusts only a pinned signer', () => {
  let dir: string;
  let bundle: string;
  let forged: string;
  let mallory: ReturnType<typeof generateKeyPairSync>;

  beforeAll(async () => {
    dir = copy();
    const exported = await runCli(['audit', 'export', '--tenant', 'acme', '--out', 'acme.tar.gz'], { cwd: dir });
    if (exported.exitCode !== 0) throw new Error(exported.stderr);
    bundle = join(dir, 'acme.tar.gz');
    // The same bundle, its manifest re-signed and the file re-sealed with a fresh key.
    mallory = generateKeyPairSync('ed25519');
    const entries = await readEntries(bundle);
    const manifest = JSON.parse(entries[0]!.data.toString()) as Record<string, any>;
    manifest.signer = { ...manifest.signer, publicKey: mallory.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), fingerprint: keyFingerprint(mallory.publicKey) };
    manifest.signature.value = sign(null, signedBytes(manifest as never), mallory.privateKey).toString('base64');
    entries[0]!.data = Buffer.from(serializeManifest(manifest));
    const work = join(dir, 'forge');
    mkdirSync(work);
    const files = entries.map((entry, i) => {
      writeFileSync(join(work, String(i)), entry.data);
      return { name: entry.name, file: join(work, String(i)), size: entry.data.length };
    });
    forged = join(dir, 'forged.tar.gz');
    await writeTarGz(forged, files, { sign: (message) => sign(null, message, mallory.privateKey) });
  }, 60_000);

  const pin = (keys: string[]) => {
    const file = join(dir, 'sovereign.config.json');
    const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...config, audit: { trustedKeys: keys } }, null, 2));
  };

  it('with no key pinned, even the genuine bundle fails with exit 1 and a hint on how to pin', async () => {
    pin([]);
    const result = await runCli(['audit', 'verify', 'acme.tar.gz'], { cwd: dir });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^error: the bundle is signed by SHA256:[A-Za-z0-9+/]{43}, which is not a pinned key \(no key is pinned\)$/m);
    expect(result.stderr).toMatch(/^hint: .*--key <file\.pub>, or add it to "audit": \{ "trustedKeys": \[\.\.\.\] \} in sovereign\.config\.json/m);
  });

  it('the project key pinned in audit.trustedKeys: the genuine bundle verifies and names its signer; the re-signed one fails', async () => {
    pin(['.sovereign/keys/_signing.pub']);
    const genuine = await runCli(['audit', 'verify', 'acme.tar.gz'], { cwd: dir });
    expect(genuine.exitCode, genuine.stderr).toBe(0);
    expect(genuine.stdout).toMatch(/^ok +signer: the signer is the pinned key SHA256:[A-Za-z0-9+/]{43}$/m);
    expect(genuine.stdout).toMatch(/^ok +checkpoints: the head seq \d+ is covered by a checkpoint signed by the bundle signer$/m);
    // Every check of its own passes: only the pinned signer catches it.
    const unpinned = await runCli(['audit', 'verify', 'forged.tar.gz', '--trust-bundle-key'], { cwd: dir });
    expect(unpinned.exitCode, unpinned.stdout + unpinned.stderr).toBe(0);
    const result = await runCli(['audit', 'verify', 'forged.tar.gz'], { cwd: dir });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`error: the bundle is signed by ${keyFingerprint(mallory.publicKey)}, which is not a pinned key (pinned: `);
    expect(result.stderr).toContain('(audit.trustedKeys[0])');
  });

  it('--key pins the project key: the re-signed bundle fails with exit 1', async () => {
    pin([]);
    const result = await runCli(['audit', 'verify', 'forged.tar.gz', '--key', '.sovereign/keys/_signing.pub', '--json'], { cwd: dir });
    expect(result.exitCode).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, signer: { fingerprint: keyFingerprint(mallory.publicKey), pinned: true } });
  });

  it('--trust-bundle-key accepts the key inside the bundle, with a warning naming it', async () => {
    pin(['.sovereign/keys/_signing.pub']);
    const result = await runCli(['audit', 'verify', 'forged.tar.gz', '--trust-bundle-key'], { cwd: dir });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`^warning: --trust-bundle-key: trusting the key inside the bundle \\(${keyFingerprint(mallory.publicKey).replace(/[+/]/g, '\\$&')}\\)`, 'm'));
    expect(result.stdout).toContain('(the key inside the bundle, not pinned)');
    const both = await runCli(['audit', 'verify', 'forged.tar.gz', '--trust-bundle-key', '--key', '.sovereign/keys/_signing.pub'], { cwd: dir });
    expect(both.exitCode).toBe(2);
  });
});

describe('tenant certificate-verify trusts only a pinned signer', () => {
  let dir: string;
  let genuine: string;
  let forged: string;
  let mallory: ReturnType<typeof generateKeyPairSync>;

  beforeAll(async () => {
    dir = copy();
    for (const args of [['tenant', 'resume', 'acme'], ['tenant', 'offboard', 'acme', '--yes', '--out', 'retained', '--reason', 'contract ended']]) {
      const result = await runCli(args, { cwd: dir });
      if (result.exitCode !== 0) throw new Error(`${args.join(' ')}: ${result.stderr}`);
    }
    genuine = join(dir, 'retained', 'acme-deletion-certificate.json');
    // The same certificate signed by a fresh key: every check of its own passes.
    mallory = generateKeyPairSync('ed25519');
    const { signature: _signature, ...body } = JSON.parse(readFileSync(genuine, 'utf8')) as Record<string, any>;
    body.signer = { algorithm: 'Ed25519', publicKey: mallory.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), fingerprint: keyFingerprint(mallory.publicKey) };
    const { canonicalJson } = await import('../src/contract/canonical-json.js');
    const certificate = { ...body, signature: sign(null, Buffer.from(canonicalJson(body)), mallory.privateKey).toString('base64') };
    forged = join(dir, 'retained', 'forged-certificate.json');
    writeFileSync(forged, canonicalJson(certificate, { layout: 'document' }));
  }, 60_000);

  it('the genuine certificate verifies with --key and names its signer; the re-signed one fails with exit 1 and a hint', async () => {
    const ok = await runCli(['tenant', 'certificate-verify', genuine, '--key', '.sovereign/keys/_signing.pub'], { cwd: dir });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^ {2}signer {5}SHA256:[A-Za-z0-9+/]{43} \(pinned\)$/m);
    const bad = await runCli(['tenant', 'certificate-verify', forged, '--key', '.sovereign/keys/_signing.pub'], { cwd: dir });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain(`error: the certificate is signed by ${keyFingerprint(mallory.publicKey)}, which is not a pinned key (pinned: `);
    expect(bad.stderr).toMatch(/^hint: check SHA256:/m);
  });

  it('with no key pinned both fail; --trust-bundle-key accepts the re-signed one with a warning', async () => {
    expect((await runCli(['tenant', 'certificate-verify', genuine], { cwd: dir })).exitCode).toBe(1);
    const trusted = await runCli(['tenant', 'certificate-verify', forged, '--trust-bundle-key', '--json'], { cwd: dir });
    expect(trusted.exitCode, trusted.stderr).toBe(0);
    expect(trusted.stderr).toContain(`warning: --trust-bundle-key: trusting the key inside the certificate (${keyFingerprint(mallory.publicKey)})`);
    expect(JSON.parse(trusted.stdout)).toMatchObject({ ok: true, pinned: false, signer: keyFingerprint(mallory.publicKey) });
  });
});
