/** Where this package's own files are, whether it runs from `dist/` or from `src/` (tests). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const fromSource = fileURLToPath(import.meta.url).endsWith('.ts');

/** The package root (the folder holding this package's `package.json`). */
export function packageRoot(): string {
  return resolve(here, '..', '..');
}

/** The runtime entry `sovereign-cli/runtime` resolves to inside tenant bundles. */
export function runtimeEntry(): string {
  const entry = join(here, '..', 'runtime', fromSource ? 'index.ts' : 'index.js');
  if (!existsSync(entry)) throw new Error(`the sovereign runtime is missing at ${entry}; build the package first`);
  return entry;
}

/** The control-plane billing function's entry (`src/billing/lambda.ts`, or its build). */
export function billingLambdaEntry(): string {
  const entry = join(here, '..', 'billing', fromSource ? 'lambda.ts' : 'lambda.js');
  if (!existsSync(entry)) throw new Error(`the billing webhook function is missing at ${entry}; build the package first`);
  return entry;
}

let version: string | undefined;
/** This package's version, recorded in every artifact manifest. */
export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}
