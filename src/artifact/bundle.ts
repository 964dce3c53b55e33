/**
 * Builds a tenant bundle: an ESM entry (`index.mjs`) holding the runtime, plus chunks — one per
 * enabled extension (only the tenant's enabled ones are in it) and the AWS SDK's, loaded on first
 * use. The `dev` server runs it in a child process; the aws target zips and deploys it.
 */
import { existsSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import type { BuildOptions, Plugin } from 'esbuild';
import { EXTENSION_MODULE_PREFIX, renderEntrySource, renderExtensionModule, RUNTIME_HANDLER_MODULE, type EntryExtension } from './entry-source.js';
import { packageRoot, packageVersion, runtimeEntry } from './locate.js';
import { loadExtensionSources, type ExtensionSource } from './manifests.js';
import { firstLine } from '../extensions/discover.js';
import { refuseUnrelatedSovereign, RUNTIME_SPECIFIER } from '../extensions/package-specifier.js';
import { DEFAULT_LAMBDA_RUNTIME, esbuildTargetOf, type LambdaRuntime } from '../templates/lambda-runtime.js';

/** `bundle`: the AWS SDK is inside the artifact; `external`: Lambda's Node.js runtime provides it. */
export type AwsSdkMode = 'bundle' | 'external';

export interface BuildTenantBundleOptions {
  projectDir: string;
  extensionsDir: string;
  /** Enabled extensions. */
  extensions: string[];
  awsSdk?: AwsSdkMode;
  /** The file `sovereign-cli/runtime` resolves to (default: this package's runtime). */
  runtime?: string;
  /** Sources already loaded (skips reading the manifests again). */
  sources?: ExtensionSource[];
  /** The Lambda runtime the artifact runs on; esbuild targets its Node (default {@link DEFAULT_LAMBDA_RUNTIME}). */
  lambdaRuntime?: LambdaRuntime;
}

/** `manifest.json` of an artifact. No timestamps: it is part of the artifact's hash. */
export interface ArtifactManifest {
  format: 1;
  /** What the artifact runs when it is not a tenant runtime (`billing-webhook`: the control plane's function). */
  component?: string;
  sovereign: string;
  awsSdk: AwsSdkMode;
  /** The Node the code was built for (esbuild's target, e.g. `node24`). */
  node?: string;
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

/**
 * The output without {@link BUNDLE_BANNER} when nothing in it names `require` (the runtime's own
 * chunks, the extensions'): `createRequire` costs every module that runs it, and a cold start
 * loads about ten. Chunks of CommonJS code (parts of the AWS SDK) keep it.
 */
export function withoutUnusedBanner(code: Uint8Array): Uint8Array {
  const text = Buffer.from(code.buffer, code.byteOffset, code.byteLength).toString('utf8');
  if (!text.startsWith(BUNDLE_BANNER)) return code;
  const body = text.slice(BUNDLE_BANNER.length).replace(/^\n/, '');
  return /\brequire\b/.test(body) ? code : new Uint8Array(Buffer.from(body, 'utf8'));
}

/** esbuild options every Lambda bundle shares: minified ESM for the runtime's Node, resolving this package's dependencies. */
export function lambdaBuildOptions(runtime: LambdaRuntime = DEFAULT_LAMBDA_RUNTIME): BuildOptions & { bundle: true; write: false } {
  return {
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: esbuildTargetOf(runtime),
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

/** The runtime's handler module beside its entry (`handler.ts` / `handler.js`), or the entry itself. */
function runtimeHandlerModule(runtime: string): string {
  const handler = join(dirname(runtime), `handler${extname(runtime)}`);
  return existsSync(handler) ? handler : runtime;
}

/** Serves each extension's module (`sovereign-extension:<name>`) the entry imports. */
function extensionModules(extensions: EntryExtension[]): Plugin {
  const byName = new Map(extensions.map((e) => [e.name, e]));
  const filter = new RegExp(`^${EXTENSION_MODULE_PREFIX}`);
  return {
    name: 'sovereign-extensions',
    setup(build) {
      build.onResolve({ filter }, (args) => ({ path: args.path.slice(EXTENSION_MODULE_PREFIX.length), namespace: 'sovereign-extension' }));
      build.onLoad({ filter: /.*/, namespace: 'sovereign-extension' }, (args) => {
        const extension = byName.get(args.path);
        if (extension === undefined) return { errors: [{ text: `no extension "${args.path}" in this bundle` }] };
        return { contents: renderExtensionModule(extension), loader: 'js', resolveDir: dirname(extension.manifestFile) };
      });
    },
  };
}

export async function buildTenantBundle(options: BuildTenantBundleOptions): Promise<TenantBundle> {
  const runtime = options.runtime ?? runtimeEntry();
  const awsSdk = options.awsSdk ?? 'bundle';
  const sources = options.sources ?? (await loadExtensionSources(options.extensionsDir, options.extensions, { runtime }));
  const { build } = await import('esbuild');
  const extensions: EntryExtension[] = sources.map((s) => ({ name: s.name, manifestFile: s.manifestFile, handlers: s.handlers }));
  const result = await build({
    stdin: {
      contents: renderEntrySource(extensions),
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
    ...lambdaBuildOptions(options.lambdaRuntime),
    alias: { [RUNTIME_SPECIFIER]: runtime, [RUNTIME_HANDLER_MODULE]: runtimeHandlerModule(runtime) },
    external: awsSdk === 'external' ? ['@aws-sdk/*'] : [],
    plugins: [refuseUnrelatedSovereign, extensionModules(extensions)],
    metafile: true,
  }).catch((error: unknown) => {
    // esbuild's own message starts "Build failed with 1 error:"; the deploy report shows one line.
    throw new Error(`the tenant bundle does not build: ${firstLine(error)}`, { cause: error });
  });
  const files = result.outputFiles
    .map((file) => ({ name: relative(OUT_DIR, file.path).split(sep).join('/'), data: withoutUnusedBanner(file.contents) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const output = files.find((file) => file.name === 'index.mjs');
  if (output === undefined) throw new Error('esbuild produced no index.mjs');
  const manifest: ArtifactManifest = {
    format: 1,
    sovereign: packageVersion(),
    awsSdk,
    node: esbuildTargetOf(options.lambdaRuntime ?? DEFAULT_LAMBDA_RUNTIME),
    extensions: sources.map((s) => ({ name: s.name, version: s.manifest.version, codeSha256: s.codeSha256 })),
  };
  const inputs = Object.keys(result.metafile.inputs)
    .filter((input) => !input.startsWith(EXTENSION_MODULE_PREFIX) && input !== '<stdin>')
    .map((input) => join(options.projectDir, input));
  return { code: output.data, files, manifest, inputs };
}
