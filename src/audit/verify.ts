/**
 * `sovereign audit verify`: proves a bundle is exactly what its signer produced.
 *
 * In order: the container (canonical gzip and tar, nothing appended), the manifest (present first,
 * in its one exact form), the Ed25519 signature over it, the pinned signer when one is given, the
 * set of files (none missing, added, renamed or repeated), the SHA-256 and size of every file, and
 * the hash chain of the audit events. Entries stream to a private temporary folder, so a bundle
 * with a million events is checked without holding them in memory.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArchiveError, readTarGz, type ReadResult } from './archive.js';
import { checkTenantSegment } from './chain.js';
import { checkpointSignedBy, keyFingerprint, parseCheckpoint } from './checkpoint.js';
import { BUNDLE_FORMAT, MANIFEST_FILE, serializeManifest, signedBytes, type BundleManifest } from './manifest.js';
import { parsePublicKeyBase64, verifyBytes } from './signing.js';

export interface VerifyCheck {
  check: string;
  ok: boolean;
  detail: string;
}

export interface BundleVerification {
  ok: boolean;
  bundle: string;
  tenant: string | null;
  generatedAt: string | null;
  toolVersion: string | null;
  signer: { fingerprint: string; pinned: boolean } | null;
  checks: VerifyCheck[];
  /** The first failed check, as one line. */
  failure: string | null;
}

interface ExtractedEntry {
  name: string;
  file: string;
  size: number;
  sha256: string;
  index: number;
}

export interface VerifyOptions {
  /** Base64 SPKI of the signer the bundle must have. */
  pinnedKey?: string;
  /** Base64 SPKI of the signers the bundle may have (the project's `audit.trustedKeys`). */
  pinnedKeys?: string[];
  /** Fail when no key is pinned (the CLI, unless the user asked to trust the bundle's own key). */
  requirePinned?: boolean;
}

/**
 * The bundle's checkpoints: each signed by the checkpoint signer the (signed) manifest names, each
 * at the segment's anchor or head with that point's hash, and one at the head, so the key that
 * anchors the log vouches for every event up to it. Returns the problem, or what passed.
 */
function checkCheckpoints(chain: BundleManifest['auditChain'], file: string | undefined, bundleSigner: string): string | { detail: string } {
  const listed = chain.checkpoints;
  if (!listed || typeof listed.signer?.publicKey !== 'string') return 'the manifest names no checkpoints';
  if (!file) return `${listed.file} is not in the bundle`;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(listed.signer.publicKey, 'base64'), format: 'der', type: 'spki' });
  } catch {
    return 'the checkpoint signer is not a public key';
  }
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  if (lines.length !== listed.count) return `${listed.file} holds ${lines.length} checkpoints, the manifest says ${listed.count}`;
  let coversHead = chain.head.seq === 0;
  for (const [i, text] of lines.entries()) {
    const checkpoint = parseCheckpoint(text);
    if (!checkpoint) return `${listed.file} line ${i + 1} is not a checkpoint`;
    if (!checkpointSignedBy(checkpoint, key)) return `checkpoint seq ${checkpoint.seq} is not signed by the checkpoint key ${keyFingerprint(key)}`;
    const point = checkpoint.seq === chain.head.seq ? chain.head : checkpoint.seq === chain.anchor.seq ? chain.anchor : undefined;
    if (!point) return `checkpoint seq ${checkpoint.seq} is neither the segment's anchor nor its head`;
    if (point.hash !== checkpoint.headHash) return `checkpoint seq ${checkpoint.seq} signed another event than the chain's (the events were rewritten)`;
    if (point === chain.head) coversHead = true;
  }
  if (!coversHead) return `no checkpoint covers the head seq ${chain.head.seq}`;
  const by = listed.signer.publicKey === bundleSigner ? 'the bundle signer' : keyFingerprint(key);
  return { detail: lines.length === 0 ? 'an empty log: nothing to cover' : `the head seq ${chain.head.seq} is covered by a checkpoint signed by ${by}` };
}

/** Verifies a bundle; never throws for a bad bundle, only reports. */
export async function verifyBundle(path: string, options: VerifyOptions = {}): Promise<BundleVerification> {
  const checks: VerifyCheck[] = [];
  const result: BundleVerification = { ok: false, bundle: path, tenant: null, generatedAt: null, toolVersion: null, signer: null, checks, failure: null };
  const done = (): BundleVerification => {
    const failed = checks.find((c) => !c.ok);
    result.ok = failed === undefined;
    result.failure = failed ? `${failed.check}: ${failed.detail}` : null;
    return result;
  };
  const pass = (check: string, detail: string) => checks.push({ check, ok: true, detail });
  const fail = (check: string, detail: string) => {
    checks.push({ check, ok: false, detail });
    return done();
  };

  const dir = mkdtempSync(join(tmpdir(), 'sovereign-verify-'));
  try {
    const entries: ExtractedEntry[] = [];
    let current: { entry: ExtractedEntry; fd: number; hash: ReturnType<typeof createHash>; written: number } | undefined;
    let seal: ReadResult['seal'];
    try {
      const read = await readTarGz(path, {
        start(name, size, index) {
          const entry: ExtractedEntry = { name, file: join(dir, `entry-${index}`), size, sha256: '', index };
          current = { entry, fd: openSync(entry.file, 'wx', 0o600), hash: createHash('sha256'), written: 0 };
        },
        data(chunk) {
          current!.hash.update(chunk);
          current!.written += chunk.length;
          let offset = 0;
          while (offset < chunk.length) offset += writeSync(current!.fd, chunk, offset, chunk.length - offset);
        },
        end() {
          closeSync(current!.fd);
          current!.entry.sha256 = current!.hash.digest('hex');
          entries.push(current!.entry);
          current = undefined;
        },
      });
      seal = read.seal;
      pass('archive', `canonical gzip and tar, ${read.entries} entries, nothing appended, compressed bytes match their sealed SHA-256`);
    } catch (error) {
      if (current) closeSync(current.fd);
      if (error instanceof ArchiveError) return fail('archive', error.message);
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return fail('archive', `${path} does not exist`);
      if (code === 'EISDIR' || code === 'EACCES' || code === 'EPERM') return fail('archive', `${path} cannot be read (${code})`);
      throw error;
    }

    // Manifest.
    const manifestEntry = entries[0];
    if (!manifestEntry || manifestEntry.name !== MANIFEST_FILE) {
      return fail('manifest', entries.some((e) => e.name === MANIFEST_FILE) ? `${MANIFEST_FILE} is not the first entry` : `${MANIFEST_FILE} is missing`);
    }
    const text = readFileSync(manifestEntry.file, 'utf8');
    let manifest: BundleManifest;
    try {
      manifest = JSON.parse(text) as BundleManifest;
    } catch {
      return fail('manifest', `${MANIFEST_FILE} is not valid JSON`);
    }
    if (typeof manifest !== 'object' || manifest === null || manifest.format !== BUNDLE_FORMAT) return fail('manifest', `${MANIFEST_FILE} is not a sovereign audit bundle manifest`);
    if (!Array.isArray(manifest.files) || typeof manifest.signer?.publicKey !== 'string' || typeof manifest.signature?.value !== 'string' || !manifest.auditChain) {
      return fail('manifest', `${MANIFEST_FILE} lacks files, signer, signature or audit chain`);
    }
    if (serializeManifest(manifest as unknown as Record<string, unknown>) !== text) return fail('manifest', `${MANIFEST_FILE} is not in its canonical form (it was edited)`);
    result.tenant = manifest.tenant;
    result.generatedAt = manifest.generatedAt;
    result.toolVersion = manifest.tool?.version ?? null;
    pass('manifest', `tenant ${manifest.tenant}, generated ${manifest.generatedAt} by sovereign ${manifest.tool?.version}, ${manifest.files.length} files listed`);

    // Signature.
    let fingerprint: string;
    try {
      const key = parsePublicKeyBase64(manifest.signer.publicKey);
      fingerprint = keyFingerprint(key);
      if (!verifyBytes(key, signedBytes(manifest), manifest.signature.value)) return fail('signature', `the Ed25519 signature does not match the manifest (signer ${fingerprint})`);
    } catch {
      return fail('signature', 'the signer public key is not an Ed25519 key');
    }
    const pinnedKeys = [...(options.pinnedKey === undefined ? [] : [options.pinnedKey]), ...(options.pinnedKeys ?? [])];
    result.signer = { fingerprint, pinned: pinnedKeys.length > 0 };
    pass('signature', `Ed25519 signature valid, signer ${fingerprint}`);
    if (!verifyBytes(parsePublicKeyBase64(manifest.signer.publicKey), seal.message, seal.signature.toString('base64'))) {
      return fail('seal', 'the seal of the compressed file is not signed by the manifest\'s signer (the file was re-packed)');
    }
    pass('seal', 'the compressed file is sealed by the same signer');
    if (pinnedKeys.length > 0) {
      if (!pinnedKeys.includes(manifest.signer.publicKey)) {
        const names = pinnedKeys.map((k) => keyFingerprint(parsePublicKeyBase64(k))).join(', ');
        return fail('signer', `signed by ${fingerprint}, not by the pinned key${pinnedKeys.length > 1 ? 's' : ''} ${names}`);
      }
      pass('signer', `the signer is the pinned key ${fingerprint}`);
    } else if (options.requirePinned) {
      return fail('signer', `signed by ${fingerprint}, and no key is pinned`);
    } else {
      pass('signer', 'not pinned (pass --key to require a signer)');
    }

    // File set.
    const listed = new Map(manifest.files.map((f) => [f.path, f]));
    const present = new Map<string, ExtractedEntry>();
    for (const entry of entries.slice(1)) {
      if (entry.name === MANIFEST_FILE || present.has(entry.name)) return fail('files', `${entry.name} appears more than once`);
      present.set(entry.name, entry);
    }
    if (listed.size !== manifest.files.length) return fail('files', 'the manifest lists a file twice');
    const missing = [...listed.keys()].filter((p) => !present.has(p));
    const extra = [...present.keys()].filter((p) => !listed.has(p));
    if (missing.length > 0 && extra.length > 0) return fail('files', `${missing[0]} is missing and ${extra[0]} is not in the manifest (a file was renamed or replaced)`);
    if (missing.length > 0) return fail('files', `${missing[0]} is missing${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''}`);
    if (extra.length > 0) return fail('files', `${extra[0]} is not in the manifest (a file was added)`);
    const order = entries.slice(1).map((e) => e.name);
    const sorted = [...order].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (order.join('\n') !== sorted.join('\n')) return fail('files', 'the entries are not in their canonical order');
    pass('files', `${present.size} files present, none missing or added`);

    // Hashes.
    for (const file of manifest.files) {
      const entry = present.get(file.path)!;
      if (entry.size !== file.size || entry.sha256 !== file.sha256) {
        return fail(`hash ${file.path}`, `SHA-256 ${entry.sha256.slice(0, 16)}… does not match the manifest's ${String(file.sha256).slice(0, 16)}… (the file was changed)`);
      }
      pass(`hash ${file.path}`, `sha256 ${file.sha256}`);
    }
    for (const section of manifest.sections ?? []) {
      for (const file of section.files ?? []) if (!listed.has(file)) return fail('sections', `section ${section.id} names ${file}, which is not in the bundle`);
    }

    // Audit chain.
    const chain = manifest.auditChain;
    const eventsEntry = present.get(chain.events);
    const chainEntry = present.get(chain.chain);
    if (!eventsEntry || !chainEntry) return fail('audit chain', 'the audit event files are not in the bundle');
    const checked = await checkTenantSegment(eventsEntry.file, chainEntry.file, manifest.tenant, { anchor: chain.anchor, head: chain.head });
    if (!checked.ok) return fail('audit chain', checked.problem!);
    if (checked.tenantEvents !== chain.tenantEvents) return fail('audit chain', `${checked.tenantEvents} events in ${chain.events}, the manifest says ${chain.tenantEvents}`);
    pass('audit chain', `${checked.tenantEvents} events of ${manifest.tenant} link into the chain from seq ${chain.anchor.seq} to head seq ${chain.head.seq} (${chain.head.hash.slice(0, 16)}…)`);

    // Checkpoints (format 2 on): signed heads that cover the segment.
    if (manifest.formatVersion >= 2) {
      const problem = checkCheckpoints(chain, present.get(chain.checkpoints?.file ?? '')?.file, manifest.signer.publicKey);
      if (typeof problem === 'string') return fail('checkpoints', problem);
      pass('checkpoints', problem.detail);
    }
    return done();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
