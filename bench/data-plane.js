/**
 * What the dev data plane costs per DynamoDB request: a GetItem through it (SigV4 verification,
 * the tenant's policy evaluated, dynalite's handler in process) against the same GetItem straight
 * to a listening dynalite on its own store, in the same run. One real `@aws-sdk/client-dynamodb`
 * client per path, keep-alive, one request at a time; interleaved rounds, the median of the
 * rounds' medians, and their ratio. Then the two checks alone (verification, evaluation), as the
 * median time per call, to say where the difference goes.
 *
 * Run alone: `npm run build && node bench/data-plane.js` (BENCH_DATA_ROUNDS=3 for a quick run).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.BENCH_DATA_ROUNDS ?? 7);
const PER_ROUND = 1000;
const MICRO_CALLS = 5000;
const REGION = 'us-east-1';
const ACCOUNT = '000000000000';

const dist = (path) => import(pathToFileURL(join(repo, 'dist', path)).href);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fmt = (us) => (us >= 100 ? us.toFixed(0) : us.toFixed(1));

async function timed(send, count) {
  const times = [];
  for (let i = 0; i < count; i += 1) {
    const start = process.hrtime.bigint();
    await send();
    times.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  return median(times);
}

export async function runDataPlaneBench() {
  const [{ DataPlane }, { serveDynaliteStore, openDynaliteStore, ensureTenantTable }, { renderTenantPolicy }, { tenantTableName }, { verifySigV4 }, { evaluatePolicies }] = await Promise.all([
    dist('targets/local/dev/data-plane.js'),
    dist('targets/local/dev/dynalite-store.js'),
    dist('templates/policy.js'),
    dist('templates/names.js'),
    dist('targets/local/dev/sigv4.js'),
    dist('isolation/policy-eval.js'),
  ]);
  const { DynamoDBClient, GetItemCommand, PutItemCommand } = await import('@aws-sdk/client-dynamodb');
  const dir = mkdtempSync(join(tmpdir(), 'sovereign-bench-data-'));
  const table = tenantTableName('bench', 'acme');
  const Key = { pk: { S: 'bench#item' }, sk: { S: 'a' } };
  const Item = { ...Key, text: { S: 'x'.repeat(200) } };
  const policy = renderTenantPolicy({ tenant: 'acme', stage: 'bench', extensions: [{ name: 'bench' }], account: ACCOUNT, region: REGION });

  // Baseline: dynalite listening on loopback, its own store, the same table and item.
  const bare = join(dir, 'bare');
  const setup = await openDynaliteStore(bare);
  await ensureTenantTable(setup, table);
  await setup.close();
  const direct = await serveDynaliteStore(bare);
  const directClient = new DynamoDBClient({ endpoint: `http://127.0.0.1:${direct.port}`, region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
  await directClient.send(new PutItemCommand({ TableName: table, Item }));

  // Through the data plane, with the tenant's own credentials.
  const plane = new DataPlane({ region: REGION, account: ACCOUNT, idleMs: 600_000 });
  plane.register({ id: 'acme', stage: 'bench', policy, dataDir: join(dir, 'acme') });
  const endpoint = await plane.listen();
  const credentials = plane.issueCredentials('acme');
  const planeClient = new DynamoDBClient({ endpoint, region: REGION, credentials, maxAttempts: 1 });
  await planeClient.send(new PutItemCommand({ TableName: table, Item }));

  const paths = {
    direct: () => directClient.send(new GetItemCommand({ TableName: table, Key })),
    plane: () => planeClient.send(new GetItemCommand({ TableName: table, Key })),
  };
  for (const send of Object.values(paths)) await timed(send, 200); // warm-up
  const medians = { direct: [], plane: [] };
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [name, send] of round % 2 ? Object.entries(paths).reverse() : Object.entries(paths)) medians[name].push(await timed(send, PER_ROUND));
  }

  // The two checks alone, on a request the SDK signed (captured after signing).
  let captured;
  const capture = new DynamoDBClient({ endpoint, region: REGION, credentials, maxAttempts: 1 });
  capture.middlewareStack.add((next) => async (args) => {
    captured = { method: args.request.method, url: args.request.path, rawHeaders: Object.entries(args.request.headers).flat(), body: typeof args.request.body === 'string' ? Buffer.from(args.request.body) : Buffer.from(args.request.body.buffer, args.request.body.byteOffset, args.request.body.byteLength) };
    return next(args);
  }, { step: 'deserialize', priority: 'low' });
  await capture.send(new GetItemCommand({ TableName: table, Key }));
  const secretOf = () => credentials;
  const verifyTimes = [];
  const evaluateTimes = [];
  const resource = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${table}`;
  for (let i = 0; i < MICRO_CALLS; i += 1) {
    let start = process.hrtime.bigint();
    const verified = verifySigV4(captured, { service: 'dynamodb', region: REGION, now: new Date(), secretOf });
    verifyTimes.push(Number(process.hrtime.bigint() - start) / 1000);
    if (!verified.ok) throw new Error(`the captured request does not verify: ${verified.message}`);
    start = process.hrtime.bigint();
    evaluatePolicies([policy], 'dynamodb:GetItem', resource, { 'dynamodb:LeadingKeys': ['bench#item'] });
    evaluateTimes.push(Number(process.hrtime.bigint() - start) / 1000);
  }

  directClient.destroy();
  planeClient.destroy();
  capture.destroy();
  await plane.close();
  await new Promise((r) => direct.server.close(r));
  rmSync(dir, { recursive: true, force: true });

  const m = { direct: median(medians.direct), plane: median(medians.plane) };
  const lines = [
    `Run on ${new Date().toISOString().slice(0, 10)} with \`node bench/data-plane.js\` on ${cpus().length} cores (\`nproc\`), Node ${process.version}. One GetItem of a 200-byte item with the real \`@aws-sdk/client-dynamodb\`, keep-alive, one request at a time; ${ROUNDS} interleaved rounds of ${PER_ROUND}, the median of the rounds' medians (client and servers in one process).`,
    '',
    '| path | median per GetItem | vs straight to dynalite |',
    '|---|---|---|',
    `| straight to dynalite (listening, no checks) | ${fmt(m.direct)} µs | 1.00× |`,
    `| through the data plane (SigV4 + policy + dynalite in process) | ${fmt(m.plane)} µs | ${(m.plane / m.direct).toFixed(2)}× |`,
    '',
    `The checks alone, median of ${MICRO_CALLS} calls: SigV4 verification ${fmt(median(verifyTimes))} µs, policy evaluation ${fmt(median(evaluateTimes))} µs; the data plane adds ${fmt(m.plane - m.direct)} µs per request.`,
  ];
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(await runDataPlaneBench());
}
