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
  });
});
