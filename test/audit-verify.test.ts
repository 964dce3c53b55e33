/**
 * `audit verify` check by check, on small bundles built here (a real chain segment, a report and
 * an evidence file, signed with a throwaway key): each alteration must fail on the check that owns
 * it, with the message an auditor reads, and an intact bundle must pass every check.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { crc32, deflateRawSync } from 'node:zlib';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GZIP_HEADER, sealMessage, tarHeader, writeTarGz } from '../src/audit/archive.js';
import { CHAIN_FILE, EVENTS_FILE, type WrittenSegment } from '../src/audit/chain.js';
import { BUNDLE_FORMAT, MANIFEST_FILE, serializeManifest, signedBytes } from '../src/audit/manifest.js';
import { keyFingerprint, localCheckpointSigner, serializeCheckpoint, signCheckpointSync } from '../src/audit/checkpoint.js';
import { publicKeyBase64 } from '../src/audit/signing.js';
import { verifyBundle, type BundleVerification } from '../src/audit/verify.js';
import { hashEvent, type AuditEvent } from '../src/state/audit-log.js';
import { exportSegment, makeLog } from './helpers/audit-log.js';

type Manifest = Record<string, any>;
interface Item {
  name: string;
  data: Buffer;
}
interface Build {
  /** Changes the files before the manifest lists them (the manifest stays consistent). */
  data?: (files: Map<string, Buffer>) => void;
  /** Changes the manifest before it is signed. */
  manifest?: (manifest: Manifest) => void;
  /** Changes the manifest after it is signed. */
  signed?: (manifest: Manifest) => void;
  /** Changes the manifest's text. */
  text?: (text: string) => string;
  /** Changes the archive's entries (the manifest first). */
  entries?: (items: Item[]) => Item[] | void;
  /** Writes the archive without writeTarGz's checks (which refuse a name twice). */
  raw?: boolean;
  /** Signs the manifest with this key instead (the seal stays the project's). */
  manifestKey?: { privateKey: KeyObject; publicKey: KeyObject };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const key = generateKeyPairSync('ed25519');
const otherKey = generateKeyPairSync('ed25519');
let work: string;
let segment: { written: WrittenSegment; events: Buffer; chain: Buffer };
let count = 0;

beforeAll(async () => {
  const { dir, log } = makeLog();
  const exported = await exportSegment(dir, log);
  segment = { written: exported.written, events: readFileSync(exported.events), chain: readFileSync(exported.chain) };
  work = mkdtempSync(join(tmpdir(), 'sovereign-verify-test-'));
});

async function bundle(build: Build = {}): Promise<string> {
  const files = new Map<string, Buffer>([
    [EVENTS_FILE, Buffer.from(segment.events)],
    [CHAIN_FILE, Buffer.from(segment.chain)],
    ['evidence/tenant.json', Buffer.from('{"tenant":"acme"}\n')],
    ['report.html', Buffer.from('<!doctype html><title>acme</title><p>4 events</p>\n')],
  ]);
  build.data?.(files);
  const names = [...files.keys()].sort();
  const signer = build.manifestKey ?? key;
  const { written } = segment;
  const manifest: Manifest = {
    format: BUNDLE_FORMAT,
    formatVersion: 1,
    tool: { name: 'sovereign', version: '9.9.9-test' },
    generatedAt: '2026-02-01T00:00:00.000Z',
    project: 'proj',
    tenant: 'acme',
    stage: 'dev',
    target: 'local',
    since: null,
    signer: { algorithm: 'Ed25519', publicKey: publicKeyBase64(signer.publicKey), fingerprint: keyFingerprint(signer.publicKey) },
    files: names.map((path) => ({ path, sha256: sha256(files.get(path)!), size: files.get(path)!.length })),
    sections: [
      { id: 'audit', title: 'Audit events', status: 'ok', files: [EVENTS_FILE, CHAIN_FILE] },
      { id: 'report', title: 'Report', status: 'ok', files: ['report.html', 'evidence/tenant.json'] },
    ],
    auditChain: {
      format: 'sovereign-audit-chain-1',
      events: EVENTS_FILE,
      chain: CHAIN_FILE,
      tenantEvents: written.tenantEvents,
      segmentEvents: written.segmentEvents,
      gapRuns: written.gapRuns,
      anchor: written.anchor,
      head: written.head,
    },
  };
  build.manifest?.(manifest);
  manifest.signature = { algorithm: 'Ed25519', over: 'canonical JSON of the manifest without signature', value: sign(null, signedBytes(manifest as never), signer.privateKey).toString('base64') };
  build.signed?.(manifest);
  const text = build.text ? build.text(serializeManifest(manifest)) : serializeManifest(manifest);
  let items: Item[] = [{ name: MANIFEST_FILE, data: Buffer.from(text) }, ...names.map((name) => ({ name, data: files.get(name)! }))];
  items = build.entries?.(items) ?? items;
  count += 1;
  if (build.raw) return rawTarGz(join(work, `b${count}.tar.gz`), items);
  const dir = join(work, `b${count}`);
  mkdirSync(dir);
  const entries = items.map((item, i) => {
    const file = join(dir, String(i));
    writeFileSync(file, item.data);
    return { name: item.name, file, size: item.data.length };
  });
  const out = join(work, `b${count}.tar.gz`);
  await writeTarGz(out, entries, { sign: (message) => sign(null, message, key.privateKey) });
  return out;
}

/** The bundle's container written by hand: tar entries as given, one deflate stream, the seal over what follows the header. */
function rawTarGz(out: string, items: Item[]): string {
  const tar = Buffer.concat([...items.flatMap((i) => [tarHeader(i.name, i.data.length), i.data, Buffer.alloc((512 - (i.data.length % 512)) % 512)]), Buffer.alloc(1024)]);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(tar) >>> 0, 0);
  trailer.writeUInt32LE(tar.length, 4);
  const body = Buffer.concat([deflateRawSync(tar), trailer]);
  const digest = createHash('sha256').update(body).digest();
  const seal = Buffer.concat([digest, sign(null, sealMessage(digest), key.privateKey)]);
  writeFileSync(out, Buffer.concat([GZIP_HEADER, Buffer.from([100, 0]), Buffer.from('SV'), Buffer.from([96, 0]), seal, body]));
  return out;
}

const failure = async (build: Build): Promise<string | null> => (await verifyBundle(await bundle(build))).failure;
const fp16 = (k: KeyObject) => keyFingerprint(k);

describe('audit verify on an intact bundle', () => {
  it('passes every check, in order, and says what it checked', async () => {
    const result: BundleVerification = await verifyBundle(await bundle());
    const { written } = segment;
    expect(result).toMatchObject({ ok: true, failure: null, tenant: 'acme', generatedAt: '2026-02-01T00:00:00.000Z', toolVersion: '9.9.9-test', signer: { fingerprint: keyFingerprint(key.publicKey), pinned: false } });
    expect(result.checks.every((c) => c.ok)).toBe(true);
    expect(result.checks.map((c) => c.check)).toEqual(['archive', 'manifest', 'signature', 'seal', 'signer', 'files', `hash ${CHAIN_FILE}`, `hash ${EVENTS_FILE}`, 'hash evidence/tenant.json', 'hash report.html', 'audit chain']);
    const detail = Object.fromEntries(result.checks.map((c) => [c.check, c.detail]));
    expect(detail.archive).toBe('canonical gzip and tar, 5 entries, nothing appended, compressed bytes match their sealed SHA-256');
    expect(detail.manifest).toBe('tenant acme, generated 2026-02-01T00:00:00.000Z by sovereign 9.9.9-test, 4 files listed');
    expect(detail.signature).toBe(`Ed25519 signature valid, signer ${keyFingerprint(key.publicKey)}`);
    expect(detail.seal).toBe('the compressed file is sealed by the same signer');
    expect(detail.signer).toBe('not pinned (pass --key to require a signer)');
    expect(detail.files).toBe('4 files present, none missing or added');
    expect(detail['hash report.html']).toBe(`sha256 ${sha256(Buffer.from('<!doctype html><title>acme</title><p>4 events</p>\n'))}`);
    expect(detail['audit chain']).toBe(`4 events of acme link into the chain from seq 0 to head seq 9 (${written.head.hash.slice(0, 16)}…)`);
  });

  it('a manifest without the tool block verifies, with no tool version', async () => {
    const result = await verifyBundle(await bundle({ manifest: (m) => void delete m.tool }));
    expect(result).toMatchObject({ ok: true, toolVersion: null });
  });

  it('with the signer pinned: passes for its key, fails naming both keys for another', async () => {
    const file = await bundle();
    const pinned = await verifyBundle(file, { pinnedKey: publicKeyBase64(key.publicKey) });
    expect(pinned).toMatchObject({ ok: true, signer: { pinned: true } });
    expect(pinned.checks.find((c) => c.check === 'signer')).toEqual({ check: 'signer', ok: true, detail: `the signer is the pinned key ${keyFingerprint(key.publicKey)}` });
    const other = await verifyBundle(file, { pinnedKey: publicKeyBase64(otherKey.publicKey) });
    expect(other.ok).toBe(false);
    expect(other.failure).toBe(`signer: signed by ${fp16(key.publicKey)}, not by the pinned key ${fp16(otherKey.publicKey)}`);
  });
});

describe('audit verify leaves nothing behind', () => {
  const verifyDirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith('sovereign-verify-') && !name.startsWith('sovereign-verify-test-'));
  const openFiles = () => readdirSync('/proc/self/fd').length;

  it('no extracted entries and no open files, for a good bundle or a broken one', async () => {
    const good = await bundle();
    const junk = join(work, 'truncated.tar.gz');
    writeFileSync(junk, readFileSync(good).subarray(0, 400));
    await verifyBundle(good);
    const [dirs, files] = [verifyDirs(), openFiles()];
    for (let i = 0; i < 5; i += 1) {
      expect((await verifyBundle(good)).ok).toBe(true);
      expect((await verifyBundle(junk)).failure).toMatch(/^archive: /);
    }
    expect(verifyDirs()).toEqual(dirs);
    expect(openFiles()).toBe(files);
  });
});

describe('audit verify refuses', () => {
  it('a missing file, a folder and a file that is not a bundle', async () => {
    const missing = join(work, 'nothing-here.tar.gz');
    expect((await verifyBundle(missing)).failure).toBe(`archive: ${missing} does not exist`);
    expect((await verifyBundle(work)).failure).toBe(`archive: ${work} cannot be read (EISDIR)`);
    const junk = join(work, 'junk.tar.gz');
    writeFileSync(junk, 'not a gzip file at all');
    const result = await verifyBundle(junk);
    expect(result).toMatchObject({ ok: false, tenant: null, signer: null });
    expect(result.failure).toMatch(/^archive: /);
    expect(result.checks).toHaveLength(1);
  });

  it('a bundle without its manifest, or with the manifest not first', async () => {
    expect(await failure({ entries: (items) => items.slice(1) })).toBe('manifest: manifest.json is missing');
    expect(await failure({ entries: (items) => [...items.slice(1), items[0]!] })).toBe('manifest: manifest.json is not the first entry');
  });

  it('a manifest that is not JSON, not a bundle manifest, or lacks a part', async () => {
    expect(await failure({ text: (t) => t.slice(0, -5) })).toBe('manifest: manifest.json is not valid JSON');
    expect(await failure({ text: () => 'null\n' })).toBe('manifest: manifest.json is not a sovereign audit bundle manifest');
    expect(await failure({ manifest: (m) => void (m.format = 'other-bundle') })).toBe('manifest: manifest.json is not a sovereign audit bundle manifest');
    const lacks = 'manifest: manifest.json lacks files, signer, signature or audit chain';
    expect(await failure({ manifest: (m) => void (m.files = { 'report.html': 'x' }) })).toBe(lacks);
    expect(await failure({ manifest: (m) => void delete m.files })).toBe(lacks);
    expect(await failure({ signed: (m) => void (m.signer = { algorithm: 'Ed25519' }) })).toBe(lacks);
    expect(await failure({ signed: (m) => void delete m.signer })).toBe(lacks);
    expect(await failure({ signed: (m) => void (m.signature = { algorithm: 'Ed25519', value: 42 }) })).toBe(lacks);
    expect(await failure({ signed: (m) => void delete m.signature })).toBe(lacks);
    expect(await failure({ manifest: (m) => void delete m.auditChain })).toBe(lacks);
  });

  it('a manifest whose text is not in its one canonical form', async () => {
    expect(await failure({ text: (t) => t.replace('\n', '\n ') })).toBe('manifest: manifest.json is not in its canonical form (it was edited)');
    expect(await failure({ text: (t) => `${t}\n` })).toBe('manifest: manifest.json is not in its canonical form (it was edited)');
  });

  it('a manifest changed after signing, a signer key that is not Ed25519, and a seal by another key', async () => {
    expect(await failure({ signed: (m) => void (m.tenant = 'globex') })).toBe(`signature: the Ed25519 signature does not match the manifest (signer ${fp16(key.publicKey)})`);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(await failure({ signed: (m) => void (m.signer.publicKey = rsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')) })).toBe('signature: the signer public key is not an Ed25519 key');
    expect(await failure({ manifestKey: otherKey })).toBe("seal: the seal of the compressed file is not signed by the manifest's signer (the file was re-packed)");
  });

  it('a file twice in the archive or in the manifest', async () => {
    expect(await failure({ raw: true })).toBeNull();
    expect(await failure({ raw: true, entries: (items) => [...items, items[4]!] })).toBe('files: report.html appears more than once');
    expect(await failure({ raw: true, entries: (items) => [items[0]!, items[0]!, ...items.slice(1)] })).toBe('files: manifest.json appears more than once');
    expect(await failure({ manifest: (m) => void m.files.push({ ...m.files[3] }) })).toBe('files: the manifest lists a file twice');
  });

  it('a missing, an added and a renamed file', async () => {
    expect(await failure({ entries: (items) => items.filter((i) => i.name !== 'report.html') })).toBe('files: report.html is missing');
    expect(await failure({ entries: (items) => items.filter((i) => !i.name.startsWith('evidence/') && i.name !== 'report.html') })).toBe('files: evidence/tenant.json is missing (and 1 more)');
    expect(await failure({ entries: (items) => [...items, { name: 'zz-notes.txt', data: Buffer.from('x') }] })).toBe('files: zz-notes.txt is not in the manifest (a file was added)');
    expect(await failure({ entries: (items) => items.map((i) => (i.name === 'report.html' ? { ...i, name: 'report2.html' } : i)) })).toBe(
      'files: report.html is missing and report2.html is not in the manifest (a file was renamed or replaced)',
    );
  });

  it('entries out of their canonical order', async () => {
    expect(await failure({ entries: (items) => [items[0]!, ...items.slice(1).reverse()] })).toBe('files: the entries are not in their canonical order');
  });

  it('a file whose bytes or size differ from the manifest', async () => {
    const report = (await failure({ entries: (items) => items.map((i) => (i.name === 'report.html' ? { ...i, data: Buffer.from(i.data.toString().replace('4 events', '5 events')) } : i)) }))!;
    expect(report).toMatch(/^hash report\.html: SHA-256 [0-9a-f]{16}… does not match the manifest's [0-9a-f]{16}… \(the file was changed\)$/);
    // The right SHA-256 but another size in the manifest (re-signed): still refused.
    expect(await failure({ manifest: (m) => void (m.files.find((f: Manifest) => f.path === 'report.html').size += 1) })).toMatch(/^hash report\.html: /);
  });

  it('a section that names a file not in the bundle', async () => {
    expect(await failure({ manifest: (m) => void m.sections[1].files.push('evidence/nope.json') })).toBe('sections: section report names evidence/nope.json, which is not in the bundle');
  });

  it('audit chain files missing from the bundle, a chain that does not check, and a wrong event count', async () => {
    expect(await failure({ manifest: (m) => void (m.auditChain.events = 'audit/other.jsonl') })).toBe('audit chain: the audit event files are not in the bundle');
    expect(await failure({ manifest: (m) => void (m.auditChain.chain = 'audit/other.jsonl') })).toBe('audit chain: the audit event files are not in the bundle');
    expect(await failure({ manifest: (m) => void (m.auditChain.head = { ...m.auditChain.head, seq: 10 }) })).toBe(`audit chain: ${CHAIN_FILE}'s head differs from the manifest's`);
    // An event rewritten with its hash recomputed, listed consistently in the manifest: only the chain can tell.
    const forged = await failure({
      data: (files) => {
        const lines = files.get(EVENTS_FILE)!.toString().trim().split('\n');
        const { hash: _hash, ...body } = JSON.parse(lines[1]!) as AuditEvent;
        body.action = 'a.forged';
        lines[1] = JSON.stringify({ ...body, hash: hashEvent(body) });
        files.set(EVENTS_FILE, Buffer.from(`${lines.join('\n')}\n`));
      },
    });
    expect(forged).toMatch(/^audit chain: event seq 6: prevHash does not link/);
    expect(await failure({ manifest: (m) => void (m.auditChain.tenantEvents = 5) })).toBe(`audit chain: 4 events in ${EVENTS_FILE}, the manifest says 5`);
  });

  it('a chain file whose first line is not JSON, signed as it is: reported, not thrown', async () => {
    for (const first of ['not json', 'null']) {
      const result = await verifyBundle(await bundle({ data: (files) => void files.set(CHAIN_FILE, Buffer.from(`${first}\n${files.get(CHAIN_FILE)!.toString().split('\n').slice(1).join('\n')}`)) }));
      expect(result.failure).toBe(`audit chain: ${CHAIN_FILE} does not start with its anchor`);
    }
  });
});

describe('audit verify of the checkpoints a bundle carries (format 2)', () => {
  const CHECKPOINTS = 'audit/checkpoints.jsonl';
  const checkpointKey = generateKeyPairSync('ed25519');
  const signerOf = (k: { privateKey: KeyObject }) => localCheckpointSigner(k.privateKey);
  const at = (point: { seq: number; hash: string }, k: { privateKey: KeyObject } = checkpointKey) => signCheckpointSync(signerOf(k), { seq: point.seq, headHash: point.hash, count: point.seq, time: '2026-02-01T00:00:00.000Z' });
  /** A format-2 bundle: `lines` are the checkpoints file, `listed` what the manifest says of it. */
  const withCheckpoints = (lines: string[], listed: (m: Manifest) => Record<string, unknown> | undefined = () => ({}), extra: Build = {}) =>
    bundle({
      ...extra,
      data: (files) => void files.set(CHECKPOINTS, Buffer.from(lines.map((l) => `${l}\n`).join(''))),
      manifest: (m) => {
        m.formatVersion = 2;
        const spec = listed(m);
        if (spec !== undefined) m.auditChain.checkpoints = { file: CHECKPOINTS, count: lines.length, signer: { algorithm: 'Ed25519', publicKey: publicKeyBase64(checkpointKey.publicKey) }, ...spec };
        extra.manifest?.(m);
      },
    });
  const checkpointFailure = async (file: string) => {
    const result = await verifyBundle(file);
    return result.checks.find((c) => c.check === 'checkpoints');
  };

  it('passes with a checkpoint of the head signed by the key the manifest names, saying who signed it', async () => {
    const check = await checkpointFailure(await withCheckpoints([serializeCheckpoint(at(segment.written.head))]));
    expect(check).toEqual({ check: 'checkpoints', ok: true, detail: `the head seq ${segment.written.head.seq} is covered by a checkpoint signed by ${keyFingerprint(checkpointKey.publicKey)}` });
    // Signed by the bundle's own key: named as such.
    const own = await withCheckpoints([serializeCheckpoint(at(segment.written.head, key))], () => ({ signer: { algorithm: 'Ed25519', publicKey: publicKeyBase64(key.publicKey) } }));
    expect((await checkpointFailure(own))?.detail).toBe(`the head seq ${segment.written.head.seq} is covered by a checkpoint signed by the bundle signer`);
  });

  it.each([
    ['no checkpoints in the manifest', () => withCheckpoints([serializeCheckpoint(at(segment.written.head))], () => undefined), 'the manifest names no checkpoints'],
    ['a signer that is not a string', () => withCheckpoints([serializeCheckpoint(at(segment.written.head))], () => ({ signer: { publicKey: 7 } })), 'the manifest names no checkpoints'],
    ['a signer that is not a public key', () => withCheckpoints([serializeCheckpoint(at(segment.written.head))], () => ({ signer: { publicKey: 'bm90IGEga2V5' } })), 'the checkpoint signer is not a public key'],
    ['a count that differs from the file', () => withCheckpoints([serializeCheckpoint(at(segment.written.head))], () => ({ count: 2 })), `${'audit/checkpoints.jsonl'} holds 1 checkpoints, the manifest says 2`],
    ['a line that is not a checkpoint', () => withCheckpoints(['{"seq":"x"}']), `${'audit/checkpoints.jsonl'} line 1 is not a checkpoint`],
    ['a checkpoint signed by another key', () => withCheckpoints([serializeCheckpoint(at(segment.written.head, otherKey))]), `checkpoint seq ${9} is not signed by the checkpoint key`],
    ['a checkpoint of an event inside the segment', () => withCheckpoints([serializeCheckpoint(at({ seq: 5, hash: segment.written.head.hash }))]), 'checkpoint seq 5 is neither the segment\'s anchor nor its head'],
    ['a checkpoint of the head that signed another event', () => withCheckpoints([serializeCheckpoint(at({ seq: segment.written.head.seq, hash: 'e'.repeat(64) }))]), `checkpoint seq ${9} signed another event than the chain's (the events were rewritten)`],
  ] as const)('fails on %s', async (_what, make, message) => {
    const check = await checkpointFailure(await make());
    expect(check?.ok).toBe(false);
    expect(check?.detail.startsWith(message)).toBe(true);
  });

  it('fails when the checkpoints file is missing from the bundle, or none covers the head', async () => {
    const missing = await bundle({ manifest: (m) => void ((m.formatVersion = 2), (m.auditChain.checkpoints = { file: CHECKPOINTS, count: 0, signer: { algorithm: 'Ed25519', publicKey: publicKeyBase64(checkpointKey.publicKey) } })) });
    expect((await checkpointFailure(missing))).toEqual({ check: 'checkpoints', ok: false, detail: `${CHECKPOINTS} is not in the bundle` });
    const none = await withCheckpoints([]);
    expect((await checkpointFailure(none))).toEqual({ check: 'checkpoints', ok: false, detail: `no checkpoint covers the head seq ${segment.written.head.seq}` });
  });
});
