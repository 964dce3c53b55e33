/**
 * What tenant identity costs where it is paid outside the request path: rendering the tenant
 * template with the JWT authorizer, a route per manifest route and the machine API (every deploy,
 * diff and `template render`), and building the OpenAPI document with security schemes and the
 * runtime's endpoints (once per warm runtime, on the first `GET /_sovereign/openapi.json`).
 * Baseline: the same functions of another tree (`BENCH_BASE=/path/to/checkout`, its `npm run
 * build` done), interleaved in the same process; medians of per-call times.
 *
 * Run alone: `npm run build && BENCH_BASE=/path/to/main node bench/tenant-api.js`.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EXTENSIONS = ['avalara', 'avalara-cetec-sync', 'cetec'];
const SAMPLES = 41;

const load = (root, module) => import(pathToFileURL(join(root, 'dist', module)).href);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const us = (ms) => `${(ms * 1000).toFixed(0)} µs`;

/** Median per-call time of `fn`, sampled in batches of `batch` calls. */
function sampler(fn, batch) {
  const samples = [];
  return {
    samples,
    run() {
      const start = performance.now();
      for (let i = 0; i < batch; i++) fn();
      samples.push((performance.now() - start) / batch);
    },
  };
}

async function treeFunctions(root) {
  const { renderTenantStack } = await load(root, 'templates/tenant-stack.js');
  const { buildOpenApiDocument } = await load(root, 'runtime/openapi.js');
  const { discoverExtensions } = await load(root, 'extensions/discover.js');
  // Each tree's own manifests: their zod schemas must be that tree's zod for z.toJSONSchema.
  const found = await discoverExtensions(join(repo, 'extensions'), { names: EXTENSIONS });
  const manifests = found.map((e) => e.manifest);
  return { renderTenantStack, buildOpenApiDocument, manifests };
}

/** The template inputs of tenant acme with `manifests` enabled (routes as a manifest declares them; the baseline ignores them). */
function stackInputs(manifests, auth) {
  const routes = (m) => m.routes.map((r) => ({ method: r.method, path: r.path, auth: r.auth ?? 'required', ...(r.scopes ? { scopes: r.scopes } : {}) }));
  const runtimeConfig = { extensions: manifests.map((m) => m.name), secrets: {}, config: {}, webhookSecret: 'ssm:/prod/tenants/acme/_sovereign/webhook_secret', ...(auth ? { auth } : {}) };
  return { project: 'shop', tenant: 'acme', stage: 'prod', tier: 'standard', artifactSha256: 'a'.repeat(64), extensions: manifests.map((m) => ({ name: m.name, permissions: m.permissions ?? [], routes: routes(m) })), runtimeConfig };
}

export async function runTenantApiBench() {
  const base = process.env.BENCH_BASE ? resolve(process.env.BENCH_BASE) : undefined;
  const here = await treeFunctions(repo);
  const before = base ? await treeFunctions(base) : undefined;
  const jwt = { issuers: ['https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_acme'], audiences: ['shop-app'], tenantClaim: 'tenant_id', apiKeys: true };
  const noKeys = { issuers: [], audiences: [], tenantClaim: 'tenant_id', apiKeys: false };
  const info = (auth) => ({ tenant: 'acme', stage: 'prod', version: 'a'.repeat(64), ...(auth ? { auth } : {}) });

  const render = [
    ...(before ? [['baseline tree: one API, `$default` only', sampler(() => before.renderTenantStack(stackInputs(before.manifests)), 200)]] : []),
    ['this tree, no issuer, no API keys (one API)', sampler(() => here.renderTenantStack(stackInputs(here.manifests, noKeys)), 200)],
    ['this tree, JWT authorizer + routes + machine API', sampler(() => here.renderTenantStack(stackInputs(here.manifests, jwt)), 200)],
  ];
  const openapi = [
    ...(before ? [['baseline tree', sampler(() => before.buildOpenApiDocument(before.manifests, info()), 20)]] : []),
    ['this tree, with security and runtime endpoints', sampler(() => here.buildOpenApiDocument(here.manifests, info(jwt)), 20)],
  ];
  for (const [, s] of [...render, ...openapi]) for (let i = 0; i < 3; i++) s.run(); // warm-up
  for (const [, s] of [...render, ...openapi]) s.samples.length = 0;
  for (let i = 0; i < SAMPLES; i++) for (const [, s] of [...render, ...openapi]) s.run();

  const routes = stackInputs(here.manifests, jwt).extensions.reduce((n, e) => n + e.routes.length, 0);
  const bytes = (build, manifests, auth) => JSON.stringify(build(manifests, info(auth))).length;
  // Ratios against the row named `against` (the same tree without the feature where there is one).
  const table = (rows, against) => {
    const reference = median(rows[against][1].samples);
    return rows.map(([label, s]) => `| ${label} | ${us(median(s.samples))} | ${(median(s.samples) / reference).toFixed(2)} |`);
  };
  return [
    '## Tenant identity: the template\'s authorizer and the OpenAPI contract (2026-12-07)',
    '',
    `Extensions: ${EXTENSIONS.join(', ')} (${routes} routes). Median of ${SAMPLES} interleaved samples per row (each the mean of a batch), in one process; ${before ? `baseline: the tree at \`${base}\`` : 'no baseline tree (set BENCH_BASE)'}.`,
    '',
    '| `renderTenantStack` | median per call | × this tree with one API |',
    '|---|---|---|',
    ...table(render, render.length - 2),
    '',
    '| `buildOpenApiDocument` (first `GET /_sovereign/openapi.json` of a runtime; cached after) | median per call | × first row |',
    '|---|---|---|',
    ...table(openapi, 0),
    '',
    `Document size: ${before ? `${bytes(before.buildOpenApiDocument, before.manifests)} bytes before, ` : ''}${bytes(here.buildOpenApiDocument, here.manifests, jwt)} bytes now.`,
    '',
  ].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runTenantApiBench().then((markdown) => process.stdout.write(`${markdown}\n`), (error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exitCode = 1;
  });
}
