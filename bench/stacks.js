/**
 * The Lambda runtime change measured on Lambda's Node: the same tenant artifact built for node20
 * (the old esbuild target) and for node24 (now), each cold-started in fresh Node 24 processes,
 * interleaved, medians and the ratio in the same run; and the billing webhook artifact's size
 * against a baseline tree's build (`BENCH_BASE=/path/to/other/checkout`, its `npm run build` done),
 * since suspension there now also loads the Lambda client.
 *
 * Run alone: `npm run build && node bench/stacks.js` (needs scripts/node24.js's Node 24 binary).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { coldStart, median, startAwsStub } from './artifact.js';
import { node24 } from '../scripts/node24.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EXTENSIONS = ['avalara', 'avalara-cetec-sync', 'cetec'];
const RUNS = 15;
const ms = (value) => `${value.toFixed(0)} ms`;
const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;

const load = (root, module) => import(pathToFileURL(join(root, 'dist', 'artifact', `${module}.js`)).href);

export async function runStacksBench() {
  const node = node24();
  const { buildTenantBundle, packArtifact } = await load(repo, 'index');
  const work = mkdtempSync(join(tmpdir(), 'sovereign-stacks-bench-'));
  const server = await startAwsStub();
  const endpoint = `http://127.0.0.1:${server.address().port}`;
  const lines = [];
  try {
    // esbuildTargetOf maps nodejs20.x to node20 as well: the old target, for the baseline only.
    const builds = [];
    for (const lambdaRuntime of ['nodejs20.x', 'nodejs24.x']) {
      const bundle = await buildTenantBundle({ projectDir: repo, extensionsDir: join(repo, 'extensions'), extensions: EXTENSIONS, lambdaRuntime });
      builds.push({ lambdaRuntime, bundle, packed: packArtifact(bundle, join(work, lambdaRuntime)), runs: [] });
    }
    for (let i = 0; i < RUNS; i++) for (const b of builds) b.runs.push(await coldStart(b.packed.entry, endpoint, node));
    const rows = builds.map((b) => {
      const bad = b.runs.find((r) => r.status !== 200);
      if (bad) throw new Error(`health answered ${bad.status}: ${bad.body}`);
      return { ...b, bytes: b.bundle.files.reduce((sum, f) => sum + f.data.length, 0), importMs: median(b.runs.map((r) => r.importMs)), firstMs: median(b.runs.map((r) => r.firstResponseMs)) };
    });
    const old = rows[0];
    lines.push(
      '## Lambda runtime nodejs24.x: tenant artifact built for node24, billing artifact with the Lambda client',
      '',
      `Extensions: ${EXTENSIONS.join(', ')}. Median of ${RUNS} interleaved cold starts in fresh Node 24 processes (${node}); first response = import + \`GET /_sovereign/health\` against a loopback AWS stub.`,
      '',
      '| esbuild target | bundle | import | first response | × node20 build |',
      '|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.bundle.manifest.node} | ${kb(r.bytes)} | ${ms(r.importMs)} | ${ms(r.firstMs)} | ${(r.firstMs / old.firstMs).toFixed(2)} |`),
      '',
    );
    const base = process.env.BENCH_BASE;
    const billing = [['this tree', repo], ...(base ? [['baseline', resolve(base)]] : [])];
    lines.push('| billing webhook artifact | index.mjs | zip |', '|---|---|---|');
    for (const [label, root] of billing) {
      const { buildBillingWebhookArtifact } = await load(root, 'control-plane');
      const packed = await buildBillingWebhookArtifact(join(work, `billing-${label.replace(' ', '-')}`));
      lines.push(`| ${label} | ${kb(statSync(packed.entry).size)} | ${kb(packed.size)} |`);
    }
    lines.push('');
  } finally {
    server.close();
    rmSync(work, { recursive: true, force: true });
  }
  return lines.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runStacksBench().then((markdown) => process.stdout.write(`${markdown}\n`), (error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exitCode = 1;
  });
}
