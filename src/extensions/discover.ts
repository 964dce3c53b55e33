/**
 * Finds the extensions of a project by scanning its extensions folder and loads each manifest.
 * Manifests are TypeScript, and the CLI runs as JavaScript from `dist/`, so each manifest is
 * bundled with esbuild into a temporary module and imported. One extension that fails to load
 * never prevents listing the others: it is reported with its error.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PluginBuild } from 'esbuild';
import { validateManifest, type ValidManifest } from './manifest-schema.js';
import { refuseUnrelatedSovereign, RUNTIME_SPECIFIER } from './package-specifier.js';

export type DiscoveryStatus = 'ok' | 'invalid' | 'failed';

export interface DiscoveredExtension {
  /** The folder name (which a valid manifest's name equals). */
  name: string;
  dir: string;
  /** `extension.ts` (or `.js`), when present. */
  manifestFile: string | undefined;
  /** `ok`: loaded and valid; `invalid`: loaded, with problems; `failed`: could not be loaded. */
  status: DiscoveryStatus;
  /** The validated manifest (status `ok`). */
  manifest: ValidManifest | undefined;
  /** The exported value as loaded (status `ok` or `invalid`). */
  loaded: unknown;
  /** Readable problems: the load error, or each manifest problem. */
  problems: string[];
  /** SHA-256 over the extension's source files (tests and dependencies excluded), for audits. */
  codeSha256: string;
}

export interface DiscoverOptions {
  /** Only these folder names (others are not loaded). */
  names?: string[];
  /** The `sovereign-cli/runtime` entry manifests are bundled against (default: this package's). */
  runtimeEntry?: string;
}

const MANIFEST_FILES = ['extension.ts', 'extension.mts', 'extension.js', 'extension.mjs'];
const here = dirname(fileURLToPath(import.meta.url));
const fromSource = fileURLToPath(import.meta.url).endsWith('.ts');

/** This package's runtime entry: `dist/runtime/index.js` from dist, `src/runtime/index.ts` under vitest. */
export function defaultRuntimeEntry(): string {
  return join(here, '..', 'runtime', fromSource ? 'index.ts' : 'index.js');
}

/** Files that make up an extension's code: everything but tests, dot-files and dependencies. */
export function extensionSourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) {
        if (entry.name === 'node_modules' || entry.name === 'test' || entry.name.startsWith('.')) continue;
        walk(path);
      } else if (entry.isFile() && !entry.name.startsWith('.') && !/\.test\.[cm]?[jt]sx?$/.test(entry.name)) {
        out.push(path);
      }
    }
  };
  walk(dir);
  return out.sort();
}

/** SHA-256 over the sorted relative paths and bytes of the extension's source files. */
export function extensionCodeHash(dir: string): string {
  const hash = createHash('sha256');
  for (const file of extensionSourceFiles(dir)) {
    const rel = relative(dir, file).split(sep).join('/');
    const data = readFileSync(file);
    hash.update(`${rel}\0${data.length}\0`).update(data);
  }
  return hash.digest('hex');
}

/** The file URL of this package's zod, so manifests share the CLI's zod instance. */
function zodUrl(): string | undefined {
  try {
    if (typeof import.meta.resolve === 'function') return import.meta.resolve('zod');
  } catch {
    // fall through to the package.json lookup
  }
  try {
    const pkgFile = createRequire(import.meta.url).resolve('zod/package.json');
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports?: { '.'?: { import?: string } } };
    const entry = pkg.exports?.['.']?.import ?? './index.js';
    return pathToFileURL(join(dirname(pkgFile), entry)).href;
  } catch {
    return undefined;
  }
}

/**
 * Bundles a manifest file and imports it. `sovereign-cli/runtime` resolves to `runtimeEntry`; zod is
 * left external and pointed at the CLI's own copy, so `instanceof` checks and
 * `z.toJSONSchema` see one zod.
 */
export async function importManifest(manifestFile: string, runtimeEntry = defaultRuntimeEntry()): Promise<unknown> {
  const { build } = await import('esbuild');
  const zod = zodUrl();
  const result = await build({
    entryPoints: [manifestFile],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    alias: { [RUNTIME_SPECIFIER]: runtimeEntry },
    external: ['@aws-sdk/*'],
    logLevel: 'silent',
    plugins: [
      refuseUnrelatedSovereign,
      ...(zod
        ? [
            {
              name: 'shared-zod',
              setup(b: PluginBuild) {
                b.onResolve({ filter: /^zod$/ }, () => ({ path: zod, external: true }));
              },
            },
          ]
        : []),
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), 'sovereign-manifest-'));
  try {
    const file = join(dir, 'manifest.mjs');
    writeFileSync(file, result.outputFiles[0]!.contents);
    const module = (await import(pathToFileURL(file).href)) as { default?: unknown };
    return module.default;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The first error of an esbuild failure as `file:line: text`, or an error's first line. */
export function firstLine(error: unknown): string {
  const e = error as { errors?: Array<{ text: string; location?: { file: string; line: number } | null }>; message?: string };
  if (Array.isArray(e.errors) && e.errors.length > 0) {
    const first = e.errors[0]!;
    return first.location ? `${first.location.file}:${first.location.line}: ${first.text}` : first.text;
  }
  return String(e.message ?? error).split('\n')[0] ?? String(error);
}

/** Folder names under `extensionsDir` that may be extensions (dot- and underscore-folders skipped). */
export function listExtensionFolders(extensionsDir: string): string[] {
  if (!existsSync(extensionsDir)) return [];
  return readdirSync(extensionsDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !e.name.startsWith('_'))
    .map((e) => e.name)
    .sort();
}

/** Loads and validates one extension folder; never throws. */
export async function loadExtension(dir: string, options: DiscoverOptions = {}): Promise<DiscoveredExtension> {
  const name = dir.split(sep).pop() ?? dir;
  const manifestFile = MANIFEST_FILES.map((f) => join(dir, f)).find((f) => existsSync(f));
  const base = { name, dir, manifestFile, codeSha256: existsSync(dir) ? extensionCodeHash(dir) : '' };
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    return { ...base, status: 'failed', manifest: undefined, loaded: undefined, problems: [`${dir} is not a folder`] };
  }
  if (manifestFile === undefined) {
    return { ...base, status: 'failed', manifest: undefined, loaded: undefined, problems: ['has no extension.ts manifest'] };
  }
  let loaded: unknown;
  try {
    loaded = await importManifest(manifestFile, options.runtimeEntry);
  } catch (error) {
    return { ...base, status: 'failed', manifest: undefined, loaded: undefined, problems: [`does not load: ${firstLine(error)}`] };
  }
  if (loaded === undefined) {
    return {
      ...base,
      status: 'failed',
      manifest: undefined,
      loaded,
      problems: ['extension.ts has no default export; end it with `export default defineExtension({ ... })`'],
    };
  }
  const result = validateManifest(loaded, { folderName: name });
  return result.ok
    ? { ...base, status: 'ok', manifest: result.manifest, loaded, problems: [] }
    : { ...base, status: 'invalid', manifest: undefined, loaded, problems: result.problems };
}

/** Scans `extensionsDir` and loads every extension (or the named ones), in name order. */
export async function discoverExtensions(extensionsDir: string, options: DiscoverOptions = {}): Promise<DiscoveredExtension[]> {
  const folders = listExtensionFolders(extensionsDir);
  const wanted = options.names ? folders.filter((f) => options.names!.includes(f)) : folders;
  return Promise.all(wanted.map((folder) => loadExtension(join(extensionsDir, folder), options)));
}
