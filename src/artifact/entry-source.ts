/**
 * The generated entry of a tenant bundle: the runtime's `createLambdaHandler` over exactly the
 * enabled extensions, each loaded lazily so one failing to initialise never takes the others down.
 */

export interface EntryExtension {
  name: string;
  /** Absolute path of the extension's `extension.ts`. */
  manifestFile: string;
  /** Handler key (file name without extension, as routes name it) → absolute path. */
  handlers: Array<{ key: string; file: string }>;
}

/** Renders the entry module source (esbuild stdin). Pure; output depends only on its input. */
export function renderEntrySource(extensions: EntryExtension[]): string {
  const sorted = [...extensions].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const items = sorted.map((extension) => {
    const handlers = [...extension.handlers].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const imports = [extension.manifestFile, ...handlers.map((h) => h.file)].map((file) => `import(${JSON.stringify(file)})`);
    const entries = handlers.map((h, i) => `${JSON.stringify(h.key)}: modules[${i + 1}]`);
    return [
      '  {',
      `    name: ${JSON.stringify(extension.name)},`,
      `    load: () => Promise.all([${imports.join(', ')}]).then((modules) => ({`,
      '      manifest: modules[0].default ?? modules[0].manifest,',
      `      handlers: { ${entries.join(', ')} },`,
      '    })),',
      '  },',
    ].join('\n');
  });
  return [
    "import { createLambdaHandler } from 'sovereign/runtime';",
    '',
    `export const handler = createLambdaHandler([\n${items.join('\n')}\n]);`,
    '',
  ].join('\n');
}
