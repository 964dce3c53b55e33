/**
 * The extensions a bundle includes: each one's validated manifest (loaded by the extension
 * discovery), the handler files its routes and schedules name, and the hash of its source code.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { badInput, notFound } from '../errors.js';
import { loadExtension } from '../extensions/discover.js';
import type { ExtensionManifest } from '../runtime/extension.js';
import { runtimeEntry } from './locate.js';

export interface ExtensionSource {
  name: string;
  dir: string;
  manifestFile: string;
  manifest: ExtensionManifest<unknown>;
  /** Handler key → absolute file, for every handler the routes and schedules name. */
  handlers: Array<{ key: string; file: string }>;
  /** SHA-256 over the extension's source files (tests excluded), for audits. */
  codeSha256: string;
}

const SOURCE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];

function findSource(base: string): string | undefined {
  return SOURCE_EXTENSIONS.map((ext) => base + ext).find((file) => existsSync(file));
}

/** Handler file keys the routes and schedules name (`'create-quote#handler'` → `'create-quote'`). */
export function handlerKeys(manifest: Pick<ExtensionManifest<unknown>, 'routes' | 'schedules'>): string[] {
  return [...new Set([...manifest.routes, ...(manifest.schedules ?? [])].map((entry) => entry.handler.split('#')[0]!))].sort();
}

/** Loads the named extensions from `extensionsDir`, in name order. */
export async function loadExtensionSources(
  extensionsDir: string,
  names: string[],
  options: { runtime?: string } = {},
): Promise<ExtensionSource[]> {
  const runtime = options.runtime ?? runtimeEntry();
  const names_ = [...new Set(names)].sort();
  for (const name of names_) {
    const dir = join(extensionsDir, name);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw notFound(`extension "${name}" is not in ${extensionsDir}`, 'list the available ones with `sovereign ext list`');
    }
  }
  const found = await Promise.all(names_.map((name) => loadExtension(join(extensionsDir, name), { runtimeEntry: runtime })));
  const sources = found.map((extension): ExtensionSource => {
    const { name, dir } = extension;
    if (extension.status !== 'ok' || extension.manifest === undefined || extension.manifestFile === undefined) {
      const more = extension.problems.length > 1 ? ` (and ${extension.problems.length - 1} more problem(s))` : '';
      throw badInput(`extension "${name}" ${extension.problems[0] ?? 'is not valid'}${more}`, `run \`sovereign ext validate ${name}\``);
    }
    const manifest = extension.manifest as ExtensionManifest<unknown>;
    const handlers = handlerKeys(manifest).map((key) => {
      const file = findSource(join(dir, 'handlers', key));
      if (file === undefined) throw badInput(`extension "${name}": handler "${key}" has no file handlers/${key}.ts`);
      return { key, file };
    });
    return { name, dir, manifestFile: extension.manifestFile, manifest, handlers, codeSha256: extension.codeSha256 };
  });
  return sources;
}
