// Mutation testing of the modules that carry a promise: `npm run mutate [module…]` (scripts/mutate.js).
// Not part of `npm test` or CI. When a file moves, change its path here and nowhere else.

/**
 * Each module: the source files whose mutants must be killed, and the test files that guard them
 * (only these run, so a module's run stays short). End-to-end tests that drive the built CLI in
 * dist/ are left out: they would not see a mutant in src/.
 */
export const MODULES = {
  reference: { mutate: ['src/contract/reference.ts'], tests: ['src/contract/reference.test.ts', 'test/reference-problems.test.ts'] },
  scope: { mutate: ['src/secrets/scope.ts'], tests: ['src/secrets/scope.test.ts', 'test/scope-rules.test.ts'] },
  'audit-log': { mutate: ['src/state/audit-log.ts'], tests: ['src/state/audit-log.test.ts', 'test/audit-chain-forgery.test.ts', 'test/audit-log-edges.test.ts', 'test/secrets-audit-scrub.test.ts'] },
  chain: { mutate: ['src/audit/chain.ts'], tests: ['src/audit/chain.test.ts', 'test/audit-segment-reference.test.ts', 'test/audit-chain-forgery.test.ts', 'test/audit-chain-check.test.ts', 'test/audit-chain-scan.test.ts'] },
  verify: { mutate: ['src/audit/verify.ts'], tests: ['test/audit-verify.test.ts'] },
  webhook: { mutate: ['src/runtime/webhook.ts'], tests: ['src/runtime/webhook.test.ts', 'test/webhook-verify.test.ts'] },
  'billing-signature': { mutate: ['src/billing/signature.ts'], tests: ['test/billing.test.ts', 'test/billing-signature.test.ts'] },
  lock: { mutate: ['src/targets/local/lock.ts'], tests: ['test/lock.test.ts', 'test/lock-race.test.ts'] },
  redact: { mutate: ['src/runtime/redact.ts'], tests: ['src/runtime/redact.test.ts', 'src/runtime/redact-forms.test.ts', 'test/redact.test.ts', 'test/redact-encodings.test.ts'] },
  cache: { mutate: ['src/runtime/cache.ts'], tests: ['src/runtime/cache.test.ts', 'test/cache-rules.test.ts'] },
  'iam-policy': { mutate: ['src/templates/policy.ts', 'src/templates/secret-scope.ts'], tests: ['src/templates/policy.test.ts', 'src/templates/secret-scope.test.ts', 'src/templates/stack-hardening.test.ts', 'test/iam-policy.test.ts', 'test/aws-suspension.test.ts'] },
  'value-input': { mutate: ['src/secrets/value-input.ts'], tests: ['src/secrets/value-input.test.ts', 'test/value-input-edges.test.ts'] },
};

/** The module this run mutates (set by scripts/mutate.js). */
export function selectedModule() {
  const name = process.env.SOVEREIGN_MUTATE_MODULE;
  const module = name === undefined ? undefined : MODULES[name];
  if (!module) throw new Error(`set SOVEREIGN_MUTATE_MODULE to one of: ${Object.keys(MODULES).join(', ')}`);
  return { name, ...module };
}

const module = selectedModule();

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts', related: false },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: module.mutate,
  coverageAnalysis: 'perTest',
  concurrency: Number(process.env.SOVEREIGN_MUTATE_CONCURRENCY ?? 2),
  timeoutMS: 3000,
  ignorePatterns: ['bench', 'docs', 'reports', '.sovereign'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${module.name}.html` },
  jsonReporter: { fileName: `reports/mutation/${module.name}.json` },
  thresholds: { high: 90, low: 90, break: null },
  cleanTempDir: 'always',
};
