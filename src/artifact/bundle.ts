/**
 * Builds a tenant bundle: one ESM file holding the runtime plus only the tenant's enabled
 * extensions. The `dev` server runs it in a child process; the aws target zips and deploys it.
 */
import { join, relative, resolve, sep } from 'node:path';
import type { BuildOptions } from 'esbuild';
import { renderEntrySource } from './entry-source.js';
import { packageRoot, packageVersion, runtimeEntry } from './locate.js';
import { loadExtensionSources, type ExtensionSource } from './manifests.js';

/** `bundle`: the AWS SDK is inside the artifact; `external`: Lambda's nodejs20 runtime provides it. */
export type AwsSdkMode = 'bundle' | 'external';

export interface BuildTenantBundleOptions {
  projectDir: string;
  extensionsDir: string;
  /** Enabled extensions. */
  extensions: string[];
  awsSdk?: AwsSdkMode;
  /** The file `sovereign/runtime` resolves to (default: this package's runtime). */
  runtime?: string;
  /** Sources already loaded (skips reading the manifests again). */
  sources?: ExtensionSource[];
}

/** `manifest.json` of an artifact. No timestamps: it is part of the artifact's hash. */
export interface ArtifactManifest {
  format: 1;
  /** What the artifact runs when it is not a tenant runtime (`billing-webhook`: the control plane's function). */
  component?: string;
  sovereign: string;
  awsSdk: AwsSdkMode;
  extensions: Array<{ name: string; version: string; codeSha256: string }>;
}

export interface TenantBundle {
  /** `index.mjs`, the entry. */
  code: Uint8Array;
  /**
   * Every output file by its path inside the artifact: `index.mjs` plus `chunks/*.mjs`, which
   * hold each extension and the AWS SDK and are parsed only when first imported (cold start).
   */
  files: Array<{ name: string; data: Uint8Array }>;
  manifest: ArtifactManifest;
  /** Input files esbuild read (absolute paths), for checks. */
  inputs: string[];
}

/** Where esbuild places outputs in memory (nothing is written there). */
const OUT_DIR = resolve('/sovereign-artifact');

export const BUNDLE_BANNER = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/** esbuild options every Lambda bundle shares: minified ESM for Node 20, resolving this package's dependencies. */
export function lambdaBuildOptions(): BuildOptions & { bundle: true; write: false } {
  return {
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    banner: { js: BUNDLE_BANNER },
    // ESM builds first: the AWS SDK's dist-es tree-shakes better than its CommonJS build.
    mainFields: ['module', 'main'],
    nodePaths: [join(packageRoot(), 'node_modules')],
    logLevel: 'silent',
  };
}

export async function buildTenantBundle(options: BuildTenantBundleOptions): Promise<TenantBundle> {
  const runtime = options.runtime ?? runtimeEntry();
  const awsSdk = options.awsSdk ?? 'bundle';
  const sources = options.sources ?? (await loadExtensionSources(options.extensionsDir, options.extensions, { runtime }));
  const { build } = await import('esbuild');
  const result = await build({
    stdin: {
      contents: renderEntrySource(sources.map((s) => ({ name: s.name, manifestFile: s.manifestFile, handlers: s.handlers }))),
      resolveDir: options.projectDir,
      sourcefile: 'sovereign-tenant-entry.js',
      loader: 'js',
    },
    absWorkingDir: options.projectDir,
    // Code splitting: what an extension or the SDK needs loads on first use, not at cold start.
    splitting: true,
    outdir: OUT_DIR,
    entryNames: 'index',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    ...lambdaBuildOptions(),
    alias: { 'sovereign/runtime': runtime },
    external: awsSdk === 'external' ? ['@aws-sdk/*'] : [],
    metafile: true,
  });
  const files = result.outputFiles
    .map((file) => ({ name: relative(OUT_DIR, file.path).split(sep).join('/'), data: file.contents }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const output = files.find((file) => file.name === 'index.mjs');
  if (output === undefined) throw new Error('esbuild produced no index.mjs');
  const manifest: ArtifactManifest = {
    format: 1,
    sovereign: packageVersion(),
    awsSdk,
    extensions: sources.map((s) => ({ name: s.name, version: s.manifest.version, codeSha256: s.codeSha256 })),
  };
  const inputs = Object.keys(result.metafile.inputs).map((input) => join(options.projectDir, input));
  return { code: output.data, files, manifest, inputs };
}
