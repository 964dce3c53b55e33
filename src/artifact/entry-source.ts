/**
 * The generated entry of a tenant bundle: the runtime's `createLambdaHandler` over exactly the
 * enabled extensions, each loaded lazily so one failing to initialise never takes the others down.
 *
 * Each extension is one module of its own (`sovereign-extension:<name>`, rendered by
 * {@link renderExtensionModule}) that re-exports its manifest and handler files, so the bundler
 * puts an extension in one chunk and a cold start makes one dynamic import per extension rather
 * than one per file.
 */

export interface EntryExtension {
  name: string;
  /** Absolute path of the extension's `extension.ts`. */
  manifestFile: string;
  /** Handler key (file name without extension, as routes name it) → absolute path. */
  handlers: Array<{ key: string; file: string }>;
}

/**
 * What the entry imports `createLambdaHandler` from: the runtime's handler module itself, not
 * `sovereign-cli/runtime`, whose re-exports (the extension API) would otherwise become a chunk of
 * their own that every cold start loads.
 */
export const RUNTIME_HANDLER_MODULE = 'sovereign-runtime-handler';

/** The import specifier of an extension's module inside a bundle. */
export const EXTENSION_MODULE_PREFIX = 'sovereign-extension:';

function byKey<T>(items: T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Renders the entry module source (esbuild stdin). Pure; output depends only on its input. */
export function renderEntrySource(extensions: EntryExtension[]): string {
  const items = byKey(extensions, (e) => e.name).map((extension) => {
    const handlers = byKey(extension.handlers, (h) => h.key);
    const entries = handlers.map((h, i) => `${JSON.stringify(h.key)}: m.h${i}`);
    return [
      '  {',
      `    name: ${JSON.stringify(extension.name)},`,
      `    load: () => import(${JSON.stringify(EXTENSION_MODULE_PREFIX + extension.name)}).then((m) => ({`,
      '      manifest: m.manifest.default ?? m.manifest.manifest,',
      `      handlers: { ${entries.join(', ')} },`,
      '    })),',
      '  },',
    ].join('\n');
  });
  return [
    `import { createLambdaHandler } from ${JSON.stringify(RUNTIME_HANDLER_MODULE)};`,
    '',
    `export const handler = createLambdaHandler([\n${items.join('\n')}\n]);`,
    '',
  ].join('\n');
}

/**
 * Renders one extension's module: its manifest module as `manifest` and its handler files as
 * `h0`, `h1`, … in handler-key order (the order {@link renderEntrySource} reads them in).
 */
export function renderExtensionModule(extension: EntryExtension): string {
  const handlers = byKey(extension.handlers, (h) => h.key);
  return [
    `export * as manifest from ${JSON.stringify(extension.manifestFile)};`,
    ...handlers.map((h, i) => `export * as h${i} from ${JSON.stringify(h.file)};`),
    '',
  ].join('\n');
}
