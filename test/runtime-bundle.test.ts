import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const entry = fileURLToPath(new URL('../src/runtime/index.ts', import.meta.url));

describe('runtime bundle', () => {
  it('never pulls in CLI code and reaches the AWS SDK only through dynamic imports', async () => {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    const forbidden = inputs.filter((path) =>
      /(^|\/)src\/(commands|state|output)\/|(^|\/)src\/cli\.ts$|node_modules\/(commander|ink|react|execa|archiver|tar)\//.test(path),
    );
    expect(forbidden).toEqual([]);

    const staticSdk: string[] = [];
    for (const [path, input] of Object.entries(result.metafile.inputs)) {
      if (!path.startsWith('src/runtime/')) continue;
      for (const imported of input.imports) {
        if (imported.path.includes('@aws-sdk/') && imported.kind !== 'dynamic-import') staticSdk.push(`${path} → ${imported.path}`);
      }
    }
    expect(inputs.filter((path) => path.startsWith('src/runtime/')).length).toBeGreaterThan(10);
    expect(staticSdk).toEqual([]);
    // Sanity: the SDK is in the bundle (reached lazily), so the check above looked at something.
    expect(inputs.some((path) => path.includes('@aws-sdk/client-ssm'))).toBe(true);

    // What every cold start loads (static imports from the entry) stays free of what only some
    // requests need: node:crypto (webhook, vault) and zod (OpenAPI) are reached through dynamic imports.
    const loaded = new Set<string>();
    const pending = ['src/runtime/index.ts'];
    while (pending.length > 0) {
      const path = pending.pop() as string;
      if (loaded.has(path)) continue;
      loaded.add(path);
      for (const imported of result.metafile.inputs[path]?.imports ?? []) {
        if (imported.kind === 'import-statement') pending.push(imported.path);
      }
    }
    expect(loaded.has('src/runtime/handler.ts')).toBe(true);
    expect([...loaded].filter((path) => path === 'node:crypto' || path.includes('node_modules/zod/') || path === 'src/runtime/webhook.ts')).toEqual([]);
    expect(inputs).toContain('src/runtime/webhook.ts');
  });
});
