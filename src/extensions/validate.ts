/**
 * `sovereign ext validate`: every manifest valid; no two routes collide (across all extensions,
 * on the full `/<extension>/…` path); handler files exist and export what the manifest names;
 * permissions are tenant-scoped (checked by the manifest schema); and every secret key a handler
 * or service reads with `ctx.secrets.get('…')` is declared.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { discoverExtensions, type DiscoveredExtension, type DiscoverOptions } from './discover.js';
import { routeShape, type ValidManifest } from './manifest-schema.js';
import { extensionRoutePath } from '../contract/runtime-paths.js';

export interface ExtensionValidation {
  name: string;
  version: string | undefined;
  ok: boolean;
  problems: string[];
  /** Not failures: e.g. a declared secret nothing reads. */
  warnings: string[];
  /** Routes anyone may call (`auth: 'public'`), as `METHOD /<extension><path>`: reported so none is public by accident. */
  publicRoutes: string[];
  /** Declared schedules (of a valid manifest), as the tenant stack and `sovereign dev` run them. */
  schedules: Array<{ name: string; expression: string; handler: string; enabled: boolean; description?: string }>;
}

export interface ValidationReport {
  ok: boolean;
  extensions: ExtensionValidation[];
}

const HANDLER_SOURCES = ['.ts', '.mts', '.js', '.mjs'];
const SECRET_READ = /\bsecrets\s*\.\s*get\s*\(\s*(['"`])([^'"`$\\]+)\1\s*\)/g;

/** Handler reference → file and export name (`'create-quote#make'` → `create-quote`, `make`). */
export function parseHandlerRef(ref: string): { file: string; exportName: string } {
  const [file, exportName] = ref.split('#');
  return { file: file ?? ref, exportName: exportName ?? 'handler' };
}

/** The names a module exports, found by esbuild without running it. */
async function exportsOf(file: string): Promise<string[]> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [file],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    metafile: true,
    logLevel: 'silent',
  });
  const outputs = Object.values(result.metafile.outputs);
  return outputs.flatMap((o) => o.exports);
}

function sourceFilesFor(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string) => {
    if (!existsSync(current)) return;
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'test' && !entry.name.startsWith('.')) walk(path);
      } else if (/\.[cm]?[jt]s$/.test(entry.name) && !/\.test\.[cm]?[jt]s$/.test(entry.name)) {
        out.push(path);
      }
    }
  };
  walk(dir);
  return out.sort();
}

/** Secret keys read with a literal `secrets.get('key')`, with the files that read them. */
export function secretReads(dir: string): Map<string, string[]> {
  const reads = new Map<string, string[]>();
  for (const file of sourceFilesFor(dir)) {
    // Comments may show examples (`ctx.secrets.get('<key>')`); they read nothing.
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    for (const match of text.matchAll(SECRET_READ)) {
      const key = match[2] as string;
      const rel = relative(dir, file).split(sep).join('/');
      const files = reads.get(key) ?? [];
      if (!files.includes(rel)) files.push(rel);
      reads.set(key, files);
    }
  }
  return reads;
}

/**
 * The routes and secrets of a manifest that failed validation, as far as they are readable, so
 * one run reports handler and secret problems too instead of one layer at a time.
 */
function bestEffort(loaded: unknown): Pick<ValidManifest, 'routes' | 'secrets' | 'schedules'> | undefined {
  if (typeof loaded !== 'object' || loaded === null) return undefined;
  const raw = loaded as { routes?: unknown; secrets?: unknown; schedules?: unknown };
  const routes = (Array.isArray(raw.routes) ? raw.routes : []).filter(
    (r): r is ValidManifest['routes'][number] =>
      typeof r === 'object' && r !== null && ['method', 'path', 'handler'].every((k) => typeof (r as Record<string, unknown>)[k] === 'string'),
  );
  const secrets = (Array.isArray(raw.secrets) ? raw.secrets : [])
    .filter((s): s is { key: string; description?: string; required?: boolean } => typeof s === 'object' && s !== null && typeof (s as { key?: unknown }).key === 'string')
    .map((s) => ({ key: s.key, description: s.description ?? '', required: s.required ?? true }));
  const schedules = (Array.isArray(raw.schedules) ? raw.schedules : []).filter(
    (s): s is ValidManifest['schedules'][number] => typeof s === 'object' && s !== null && typeof (s as { handler?: unknown }).handler === 'string' && typeof (s as { name?: unknown }).name === 'string',
  );
  return { routes, secrets, schedules };
}

/** Every handler reference of a manifest, each with the words that name where it is declared. */
function handlerRefs(manifest: Pick<ValidManifest, 'routes' | 'schedules'>): Array<{ where: string; handler: string }> {
  return [
    ...manifest.routes.map((route, i) => ({ where: `routes[${i}] (${route.method} ${route.path})`, handler: route.handler })),
    ...manifest.schedules.map((schedule, i) => ({ where: `schedules[${i}] (${schedule.name})`, handler: schedule.handler })),
  ];
}

async function checkHandlers(ext: DiscoveredExtension, manifest: Pick<ValidManifest, 'routes' | 'schedules'>): Promise<string[]> {
  const problems: string[] = [];
  const cache = new Map<string, Promise<string[] | Error>>();
  for (const { where, handler } of handlerRefs(manifest)) {
    const { file, exportName } = parseHandlerRef(handler);
    const path = HANDLER_SOURCES.map((e) => join(ext.dir, 'handlers', file + e)).find((p) => existsSync(p));
    if (path === undefined) {
      problems.push(`${where}: handler file handlers/${file}.ts does not exist`);
      continue;
    }
    if (!cache.has(path)) cache.set(path, exportsOf(path).catch((error: Error) => error));
    const exported = await cache.get(path)!;
    if (exported instanceof Error) {
      const text = (exported as { errors?: Array<{ text: string }> }).errors?.[0]?.text ?? exported.message.split('\n')[0];
      problems.push(`${where}: handlers/${file}.ts does not compile: ${text}`);
    } else if (!exported.includes(exportName)) {
      problems.push(
        `${where}: handlers/${file}.ts does not export "${exportName}"` +
          (exported.length > 0 ? ` (it exports ${exported.map((e) => `"${e}"`).join(', ')})` : ''),
      );
    }
  }
  return problems;
}

/** Problems of the settings tenants give one valid extension (src/extensions/tenant-config.ts). */
export type SettingsCheck = (manifest: ValidManifest) => Promise<string[]>;

/** Validates extensions already discovered (pure apart from reading their files). */
export async function validateDiscovered(all: DiscoveredExtension[], only?: string[], settings?: SettingsCheck): Promise<ValidationReport> {
  // Routes of every valid extension take part in the collision check, even when validating one.
  const owners = new Map<string, { extension: string; method: string; path: string }>();
  const collisions = new Map<string, string[]>();
  for (const ext of all) {
    if (!ext.manifest) continue;
    for (const route of ext.manifest.routes) {
      const full = extensionRoutePath(ext.manifest.name, route.path);
      const id = `${route.method} ${routeShape(full)}`;
      const owner = owners.get(id);
      if (owner && owner.extension !== ext.name) {
        const list = collisions.get(ext.name) ?? [];
        list.push(`route ${route.method} ${full} collides with ${owner.method} ${owner.path} of extension "${owner.extension}"`);
        collisions.set(ext.name, list);
      } else if (!owner) {
        owners.set(id, { extension: ext.name, method: route.method, path: full });
      }
    }
  }

  const results: ExtensionValidation[] = [];
  for (const ext of all) {
    if (only && !only.includes(ext.name)) continue;
    const problems = [...ext.problems];
    const warnings: string[] = [];
    const manifest = ext.manifest ?? bestEffort(ext.loaded);
    const publicRoutes = (ext.manifest?.routes ?? [])
      .filter((route) => route.auth === 'public')
      .map((route) => `${route.method} ${extensionRoutePath(ext.name, route.path)}`);
    if (manifest) {
      problems.push(...(collisions.get(ext.name) ?? []));
      problems.push(...(await checkHandlers(ext, manifest)));
      const declared = new Set(manifest.secrets.map((s) => s.key));
      const reads = secretReads(ext.dir);
      for (const [key, files] of [...reads.entries()].sort(([a], [b]) => a.localeCompare(b))) {
        if (!declared.has(key)) {
          problems.push(`${files.join(', ')} read${files.length === 1 ? 's' : ''} secret "${key}", which the manifest does not declare (add it to secrets)`);
        }
      }
      for (const key of declared) {
        if (!reads.has(key)) warnings.push(`secret "${key}" is declared but no handler or service reads it with ctx.secrets.get('${key}')`);
      }
      if (ext.manifest && settings) problems.push(...(await settings(ext.manifest)));
      const config = ext.manifest?.config;
      if (config && !config.safeParse({}).success) {
        warnings.push('config has required settings without defaults: every tenant that enables it must set them (tenantConfig in sovereign.config.json)');
      }
    }
    const version = (ext.loaded as { version?: unknown } | undefined)?.version;
    results.push({
      name: ext.name,
      version: typeof version === 'string' ? version : undefined,
      ok: problems.length === 0,
      problems,
      warnings,
      publicRoutes,
      schedules: (ext.manifest?.schedules ?? []).map((s) => ({ name: s.name, expression: s.expression, handler: s.handler, enabled: s.enabled, ...(s.description ? { description: s.description } : {}) })),
    });
  }
  return { ok: results.every((r) => r.ok), extensions: results };
}

/** Discovers and validates the extensions of `extensionsDir` (all, or the named ones). */
export async function validateExtensions(
  extensionsDir: string,
  options: DiscoverOptions & { only?: string[]; settings?: SettingsCheck } = {},
): Promise<ValidationReport> {
  const { only, settings, ...discover } = options;
  const all = await discoverExtensions(extensionsDir, discover);
  return validateDiscovered(all, only, settings);
}
