/**
 * Reads the manifests of the extensions a bundle includes, and hashes their source code.
 * A manifest is TypeScript that imports zod and `sovereign/runtime`, so it is bundled by esbuild
 * into a temporary module and imported.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { badInput, notFound } from '../errors.js';
import type { ExtensionManifest } from '../runtime/extension.js';
import { packageRoot, runtimeEntry } from './locate.js';

export interface ExtensionSource {
  name: string;
  dir: string;
  manifestFile: string;
  manifest: ExtensionManifest<unknown>;
  /** Handler key → absolute file, for every handler the routes name. */
  handlers: Array<{ key: string; file: string }>;
  /** SHA-256 over the extension's source files (tests excluded), for audits. */
  codeSha256: string;
}

const SOURCE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];

function findSource(base: string): string | undefined {
  return SOURCE_EXTENSIONS.map((ext) => base + ext).find((file) => existsSync(file));
}

/** Files of an extension that make up its code: everything but tests and dependencies. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) {
        if (entry.name === 'node_modules' || entry.name === 'test' || entry.name.startsWith('.')) continue;
        walk(path);
      } else if (entry.isFile() && !/\.test\.[cm]?[jt]sx?$/.test(entry.name)) {
        out.push(path);
      }
    }
  };
  walk(dir);
  return out.sort();
}

/** Hash of the extension's code: sorted relative paths with their bytes. */
export function hashExtensionCode(dir: string): string {
  const hash = createHash('sha256');
  for (const file of sourceFiles(dir)) {
    const rel = relative(dir, file).split(sep).join('/');
    const data = readFileSync(file);
    hash.update(`${rel}\0${data.length}\0`).update(data);
  }
  return hash.digest('hex');
}

/** Handler file keys the routes name (`'create-quote#handler'` → `'create-quote'`). */
export function handlerKeys(manifest: Pick<ExtensionManifest<unknown>, 'routes'>): string[] {
  return [...new Set(manifest.routes.map((route) => route.handler.split('#')[0]!))].sort();
}

async function importManifest(manifestFile: string, runtime: string): Promise<unknown> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [manifestFile],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    alias: { 'sovereign/runtime': runtime },
    external: ['@aws-sdk/*'],
    nodePaths: [join(packageRoot(), 'node_modules')],
    logLevel: 'silent',
  });
  const dir = mkdtempSync(join(tmpdir(), 'sovereign-manifest-'));
  try {
    const file = join(dir, 'manifest.mjs');
    writeFileSync(file, result.outputFiles[0]!.contents);
    const module = (await import(pathToFileURL(file).href)) as { default?: unknown; manifest?: unknown };
    return module.default ?? module.manifest;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Loads the named extensions from `extensionsDir`, in name order. */
export async function loadExtensionSources(
  extensionsDir: string,
  names: string[],
  options: { runtime?: string } = {},
): Promise<ExtensionSource[]> {
  const runtime = options.runtime ?? runtimeEntry();
  const sources: ExtensionSource[] = [];
  for (const name of [...new Set(names)].sort()) {
    const dir = join(extensionsDir, name);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw notFound(`extension "${name}" is not in ${extensionsDir}`, 'list the available ones with `sovereign ext list`');
    }
    const manifestFile = findSource(join(dir, 'extension'));
    if (manifestFile === undefined) throw badInput(`extension "${name}" has no extension.ts`);
    let manifest: ExtensionManifest<unknown>;
    try {
      manifest = (await importManifest(manifestFile, runtime)) as ExtensionManifest<unknown>;
    } catch (error) {
      throw badInput(`extension "${name}" does not load: ${(error as Error).message.split('\n')[0]}`, `run \`sovereign ext validate ${name}\``);
    }
    if (!manifest || typeof manifest !== 'object' || manifest.name !== name || !Array.isArray(manifest.routes)) {
      throw badInput(`extension "${name}" does not export a manifest named "${name}"`, `run \`sovereign ext validate ${name}\``);
    }
    const handlers = handlerKeys(manifest).map((key) => {
      const file = findSource(join(dir, 'handlers', key));
      if (file === undefined) throw badInput(`extension "${name}": handler "${key}" has no file handlers/${key}.ts`);
      return { key, file };
    });
    sources.push({ name, dir, manifestFile, manifest, handlers, codeSha256: hashExtensionCode(dir) });
  }
  return sources;
}
