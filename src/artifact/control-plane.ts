/**
 * The control plane's billing function as an artifact: `src/billing/lambda.ts` bundled by esbuild
 * into one ESM file (the AWS SDK inside, like tenant artifacts) and packed into the same
 * deterministic zip, so the control-plane template names it by its SHA-256.
 */
import { lambdaBuildOptions, withoutUnusedBanner, type ArtifactManifest } from './bundle.js';
import { billingLambdaEntry, packageVersion } from './locate.js';
import { packArtifact, type PackedArtifact } from './pack.js';
import { DEFAULT_LAMBDA_RUNTIME, esbuildTargetOf, type LambdaRuntime } from '../templates/lambda-runtime.js';

export const BILLING_WEBHOOK_COMPONENT = 'billing-webhook';

/**
 * Imports the webhook makes only on the CLI's code paths (the local deployer and offboarding);
 * the function never takes them (its host re-tiers the deployed stack instead of deploying, and
 * reports due offboardings), so they stay out of its bundle.
 */
const CLI_ONLY = /\/(fleet\/local|lifecycle\/offboard)\.(js|ts)$/;

export async function buildBillingWebhookArtifact(artifactsDir: string, options: { entry?: string; lambdaRuntime?: LambdaRuntime } = {}): Promise<PackedArtifact> {
  const runtime = options.lambdaRuntime ?? DEFAULT_LAMBDA_RUNTIME;
  const entry = options.entry ?? billingLambdaEntry();
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [entry],
    ...lambdaBuildOptions(runtime),
    outfile: '/sovereign-artifact/index.mjs',
    plugins: [
      {
        name: 'cli-only',
        setup(builder) {
          builder.onResolve({ filter: CLI_ONLY }, (args) => ({ path: args.path, external: true }));
        },
      },
    ],
  });
  const output = result.outputFiles.find((file) => file.path.endsWith('index.mjs'));
  if (output === undefined) throw new Error('esbuild produced no index.mjs for the billing webhook');
  const manifest: ArtifactManifest = { format: 1, component: BILLING_WEBHOOK_COMPONENT, sovereign: packageVersion(), awsSdk: 'bundle', node: esbuildTargetOf(runtime), extensions: [] };
  return packArtifact({ files: [{ name: 'index.mjs', data: withoutUnusedBanner(output.contents) }], manifest }, artifactsDir);
}
