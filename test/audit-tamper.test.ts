/**
 * Tampering: 100 altered copies of a real bundle — a byte flipped in the compressed file, a byte
 * flipped in one entry (re-packed in the canonical form, so only that byte differs), a file added,
 * removed or renamed — and every one must fail `verify`. Seeded, so a failure reproduces.
 */
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeTarGz } from '../src/audit/archive.js';
import { verifyBundle } from '../src/audit/verify.js';
import { runCli } from './helpers/cli.js';
import { readEntries } from './helpers/bundle-entries.js';
import { makeAuditProject } from './audit-fixture.js';

const SEED = 0x5eed_a0d1;

/** mulberry32: a small deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let bundle: string;
let work: string;
let entries: Array<{ name: string; data: Buffer }>;
/** The project's signing key: re-packs are sealed like the export seals, so only the intended change differs. */
let signingKey: KeyObject;


async function repack(name: string, items: Array<{ name: string; data: Buffer }>): Promise<string> {
  const dir = join(work, `${name}.d`);
  mkdirSync(dir);
  const files = items.map((item, i) => {
    const file = join(dir, String(i));
    writeFileSync(file, item.data);
    return { name: item.name, file, size: item.data.length };
  });
  const out = join(work, `${name}.tar.gz`);
  await writeTarGz(out, files, { sign: (message) => sign(null, message, signingKey) });
  return out;
}

beforeAll(async () => {
  const project = await makeAuditProject();
  const result = await runCli(['audit', 'export', '--tenant', 'acme', '--out', 'acme.tar.gz'], { cwd: project.dir });
  expect(result.exitCode, result.stderr).toBe(0);
  bundle = join(project.dir, 'acme.tar.gz');
  signingKey = createPrivateKey(readFileSync(join(project.dir, '.sovereign', 'keys', '_signing.key')));
  work = mkdtempSync(join(tmpdir(), 'sovereign-tamper-'));
  entries = await readEntries(bundle);
});

describe('tampered bundles', () => {
  it('an unaltered bundle and an unaltered re-pack both verify (the re-pack is faithful)', async () => {
    expect((await verifyBundle(bundle)).ok).toBe(true);
    const same = await repack('same', entries);
    // The export compresses the events while reading them, so the deflate runs differ; the tar inside is identical.
    expect(gunzipSync(readFileSync(same)).equals(gunzipSync(readFileSync(bundle)))).toBe(true);
    expect((await verifyBundle(same)).ok).toBe(true);
  });

  it('100 random alterations all fail verify', async () => {
    const random = prng(SEED);
    const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
    const original = readFileSync(bundle);
    const failures: string[] = [];
    const seen = new Map<string, number>();
    for (let i = 0; i < 100; i += 1) {
      const roll = random();
      let file: string;
      let what: string;
      if (roll < 0.4) {
        const copy = Buffer.from(original);
        const offset = Math.floor(random() * copy.length);
        copy[offset] = copy[offset]! ^ (1 + Math.floor(random() * 255));
        file = join(work, `flip-${i}.tar.gz`);
        writeFileSync(file, copy);
        what = `compressed byte ${offset} of ${copy.length}`;
      } else if (roll < 0.7) {
        const items = entries.map((e) => ({ name: e.name, data: Buffer.from(e.data) }));
        const target = pick(items.filter((e) => e.data.length > 0));
        const offset = Math.floor(random() * target.data.length);
        target.data[offset] = target.data[offset]! ^ (1 + Math.floor(random() * 255));
        file = await repack(`entry-${i}`, items);
        what = `byte ${offset} of ${target.name}`;
      } else if (roll < 0.8) {
        const items = [...entries];
        items.splice(1 + Math.floor(random() * items.length), 0, { name: pick(['notes.txt', 'audit/extra.jsonl', 'evidence/override.json', 'report.html.bak']), data: Buffer.from('{"ok":true}\n') });
        file = await repack(`add-${i}`, items);
        what = 'a file added';
      } else if (roll < 0.9) {
        const items = [...entries];
        const [removed] = items.splice(Math.floor(random() * items.length), 1);
        file = await repack(`remove-${i}`, items);
        what = `${removed!.name} removed`;
      } else {
        const items = entries.map((e) => ({ ...e }));
        const target = pick(items);
        const from = target.name;
        target.name = from.replace(/(\.[a-z]+)$/, '-renamed$1');
        file = await repack(`rename-${i}`, items);
        what = `${from} renamed`;
      }
      const result = await verifyBundle(file);
      if (result.ok) failures.push(`#${i}: ${what} was not detected`);
      else {
        const check = result.failure!.split(':')[0]!.replace(/^hash .*/, 'hash');
        seen.set(check, (seen.get(check) ?? 0) + 1);
      }
    }
    expect(failures, `seed ${SEED.toString(16)}`).toEqual([]);
    // The alterations reached several different checks, not one catch-all.
    expect([...seen.keys()].sort()).toEqual(expect.arrayContaining(['archive', 'files', 'hash']));
  });

  it('an edit that keeps a file\'s size fails on that file\'s hash, for every file but the manifest', async () => {
    const names = entries.slice(1).map((e) => e.name);
    expect(names).toContain('report.html');
    const missed: string[] = [];
    for (const name of names) {
      const items = entries.map((e) => ({ name: e.name, data: Buffer.from(e.data) }));
      const target = items.find((e) => e.name === name)!;
      if (target.data.length === 0) continue;
      // One character replaced by another: same size, different bytes.
      const at = Math.floor(target.data.length / 2);
      target.data[at] = target.data[at] === 0x41 ? 0x42 : 0x41;
      const file = await repack(`same-size-${names.indexOf(name)}`, items);
      const result = await verifyBundle(file);
      if (result.ok || !result.failure!.startsWith(`hash ${name}: SHA-256`)) missed.push(`${name}: ${result.failure ?? 'verified'}`);
    }
    expect(missed).toEqual([]);
  });

  it('names the first failing check and exits 1 through the CLI', async () => {
    const items = entries.map((e) => ({ name: e.name, data: Buffer.from(e.data) }));
    const events = items.find((e) => e.name === 'audit/events.jsonl')!;
    events.data = Buffer.from(events.data.toString().replace('"tenant.create"', '"tenant.delete"'));
    const file = await repack('cli', items);
    const result = await runCli(['audit', 'verify', file, '--trust-bundle-key']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^warning: --trust-bundle-key: trusting the key inside the bundle \(SHA256:[A-Za-z0-9+/]{43}\)/m);
    expect(result.stderr).toContain('error: bundle verification failed: hash audit/events.jsonl: SHA-256');
    expect(result.stdout).toMatch(/^ok +signature: Ed25519 signature valid/m);
    expect(result.stdout).toMatch(/^FAIL +hash audit\/events\.jsonl/m);
    const json = await runCli(['audit', 'verify', file, '--json', '--trust-bundle-key']);
    expect(json.exitCode, json.stderr).toBe(1);
    expect(json.stdout.startsWith('{'), `stdout: ${json.stdout.slice(0, 200)} stderr: ${json.stderr}`).toBe(true);
    // stdout holds exactly one JSON document: the report.
    const report = JSON.parse(json.stdout) as { ok: boolean; failure: string };
    expect(report).toMatchObject({ ok: false });
    expect(report.failure).toMatch(/^hash audit\/events\.jsonl/);
  });

  it('a re-signed manifest with another key verifies only without a pinned key', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { signedBytes, serializeManifest } = await import('../src/audit/manifest.js');
    const pair = generateKeyPairSync('ed25519');
    const items = entries.map((e) => ({ name: e.name, data: Buffer.from(e.data) }));
    const manifest = JSON.parse(items[0]!.data.toString()) as Record<string, any>;
    const original = manifest.signer.publicKey as string;
    manifest.signer.publicKey = pair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    manifest.signature.value = sign(null, signedBytes(manifest as never), pair.privateKey).toString('base64');
    // Sealed by the project key instead: refused even without a pinned key.
    items[0]!.data = Buffer.from(serializeManifest(manifest));
    const mixed = await repack('mixed', items);
    expect((await verifyBundle(mixed)).failure).toMatch(/^seal: /);
    items[0]!.data = Buffer.from(serializeManifest(manifest));
    const previous = signingKey;
    signingKey = pair.privateKey;
    const file = await repack('resigned', items);
    signingKey = previous;
    expect((await verifyBundle(file)).ok).toBe(true);
    const pinned = await verifyBundle(file, { pinnedKey: original });
    expect(pinned.ok).toBe(false);
    expect(pinned.failure).toMatch(/^signer: signed by/);
  });
});
