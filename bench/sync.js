// The avalara-cetec-sync extension syncing 10,000 and 60,000 invoices through the fake Cetec and
// AvaTax APIs into a dynalite table: records per second and the peak RSS of the process running
// the sync. The fakes and dynalite run in a separate process, so the RSS measured is the sync's
// own: it must not grow with the number of records.
// Runs alone: node bench/sync.js   (bundles the TypeScript sources with esbuild; no build needed)
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const tmp = join(root, 'bench', '.tmp', 'sync');
const COUNTS = [10_000, 60_000];
const TOKEN = 'bench-cetec-token';
const ACCOUNT = '2000999001';
const KEY = 'bench-avalara-key';

const servicesSource = `
import { startFakeCetec } from './test/fakes/cetec-server.ts';
import { startFakeAvalara } from './test/fakes/avalara-server.ts';
import { startLocalTable } from './src/testing/dynalite.ts';
const invoices = Number(process.env.BENCH_INVOICES);
const cetec = await startFakeCetec({ token: ${JSON.stringify(TOKEN)}, invoices, customers: 250 });
const avalara = await startFakeAvalara({ accountId: ${JSON.stringify(ACCOUNT)}, licenseKey: ${JSON.stringify(KEY)} });
const table = await startLocalTable('sovereign-bench-acme');
process.stdout.write(JSON.stringify({ cetec: cetec.url, avalara: avalara.url, endpoint: table.endpoint, table: table.name }) + '\\n');
process.stdin.resume();
process.stdin.on('end', async () => {
  process.stdout.write(JSON.stringify({ transactions: avalara.transactions, pages: cetec.pagesServed }) + '\\n');
  await Promise.all([cetec.close(), avalara.close(), table.close()]);
  process.exit(0);
});
`;

const workerSource = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createExtensionScope, createRouteContext } from './src/runtime/context.ts';
import { lazyDocumentClient } from './src/runtime/db.ts';
import { Redactor } from './src/runtime/redact.ts';
import { SecretResolver } from './src/runtime/secrets/resolver.ts';
import { createMemorySecretFetcher } from './src/runtime/secrets/memory.ts';
import manifest from './extensions/avalara-cetec-sync/extension.ts';
import { handler } from './extensions/avalara-cetec-sync/handlers/sync-invoices.ts';

const env = JSON.parse(process.env.BENCH_SERVICES);
const ref = (key) => 'ssm:/bench/tenants/acme/avalara-cetec-sync/' + key;
const backend = createMemorySecretFetcher({
  [ref('cetec_api_token')]: ${JSON.stringify(TOKEN)},
  [ref('avalara_account_id')]: ${JSON.stringify(ACCOUNT)},
  [ref('avalara_license_key')]: ${JSON.stringify(KEY)},
});
const redactor = new Redactor();
const raw = new DynamoDBClient({ endpoint: env.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const scope = createExtensionScope({
  tenant: { id: 'acme', stage: 'bench', tier: 'standard' },
  extension: 'avalara-cetec-sync',
  config: manifest.config.parse({ cetecBaseUrl: env.cetec, avalaraBaseUrl: env.avalara, timeBudgetMs: 0, concurrency: 16, chunkSize: 250 }),
  declaredSecrets: manifest.secrets.map((s) => s.key),
  references: Object.fromEntries(manifest.secrets.map((s) => ['avalara-cetec-sync.' + s.key, ref(s.key)])),
  resolver: new SecretResolver({ backend, redactor }),
  table: env.table,
  documentClient: lazyDocumentClient(DynamoDBDocumentClient.from(raw)),
  redactor,
  write: () => {},
  logLevel: 'warn',
});
const ctx = createRouteContext(scope, 'POST /sync/invoices', 'bench');
let peak = 0;
const sample = () => { peak = Math.max(peak, process.memoryUsage().rss); };
const timer = setInterval(sample, 25);
const started = performance.now();
const result = await handler({ method: 'POST', path: '/avalara-cetec-sync/sync/invoices', params: {}, query: {}, headers: {}, body: {} }, ctx);
const ms = performance.now() - started;
clearInterval(timer);
sample();
globalThis.gc?.();
process.stdout.write(JSON.stringify({ ms, peakRss: peak, maxRss: process.resourceUsage().maxRSS * 1024, heapAfterGc: process.memoryUsage().heapUsed, result }) + '\\n');
process.exit(0);
`;

async function bundle(name, source) {
  const { build } = await import('esbuild');
  const outfile = join(tmp, `${name}.mjs`);
  await build({
    stdin: { contents: source, resolveDir: root, loader: 'ts', sourcefile: `${name}.ts` },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    alias: { 'sovereign-cli/runtime': join(root, 'src/runtime/index.ts') },
    banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

/** Runs `file` with node, returns its first stdout JSON line and the live child. */
function start(file, env, flags = []) {
  const child = spawn(process.execPath, [...flags, file], {
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = [];
  let buffer = '';
  const waiters = [];
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    let at;
    while ((at = buffer.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buffer.slice(0, at)));
      buffer = buffer.slice(at + 1);
      waiters.shift()?.();
    }
  });
  const next = () =>
    new Promise((resolve, reject) => {
      if (lines.length > 0) return resolve(lines.shift());
      const onExit = (code) => reject(new Error(`${file} exited with ${code} before answering`));
      child.once('exit', onExit);
      waiters.push(() => {
        child.off('exit', onExit);
        resolve(lines.shift());
      });
    });
  return { child, next };
}

async function runOnce(services, worker, invoices) {
  const svc = start(services, { BENCH_INVOICES: String(invoices) });
  const urls = await svc.next();
  const run = start(worker, { BENCH_SERVICES: JSON.stringify(urls) }, ['--expose-gc']);
  const measured = await run.next();
  svc.child.stdin.end();
  const served = await svc.next();
  if (measured.result?.status !== 'complete' || measured.result.processed !== invoices) {
    throw new Error(`sync of ${invoices} did not complete: ${JSON.stringify(measured.result).slice(0, 300)}`);
  }
  if (served.transactions !== invoices) throw new Error(`AvaTax saw ${served.transactions} transactions for ${invoices} invoices`);
  return { invoices, ...measured, pages: served.pages };
}

const mb = (bytes) => (bytes / 2 ** 20).toFixed(0);

export async function runSyncBench() {
  mkdirSync(tmp, { recursive: true });
  const services = await bundle('services', servicesSource);
  const worker = await bundle('worker', workerSource);
  const rows = [];
  for (const invoices of COUNTS) rows.push(await runOnce(services, worker, invoices));
  const [small, large] = rows;
  const growth = large.peakRss / small.peakRss;
  const lines = [
    '## Invoice sync (avalara-cetec-sync)',
    '',
    'Cetec invoices paged 500 at a time, one AvaTax SalesOrder per invoice (16 in flight), results',
    'written 250 at a time with a checkpoint after each chunk, into a dynalite table. The fakes and',
    'dynalite run in their own process; RSS is that of the process running the sync.',
    '',
    '| invoices | time | records/s | peak RSS | max RSS (OS) | heap after GC | Cetec pages | AvaTax calls |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.invoices.toLocaleString('en-US')} | ${(r.ms / 1000).toFixed(1)} s | ${Math.round(r.invoices / (r.ms / 1000)).toLocaleString('en-US')} | ${mb(r.peakRss)} MB | ${mb(r.maxRss)} MB | ${mb(r.heapAfterGc)} MB | ${r.pages} | ${r.invoices.toLocaleString('en-US')} |`,
    ),
    '',
    `Peak RSS at 60,000 is ${growth.toFixed(2)}× that at 10,000 for 6× the records, and the heap left after a full GC is ${mb(small.heapAfterGc)} MB vs ${mb(large.heapAfterGc)} MB: memory holds one chunk, not the data set.`,
    '',
  ];
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = await runSyncBench();
  process.stdout.write(`${out}\n`);
  writeFileSync(join(tmp, 'RESULT.md'), out);
}
