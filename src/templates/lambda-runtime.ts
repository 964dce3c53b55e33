/**
 * The Node.js runtime every sovereign Lambda function runs on (tenant functions and the billing
 * webhook), and the Node version their artifacts are built for. One constant: the template's
 * `Runtime` and esbuild's `target` come from here, so a function never runs code built for
 * another Node. Lambda refuses new functions on `nodejs20.x` (Node 20 reached end of life on
 * 2026-04-30); `aws.lambdaRuntime` in `sovereign.config.json` may choose `nodejs22.x`.
 */
export const LAMBDA_RUNTIMES = ['nodejs22.x', 'nodejs24.x'] as const;
export type LambdaRuntime = (typeof LAMBDA_RUNTIMES)[number];

export const DEFAULT_LAMBDA_RUNTIME: LambdaRuntime = 'nodejs24.x';

/** Lambda functions run on Graviton: cheaper per GB-second, and every supported Node has it. */
export const LAMBDA_ARCHITECTURE = 'arm64';

/** esbuild's `target` for a runtime: `nodejs24.x` → `node24`. */
export function esbuildTargetOf(runtime: LambdaRuntime): string {
  return runtime.replace(/^nodejs(\d+)\.x$/, 'node$1');
}
