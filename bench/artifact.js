/**
 * Tenant artifact size and cold start, with the AWS SDK bundled vs left to Lambda's nodejs20
 * runtime. Cold start = a fresh Node process importing the bundle and answering its first request
 * (`GET /_sovereign/health`, which reads the generation marker from DynamoDB and resolves the
 * webhook secret from SSM, so the SDK is really loaded and used; a loopback stub answers for AWS).
 *
 * Run alone: `npm run build && node bench/artifact.js`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EXTENSIONS = ['avalara', 'avalara-cetec-sync', 'cetec'];
const RUNS = 15;

async function loadArtifactModule() {
  try {
    return await import(pathToFileURL(join(repo, 'dist', 'artifact', 'index.js')).href);
  } catch (error) {
    throw new Error(`bench/artifact.js needs the built package (npm run build): ${error.message}`);
  }
}

/** Answers the AWS calls a cold start makes: SSM GetParameter and DynamoDB GetItem. */
export function startAwsStub() {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      if (target.endsWith('GetParameter')) {
        const name = JSON.parse(body || '{}').Name ?? '/x';
        res.end(JSON.stringify({ Parameter: { Name: name, Type: 'SecureString', Value: 'bench-webhook-secret', Version: 1 } }));
      } else if (target.endsWith('GetSecretValue')) {
        res.end(JSON.stringify({ Name: 'x', SecretString: '{}', VersionId: 'v1', VersionStages: ['AWSCURRENT'] }));
      } else {
        res.setHeader('content-type', 'application/x-amz-json-1.0');
        res.end('{}');
      }
    });
  });
  return new Promise((resolveServer) => server.listen(0, '127.0.0.1', () => resolveServer(server)));
}

const CHILD = `
const t0 = performance.now();
const { handler } = await import(process.env.BENCH_ENTRY);
const t1 = performance.now();
const event = { version: '2.0', routeKey: '$default', rawPath: '/_sovereign/health', rawQueryString: '', headers: {},
  requestContext: { http: { method: 'GET', path: '/_sovereign/health', sourceIp: '127.0.0.1', protocol: 'HTTP/1.1', userAgent: 'bench' }, requestId: 'r1', stage: '$default', timeEpoch: Date.now() },
  isBase64Encoded: false };
const result = await handler(event);
const t2 = performance.now();
process.stdout.write(JSON.stringify({ status: result.statusCode, webhook: JSON.parse(result.body).webhookSecret?.status, importMs: t1 - t0, firstResponseMs: t2 - t0, body: result.body }));
`;

/** One cold start of `entry` in a fresh process of `node` (default: this Node). */
export function coldStart(entry, endpoint, node = process.execPath) {
  const started = performance.now();
  return new Promise((resolveRun, reject) => {
    const child = spawn(node, ['--input-type=module', '-e', CHILD], {
      env: {
        PATH: process.env.PATH,
        BENCH_ENTRY: pathToFileURL(entry).href,
        SOVEREIGN_TENANT: 'acme',
        SOVEREIGN_STAGE: 'dev',
        SOVEREIGN_TABLE: 'sovereign-dev-acme',
        SOVEREIGN_TENANT_CONFIG: JSON.stringify({ extensions: EXTENSIONS, secrets: {}, config: {}, webhookSecret: 'ssm:/dev/tenants/acme/_sovereign/webhook_secret' }),
        SOVEREIGN_SECRETS_BACKEND: 'aws',
        SOVEREIGN_GENERATION_SOURCE: 'dynamodb',
        SOVEREIGN_LOG_LEVEL: 'error',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'bench',
        AWS_SECRET_ACCESS_KEY: 'bench',
        AWS_ENDPOINT_URL: endpoint,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', () => {
      try {
        const run = JSON.parse(out);
        resolveRun({ ...run, processMs: performance.now() - started });
      } catch {
        reject(new Error(`cold start failed: ${err || out}`));
      }
    });
  });
}

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
const ms = (value) => `${value.toFixed(0)} ms`;

export async function runArtifactBench() {
  const { buildTenantBundle, packArtifact } = await loadArtifactModule();
  const work = mkdtempSync(join(tmpdir(), 'sovereign-artifact-bench-'));
  // External SDK modules resolve from here, as they do from /var/runtime on Lambda.
  symlinkSync(join(repo, 'node_modules'), join(work, 'node_modules'), 'dir');
  const server = await startAwsStub();
  const endpoint = `http://127.0.0.1:${server.address().port}`;
  const rows = [];
  try {
    const builds = [];
    for (const awsSdk of ['bundle', 'external']) {
      const buildStart = performance.now();
      const bundle = await buildTenantBundle({ projectDir: repo, extensionsDir: join(repo, 'extensions'), extensions: EXTENSIONS, awsSdk });
      const buildMs = performance.now() - buildStart;
      builds.push({ awsSdk, bundle, buildMs, packed: packArtifact(bundle, join(work, 'artifacts')), runs: [] });
    }
    // Interleaved, so both modes see the same machine load.
    for (let i = 0; i < RUNS; i++) {
      for (const b of builds) b.runs.push(await coldStart(b.packed.entry, endpoint));
    }
    for (const { awsSdk, bundle, buildMs, packed, runs } of builds) {
      const bad = runs.find((r) => r.status !== 200 || r.webhook !== 'ok');
      if (bad) throw new Error(`health answered ${bad.status}: ${bad.body}`);
      rows.push({
        awsSdk,
        bundle: bundle.files.reduce((sum, f) => sum + f.data.length, 0),
        entry: bundle.code.length,
        chunks: bundle.files.length - 1,
        zip: packed.size,
        buildMs,
        importMs: median(runs.map((r) => r.importMs)),
        firstMs: median(runs.map((r) => r.firstResponseMs)),
        processMs: median(runs.map((r) => r.processMs)),
      });
    }
  } finally {
    server.close();
    rmSync(work, { recursive: true, force: true });
  }
  const lines = [
    '## Tenant artifact: AWS SDK bundled vs provided by the Lambda runtime',
    '',
    `Extensions: ${EXTENSIONS.join(', ')}. Cold start: median of ${RUNS} fresh Node ${process.version} processes; import = loading index.mjs (its chunks load on first use), first response = import + \`GET /_sovereign/health\` (DynamoDB GetItem + SSM GetParameter against a loopback stub).`,
    '',
    '| AWS SDK | bundle (entry + chunks) | zip | build | import | first response | whole process |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.awsSdk === 'bundle' ? 'bundled' : 'external (Lambda runtime)'} | ${kb(r.bundle)} (${kb(r.entry)} + ${r.chunks} chunks) | ${kb(r.zip)} | ${ms(r.buildMs)} | ${ms(r.importMs)} | ${ms(r.firstMs)} | ${ms(r.processMs)} |`),
    '',
  ];
  return lines.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runArtifactBench().then((markdown) => process.stdout.write(`${markdown}\n`), (error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exitCode = 1;
  });
}
