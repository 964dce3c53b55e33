/**
 * `sovereign dev` as a Lambda host, through the real CLI, in the same run:
 * 1. An idle fleet: BENCH_LAMBDA_TENANTS (default 200) tenants registered, `dev` started: time to
 *    its ready result, and the resident memory of dev and every process it started once ready
 *    (scale to zero: no environment until a request). Next to it, BENCH_LAMBDA_WARM (default 20)
 *    tenants with `--warm` (one environment each, as every tenant had a process before).
 * 2. A cold start: the first request to a tenant with no environment (spawn, artifact load,
 *    invocation, answer), against a bare `node` process started to answer one HTTP request, in
 *    interleaved rounds (medians).
 * 3. Warm requests: one keep-alive client, one request at a time, to a tenant's warm environment
 *    and to a bare `node:http` server (medians of interleaved rounds).
 * 4. A neighbour returning oversized results: tenant B's p99 at 200 req/s, quiet and while
 *    clients of tenant A keep asking for a 15 MB result (refused in A's environment, 502), three
 *    interleaved rounds, medians.
 *
 * Run alone: `npm run build && node bench/dev-lambda.js` (BENCH_LAMBDA_TENANTS=40 for a quick run;
 * `node bench/dev-lambda.js neighbour` runs section 4 only).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { makeProject, startDev, timedLoad } from './dev.js';

const TENANTS = Number(process.env.BENCH_LAMBDA_TENANTS ?? 200);
const WARM_TENANTS = Number(process.env.BENCH_LAMBDA_WARM ?? 20);
const COLD_ROUNDS = Number(process.env.BENCH_LAMBDA_COLD_ROUNDS ?? 9);
const WARM_REQUESTS = 2000;

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fmt = (n, digits = 1) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resident memory (bytes) of `pid` and all its descendants, from /proc. */
function treeRss(pid) {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  let total = 0;
  let processes = 0;
  const walk = (p) => {
    try {
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (rss) total += Number(rss[1]) * 1024;
      processes += 1;
    } catch {
      return;
    }
    for (const child of children.get(p) ?? []) walk(child);
  };
  walk(pid);
  return { bytes: total, processes };
}

/** One GET; resolves with its time in ms and the parsed body. */
function get(port, path, agent) {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const call = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolvePromise({ ms: performance.now() - started, status: res.statusCode, body }));
    });
    call.on('error', reject);
    call.end();
  });
}

/** A fresh `node` process answering one HTTP request: spawn to the answer, in ms. */
function bareColdStart() {
  const source = `const http = require('node:http');
const s = http.createServer((req, res) => { const body = JSON.stringify({ hello: 'bare' }); res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }); res.end(body, () => process.exit(0)); });
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));`;
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.once('data', async (chunk) => {
      try {
        await get(Number(String(chunk).trim()), '/', new Agent({ keepAlive: false }));
        resolvePromise(performance.now() - started);
      } catch (error) {
        reject(error);
      }
    });
    child.on('error', reject);
  });
}

/** A bare node:http server in its own process (for warm requests). */
function bareServer() {
  const source = `const http = require('node:http');
const s = http.createServer((req, res) => { const body = JSON.stringify({ hello: 'bare' }); res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }); res.end(body); });
s.keepAliveTimeout = 65000; s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));`;
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.once('data', (c) => resolvePromise({ port: Number(String(c).trim()), stop: () => child.kill('SIGTERM') }));
  });
}

const devTenants = (dir) => JSON.parse(readFileSync(`${dir}/.sovereign/dev.json`, 'utf8')).tenants;

async function idleFleet(count, extra) {
  const ids = Array.from({ length: count }, (_, i) => [`t${String(i).padStart(3, '0')}`, 'basic']);
  const { dir, cleanup } = await makeProject({ prefix: 'sovereign-bench-lambda-', tenants: ids });
  try {
    const started = performance.now();
    const dev = await startDev(dir, ['--no-throttle', ...extra]);
    const readyMs = performance.now() - started;
    await sleep(2000);
    const rss = treeRss(dev.pid);
    await dev.stop();
    return { readyMs, rss };
  } finally {
    cleanup();
  }
}

export async function runDevLambdaBench({ neighbourOnly = false } = {}) {
  const lines = ['## dev as a Lambda host: scale to zero, cold starts, warm requests', ''];
  lines.push(`Run on ${new Date().toISOString().slice(0, 10)} with \`node bench/dev-lambda.js\` on ${cpus().length} cores (\`nproc\`), Node ${process.version}; load average ${loadavg().map((l) => l.toFixed(1)).join(' / ')} at the start.`, '');

  // 1. Idle fleets.
  if (!neighbourOnly) await fleetsAndStarts(lines);
  await neighbour(lines);
  lines.push(`Machine load (1-minute average) at the end: ${loadavg()[0].toFixed(1)} on ${cpus().length} cores.`, '');
  return lines.join('\n');
}

const EXTENSION = {
  name: 'hello',
  manifest: `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({ name: 'hello', version: '1.0.0', description: 'bench', routes: [{ method: 'GET', path: '/', handler: 'hello', auth: 'public' }, { method: 'GET', path: '/big', handler: 'big', auth: 'public' }] });
`,
  handlers: {
    hello: `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (_request, ctx) => ({ hello: ctx.tenant.id }));
`,
    big: `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async () => ({ pad: 'x'.repeat(15 * 1024 * 1024) }));
`,
  },
};
const benchProject = () => makeProject({ prefix: 'sovereign-bench-lambda-', extension: EXTENSION, tenants: [['alpha', 'premium'], ['beta', 'premium']] });

/** Sections 1 to 3. */
async function fleetsAndStarts(lines) {
  const idle = await idleFleet(TENANTS, []);
  const warm = await idleFleet(WARM_TENANTS, ['--warm']);
  const coldTwenty = WARM_TENANTS === TENANTS ? idle : await idleFleet(WARM_TENANTS, []);
  lines.push('| fleet | dev ready after | resident memory of dev and its processes, idle | processes |', '|---|---|---|---|');
  lines.push(`| ${TENANTS} tenants, scaled to zero | ${fmt(idle.readyMs / 1000, 2)} s | ${fmt(idle.rss.bytes / 2 ** 20, 0)} MiB | ${idle.rss.processes} |`);
  lines.push(`| ${WARM_TENANTS} tenants, scaled to zero | ${fmt(coldTwenty.readyMs / 1000, 2)} s | ${fmt(coldTwenty.rss.bytes / 2 ** 20, 0)} MiB | ${coldTwenty.rss.processes} |`);
  lines.push(`| ${WARM_TENANTS} tenants, \`--warm\` (one environment each) | ${fmt(warm.readyMs / 1000, 2)} s | ${fmt(warm.rss.bytes / 2 ** 20, 0)} MiB | ${warm.rss.processes} |`, '');
  lines.push(`Targets for ${TENANTS} tenants: ready ≤ 5 s → **${idle.readyMs <= 5000 ? 'met' : 'missed'}**; idle memory ≤ 1 GB → **${idle.rss.bytes <= 1e9 ? 'met' : 'missed'}**.`, '');

  // 2 and 3. One tenant: cold starts against a bare node process, then warm requests.
  const { dir, cleanup } = await benchProject();
  const bare = await bareServer();
  let dev;
  try {
    dev = await startDev(dir, ['--no-throttle', '--idle', '300ms']);
    const cold = [];
    const bareCold = [];
    await get(dev.port, '/t/alpha/hello/', new Agent({ keepAlive: false })); // builds nothing more; warms the gateway
    for (let round = 0; round < COLD_ROUNDS; round++) {
      for (let waited = 0; devTenants(dir).alpha.pids.length > 0 && waited < 10_000; waited += 50) await sleep(50);
      await sleep(100);
      const answer = await get(dev.port, '/t/alpha/hello/', new Agent({ keepAlive: false }));
      if (answer.status !== 200) throw new Error(`the cold request answered ${answer.status}: ${answer.body}`);
      cold.push(answer.ms);
      bareCold.push(await bareColdStart());
    }
    const coldMs = median(cold);
    const bareMs = median(bareCold);
    lines.push('| first request | median | rounds |', '|---|---|---|');
    lines.push(`| to a tenant with no environment (start, artifact load, invocation) | ${fmt(coldMs, 0)} ms | ${cold.map((v) => fmt(v, 0)).join(', ')} |`);
    lines.push(`| a bare \`node\` process started to answer one HTTP request | ${fmt(bareMs, 0)} ms | ${bareCold.map((v) => fmt(v, 0)).join(', ')} |`, '');
    lines.push(`Cold start ÷ bare node: **${fmt(coldMs / bareMs, 2)}×** (target ≤ 2× → **${coldMs / bareMs <= 2 ? 'met' : 'missed'}**).`, '');

    // 3. Warm: the idle time is short, so keep the environment busy enough to stay.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const bareAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const viaDev = [];
    const viaBare = [];
    for (let round = 0; round < 5; round++) {
      const d = [];
      const b = [];
      for (let i = 0; i < WARM_REQUESTS / 5; i++) d.push((await get(dev.port, '/t/alpha/hello/', agent)).ms);
      for (let i = 0; i < WARM_REQUESTS / 5; i++) b.push((await get(bare.port, '/', bareAgent)).ms);
      viaDev.push(median(d));
      viaBare.push(median(b));
    }
    lines.push('| warm request, one at a time | median |', '|---|---|');
    lines.push(`| through the gateway to the tenant's warm environment | ${fmt(median(viaDev) * 1000, 0)} µs |`);
    lines.push(`| bare \`node:http\` | ${fmt(median(viaBare) * 1000, 0)} µs |`, '');
  } finally {
    await dev?.stop();
    bare.stop();
    cleanup();
  }
}

/** Section 4. */
async function neighbour(lines) {
  const { dir, cleanup } = await benchProject();
  let dev;
  try {
    // 4. B's latency, quiet and while A's clients ask for 15 MB results (each refused with 502),
    //    with dev's default idle time.
    dev = await startDev(dir, ['--no-throttle']);
    const bUrl = `http://127.0.0.1:${dev.port}/t/beta/hello/`;
    await timedLoad(bUrl, 200, 1);
    const quiet = [];
    const noisy = [];
    let refused = 0;
    let attempts = 0;
    for (let round = 0; round < 3; round++) {
      quiet.push(await timedLoad(bUrl, 200, 5));
      let attacking = true;
      const attacker = async () => {
        const bigAgent = new Agent({ keepAlive: true, maxSockets: 1 });
        while (attacking) {
          const answer = await get(dev.port, '/t/alpha/hello/big', bigAgent);
          attempts += 1;
          if (answer.status === 502) refused += 1;
        }
        bigAgent.destroy();
      };
      const attackers = Array.from({ length: 4 }, attacker);
      await sleep(500);
      noisy.push(await timedLoad(bUrl, 200, 5));
      attacking = false;
      await Promise.all(attackers);
    }
    const quietP99 = median(quiet.map((r) => r.p99));
    const noisyP99 = median(noisy.map((r) => r.p99));
    lines.push('| tenant B at 200 req/s | p50 | p99 | errors |', '|---|---|---|---|');
    lines.push(`| quiet | ${fmt(median(quiet.map((r) => r.p50)), 2)} ms | ${fmt(quietP99, 2)} ms (${quiet.map((r) => fmt(r.p99, 1)).join(', ')}) | ${quiet.reduce((n, r) => n + r.errors, 0)} |`);
    lines.push(`| while 4 clients of A ask for 15 MB results | ${fmt(median(noisy.map((r) => r.p50)), 2)} ms | ${fmt(noisyP99, 2)} ms (${noisy.map((r) => fmt(r.p99, 1)).join(', ')}) | ${noisy.reduce((n, r) => n + r.errors, 0)} |`, '');
    lines.push(`A's ${fmt(attempts, 0)} requests for 15 MB were all refused with 502: ${refused === attempts ? 'yes' : `no (${fmt(refused, 0)})`}. B's p99 under it ÷ quiet: **${fmt(noisyP99 / quietP99, 2)}×** (target within 2× → **${noisyP99 / quietP99 <= 2 ? 'met' : 'missed'}**).`, '');
  } finally {
    await dev?.stop();
    cleanup();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${await runDevLambdaBench({ neighbourOnly: process.argv[2] === 'neighbour' })}\n`);
}
