/**
 * Packs a tenant bundle into a deterministic zip (`index.mjs`, its `chunks/` and `manifest.json`): same bundle,
 * same bytes, same SHA-256. Stored content-addressed under `.sovereign/artifacts/`, next to the
 * unpacked bundle the `dev` server runs.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../contract/canonical-json.js';
import { writeFileAtomic } from '../fs/atomic.js';
import type { ArtifactManifest, TenantBundle } from './bundle.js';
import { readZip, writeZip } from './zip.js';

export interface PackedArtifact {
  sha256: string;
  /** `.sovereign/artifacts/<sha256>.zip` */
  path: string;
  size: number;
  /** `.sovereign/artifacts/<sha256>/`: the unpacked bundle. */
  dir: string;
  /** `.sovereign/artifacts/<sha256>/index.mjs`: what a tenant process runs. */
  entry: string;
}

/** The zip bytes and their SHA-256. Pure. */
export function zipArtifact(bundle: Pick<TenantBundle, 'files' | 'manifest'>): { bytes: Buffer; sha256: string } {
  const bytes = writeZip([...bundle.files, { name: 'manifest.json', data: Buffer.from(canonicalJson(bundle.manifest, { layout: 'document' })) }]);
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Paths of the artifact `sha256` in an artifacts folder. */
export function artifactPaths(artifactsDir: string, sha256: string): Omit<PackedArtifact, 'size' | 'sha256'> {
  const dir = join(artifactsDir, sha256);
  return { path: join(artifactsDir, `${sha256}.zip`), dir, entry: join(dir, 'index.mjs') };
}

/**
 * Writes the zip and the unpacked bundle under `artifactsDir` (usually `.sovereign/artifacts`).
 * Content-addressed: an artifact already present is left as it is.
 */
export function packArtifact(bundle: Pick<TenantBundle, 'files' | 'manifest'>, artifactsDir: string): PackedArtifact {
  const { bytes, sha256 } = zipArtifact(bundle);
  const paths = artifactPaths(artifactsDir, sha256);
  mkdirSync(artifactsDir, { recursive: true });
  if (!existsSync(paths.path) || !readFileSync(paths.path).equals(bytes)) writeFileAtomic(paths.path, bytes);
  if (!existsSync(paths.entry)) {
    // Unpack into a sibling and rename it into place, so a reader never sees half a bundle.
    const staging = `${paths.dir}.tmp-${process.pid}-${Date.now()}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    for (const entry of readZip(bytes)) writeFileAtomic(join(staging, entry.name), entry.data);
    try {
      renameSync(staging, paths.dir);
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      // Another process unpacked the same artifact first: same content, nothing to do.
      if (!existsSync(paths.entry)) throw error;
    }
  }
  return { sha256, size: bytes.length, ...paths };
}

/** Reads an artifact's manifest from its zip. */
export function readArtifactManifest(zipPath: string): ArtifactManifest {
  const entry = readZip(readFileSync(zipPath)).find((e) => e.name === 'manifest.json');
  if (entry === undefined) throw new Error(`${zipPath} has no manifest.json`);
  return JSON.parse(entry.data.toString('utf8')) as ArtifactManifest;
}
