import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const entry = fileURLToPath(new URL('../src/runtime/index.ts', import.meta.url));
const contractDir = fileURLToPath(new URL('../src/contract/', import.meta.url));

/** What a tenant runtime may be built from, of this repository's own sources. */
const RUNTIME_SOURCES = /^src\/(runtime|contract)\//;

/** Bytes the contract may add to the runtime bundle: it is parsed at every cold start. */
const CONTRACT_BUDGET_BYTES = 32 * 1024;

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
    // Static or dynamic: of the repository's own code, only the runtime and the contract.
    expect(inputs.filter((path) => !path.includes('node_modules/') && !RUNTIME_SOURCES.test(path))).toEqual([]);
    expect(inputs.some((path) => path.startsWith('src/contract/'))).toBe(true);

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
    // The contract is on that path (config, mapping, references, marker), so it stays small.
    expect(loaded.has('src/contract/runtime-environment.ts')).toBe(true);
    const contractBytes = Object.values(result.metafile.outputs)
      .flatMap((output) => Object.entries(output.inputs))
      .filter(([path]) => path.startsWith('src/contract/'))
      .reduce((sum, [, input]) => sum + input.bytesInOutput, 0);
    expect(contractBytes).toBeLessThan(CONTRACT_BUDGET_BYTES);
  });

  it('builds the contract from nothing but itself: no CLI code, no node: modules, no packages', async () => {
    const entries = readdirSync(contractDir)
      .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
      .map((name) => `${contractDir}${name}`);
    expect(entries.length).toBeGreaterThan(5);
    const result = await build({
      entryPoints: entries,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      outdir: 'out',
      metafile: true,
      logLevel: 'silent',
    });
    const outside: string[] = [];
    for (const [path, input] of Object.entries(result.metafile.inputs)) {
      if (!path.startsWith('src/contract/')) outside.push(path);
      for (const imported of input.imports) if (!imported.path.startsWith('src/contract/')) outside.push(`${path} → ${imported.path}`);
    }
    expect(outside).toEqual([]);
  });
});
