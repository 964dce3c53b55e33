/**
 * Builds a tenant bundle: one ESM file holding the runtime plus only the tenant's enabled
 * extensions. The `dev` server runs it in a child process; the aws target zips and deploys it.
 */
import { join } from 'node:path';
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
  sovereign: string;
  awsSdk: AwsSdkMode;
  extensions: Array<{ name: string; version: string; codeSha256: string }>;
}

export interface TenantBundle {
  /** `index.mjs`. */
  code: Uint8Array;
  manifest: ArtifactManifest;
  /** Input files esbuild read (absolute paths), for checks. */
  inputs: string[];
}

export const BUNDLE_BANNER = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

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
    bundle: true,
    write: false,
    outfile: 'index.mjs',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    banner: { js: BUNDLE_BANNER },
    alias: { 'sovereign/runtime': runtime },
    // ESM builds first: the AWS SDK's dist-es tree-shakes better than its CommonJS build.
    mainFields: ['module', 'main'],
    external: awsSdk === 'external' ? ['@aws-sdk/*'] : [],
    nodePaths: [join(packageRoot(), 'node_modules')],
    metafile: true,
    logLevel: 'silent',
  });
  const output = result.outputFiles.find((file) => file.path.endsWith('index.mjs'));
  if (output === undefined) throw new Error('esbuild produced no index.mjs');
  const manifest: ArtifactManifest = {
    format: 1,
    sovereign: packageVersion(),
    awsSdk,
    extensions: sources.map((s) => ({ name: s.name, version: s.manifest.version, codeSha256: s.codeSha256 })),
  };
  const inputs = Object.keys(result.metafile.inputs).map((input) => join(options.projectDir, input));
  return { code: output.contents, manifest, inputs };
}
