/**
 * `sovereign dev` benchmarks: the real CLI serving three tenants, each in its own process.
 * 1. Per-tenant throughput through the gateway: a premium tenant offered 2,050 req/s (its rate plus burst)
 *    for BENCH_DEV_SECONDS (default 30) with zero errors; and the unthrottled maximum next to a
 *    bare `node:http` server measured in the same run.
 * 2. Noisy neighbour: tenant B's p99 at a steady 200 req/s, quiet and while tenant A (premium,
 *    then standard) is flooded; three interleaved rounds, median p99 of each condition.
 * 3. Oversized bodies: tenant B's p50/p99 at 200 req/s, quiet and while an attacker (its own
 *    process) keeps starting unsigned 400 MB POSTs to tenant A's route, then to the billing and
 *    rotation webhooks; three interleaved rounds, medians; the gateway's RSS peak over each.
 *
 * Load comes from autocannon in its own process (so the measuring process stays idle); B's
 * latencies are timed here with a keep-alive client. Only loopback addresses are used.
 *
 * Run alone: `npx tsc -p tsconfig.build.json && node bench/dev.js` (BENCH_DEV_SECONDS=5 for a quick run);
 * `node bench/dev.js oversized` runs section 3 only, `node bench/dev.js throughput` section 1a only.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'bin', 'sovereign.js');
const autocannonCli = join(repo, 'node_modules', 'autocannon', 'autocannon.js');
const SUSTAIN_SECONDS = Number(process.env.BENCH_DEV_SECONDS ?? 30);
const SHORT_SECONDS = Math.max(3, Math.min(10, SUSTAIN_SECONDS));
const B_RATE = 200;
/** Requests each execution environment serves before the steady-state throughput run (V8 optimises the request path per process). */
const WARM_PER_ENVIRONMENT = Number(process.env.BENCH_DEV_WARM ?? 3000);

const EXTENSION = `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({ name: 'hello', version: '1.0.0', description: 'bench', routes: [{ method: 'GET', path: '/', handler: 'hello', auth: 'public' }] });
`;
const HANDLER = `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (_request, ctx) => ({ hello: ctx.tenant.id }));
`;

function run(args, cwd) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('node', [cli, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', CI: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('exit', (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`sovereign ${args.join(' ')} failed: ${err}`))));
  });
}

/**
 * A project made by `sovereign init` with one extension (`hello` unless told otherwise) enabled by
 * default and the given tenants (default alpha and beta premium, gamma standard).
 */
export async function makeProject({ prefix = 'sovereign-bench-dev-', extension = { name: 'hello', manifest: EXTENSION, handlers: { hello: HANDLER } }, tenants = [['alpha', 'premium'], ['beta', 'premium'], ['gamma', 'standard']] } = {}) {
  const parent = mkdtempSync(join(tmpdir(), prefix));
  const dir = join(parent, 'proj');
  await run(['init', dir], parent);
  const configFile = join(dir, 'sovereign.config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8'));
  writeFileSync(configFile, JSON.stringify({ ...config, defaults: { tier: 'premium', extensions: [extension.name] } }, null, 2));
  mkdirSync(join(dir, 'extensions', extension.name, 'handlers'), { recursive: true });
  writeFileSync(join(dir, 'extensions', extension.name, 'extension.ts'), extension.manifest);
  for (const [name, source] of Object.entries(extension.handlers)) writeFileSync(join(dir, 'extensions', extension.name, 'handlers', `${name}.ts`), source);
  for (const [id, tier] of tenants) await run(['tenant', 'create', id, '--tier', tier, '--no-deploy'], dir);
  return { dir, project: config.project, cleanup: () => rmSync(parent, { recursive: true, force: true }) };
}

/** Starts `sovereign dev --port 0 --json` and resolves with its port and a stop function. */
export function startDev(dir, extra = []) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('node', [cli, 'dev', '--port', '0', '--json', ...extra], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', CI: '1' } });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dev did not start: ${err}`));
    }, 120_000);
    child.stderr.on('data', (c) => (err += c));
    child.stdout.on('data', (c) => {
      out += c;
      try {
        const ready = JSON.parse(out);
        clearTimeout(timer);
        const tenants = JSON.parse(readFileSync(join(dir, '.sovereign', 'dev.json'), 'utf8')).tenants;
        resolvePromise({
          port: ready.port,
          pid: ready.pid,
          tenantPids: Object.fromEntries(Object.entries(tenants).map(([id, t]) => [id, t.pid])),
          stop: () =>
            new Promise((done) => {
              const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
              child.once('exit', () => {
                clearTimeout(kill);
                done();
              });
              child.kill('SIGTERM');
            }),
        });
      } catch {
        // not the whole document yet
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dev exited with ${code}: ${err}`));
    });
  });
}

/** A bare node:http server in its own process answering the same JSON. */
function startBare() {
  const source = `const http = require('node:http');
const s = http.createServer((req, res) => { const body = JSON.stringify({ hello: 'bare' }); res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }); res.end(body); });
s.keepAliveTimeout = 65000; s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));`;
  return new Promise((resolvePromise, reject) => {
    const child = spawn('node', ['-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.once('data', (c) => resolvePromise({ port: Number(String(c).trim()), pid: child.pid, stop: () => new Promise((done) => { child.once('exit', done); child.kill('SIGTERM'); }) }));
    child.on('error', reject);
  });
}

/** autocannon in its own process; resolves with its JSON result. */
function autocannon(url, { connections = 10, seconds, rate, headers = {} }) {
  const args = [autocannonCli, '-j', '-n', '-c', String(connections), '-d', String(seconds)];
  if (rate) args.push('-R', String(rate));
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
  args.push(url);
  return new Promise((resolvePromise, reject) => {
    const child = spawn('node', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('exit', (code) => {
      try {
        resolvePromise(JSON.parse(out));
      } catch {
        reject(new Error(`autocannon failed (${code}): ${err.slice(-500)}`));
      }
    });
  });
}

/** Steady `rate` req/s against `url` for `seconds`, timing each request here. */
export async function timedLoad(url, rate, seconds) {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const latencies = [];
  let errors = 0;
  const one = () =>
    new Promise((done) => {
      const start = process.hrtime.bigint();
      const call = request(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) errors += 1;
          latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
          done();
        });
      });
      call.on('error', () => {
        errors += 1;
        done();
      });
      call.end();
    });
  const total = rate * seconds;
  const startedAt = performance.now();
  const pending = [];
  for (let i = 0; i < total; i += 1) {
    const due = startedAt + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(one());
  }
  await Promise.all(pending);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return { count: latencies.length, errors, p50: q(0.5), p99: q(0.99) };
}

/** CPU time (user + system) a process has used, in microseconds (Linux /proc; undefined elsewhere). */
export function cpuMicros(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
  } catch {
    return undefined;
  }
}

/** CPU microseconds per request of each process while `load()` runs. */
async function cpuPerRequest(pids, load) {
  const before = pids.map(cpuMicros);
  const result = await load();
  const after = pids.map(cpuMicros);
  const perRequest = pids.map((_, i) => (before[i] === undefined || after[i] === undefined ? undefined : (after[i] - before[i]) / result.requests.total));
  return { result, perRequest };
}

/**
 * The attacker of section 3, in its own process: for `seconds`, one connection after another
 * streaming up to 400 MB of zeros, unsigned and chunked, to each path in turn, each stopped at the
 * gateway's answer. Prints `{ attempts, refused, sentBytes }`.
 */
const OVERSIZED_ATTACKER = `const http = require('node:http');
const [port, seconds, ...paths] = process.argv.slice(1);
const chunk = Buffer.alloc(64 * 1024);
const total = 400 * 1024 * 1024;
const until = Date.now() + Number(seconds) * 1000;
let attempts = 0, refused = 0, sentBytes = 0;
function once(path) {
  return new Promise((done) => {
    let sent = 0, answered = false;
    const req = http.request({ host: '127.0.0.1', port: Number(port), path, method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      answered = true;
      if (res.statusCode === 413) refused += 1;
      res.resume();
      res.on('end', () => { req.destroy(); sentBytes += sent; done(); });
    });
    req.on('error', () => { sentBytes += sent; done(); });
    const pump = () => {
      while (!answered && sent < total) { sent += chunk.length; if (!req.write(chunk)) { req.once('drain', pump); return; } }
      if (!answered) req.end();
    };
    pump();
  });
}
(async () => {
  for (let i = 0; Date.now() < until; i += 1) { attempts += 1; await once(paths[i % paths.length]); }
  process.stdout.write(JSON.stringify({ attempts, refused, sentBytes }));
})();`;

function startAttacker(port, seconds, paths) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('node', ['-e', OVERSIZED_ATTACKER, String(port), String(seconds), ...paths], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.on('exit', () => {
      try {
        resolvePromise(JSON.parse(out));
      } catch {
        reject(new Error('the attacker failed'));
      }
    });
  });
}

/** Resident set of a process in bytes (Linux /proc; undefined elsewhere). */
function rssBytes(pid) {
  try {
    return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** How far the RSS of `pid` rose above its value at the start while `work()` ran, sampled every 10 ms. */
async function rssGrowth(pid, work) {
  const start = rssBytes(pid) ?? 0;
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, rssBytes(pid) ?? 0)), 10);
  try {
    return { result: await work(), growth: peak - start, peak };
  } finally {
    clearInterval(timer);
  }
}

/**
 * Section 3: tenant beta's latency at a steady rate, quiet and under an oversized-body attack on
 * alpha's route and both webhooks, in the same run; three interleaved rounds, medians.
 */
export async function runOversizedBench(existing) {
  const project = existing ?? (await makeProject());
  const rows = [];
  let dev;
  try {
    dev = await startDev(project.dir, ['--no-throttle']);
    const bUrl = `http://127.0.0.1:${dev.port}/t/beta/hello/`;
    const attacks = {
      route: { label: "A's route (6 MiB)", paths: ['/t/alpha/hello/'] },
      webhooks: { label: 'the billing (256 KiB) and rotation (64 KiB) webhooks', paths: ['/_sovereign/billing/webhook', '/t/alpha/_sovereign/webhooks/rotation'] },
    };
    await timedLoad(bUrl, B_RATE, 1); // warm-up
    const startRss = rssBytes(dev.pid) ?? 0;
    const rounds = { quiet: [], route: [], webhooks: [] };
    const growths = { quiet: [], route: [], webhooks: [] };
    let highest = 0;
    const attackers = { route: [], webhooks: [] };
    for (let round = 0; round < 3; round += 1) {
      const quiet = await rssGrowth(dev.pid, () => timedLoad(bUrl, B_RATE, SHORT_SECONDS));
      rounds.quiet.push(quiet.result);
      growths.quiet.push(quiet.growth);
      highest = Math.max(highest, quiet.peak);
      for (const [name, attack] of Object.entries(attacks)) {
        // RSS from before the attacker starts: its first second counts too.
        const attacked = await rssGrowth(dev.pid, async () => {
          const attacker = startAttacker(dev.port, SHORT_SECONDS + 2, attack.paths);
          await new Promise((r) => setTimeout(r, 1000));
          const load = await timedLoad(bUrl, B_RATE, SHORT_SECONDS);
          attackers[name].push(await attacker);
          return load;
        });
        rounds[name].push(attacked.result);
        growths[name].push(attacked.growth);
        highest = Math.max(highest, attacked.peak);
      }
    }
    const median = (list) => [...list].sort((a, b) => a - b)[1];
    const medianBy = (list, key) => median(list.map((r) => r[key]));
    const mb = (bytes) => `${fmt(bytes / 2 ** 20, 1)} MB`;
    const quietP50 = medianBy(rounds.quiet, 'p50');
    const quietP99 = medianBy(rounds.quiet, 'p99');
    rows.push([
      `tenant B at ${B_RATE} req/s, quiet`,
      `p50 ${fmt(quietP50, 2)} ms, p99 ${fmt(quietP99, 2)} ms`,
      `median of 3 rounds (p99s ${rounds.quiet.map((r) => fmt(r.p99, 1)).join(', ')} ms); errors ${rounds.quiet.reduce((n, r) => n + r.errors, 0)}; gateway RSS ${mb(startRss)} before the first round, rising by ${mb(median(growths.quiet))} (median) over a quiet round`,
    ]);
    for (const [name, attack] of Object.entries(attacks)) {
      const p50 = medianBy(rounds[name], 'p50');
      const p99 = medianBy(rounds[name], 'p99');
      const attempts = attackers[name].reduce((n, a) => n + a.attempts, 0);
      const refused = attackers[name].reduce((n, a) => n + a.refused, 0);
      const sent = attackers[name].reduce((n, a) => n + a.sentBytes, 0);
      rows.push([
        `tenant B at ${B_RATE} req/s while 400 MB unsigned bodies stream to ${attack.label}`,
        `p50 ${fmt(p50, 2)} ms (${fmt(p50 / quietP50, 2)}×), p99 ${fmt(p99, 2)} ms (${fmt(p99 / quietP99, 2)}×)`,
        `median of 3 rounds (p99s ${rounds[name].map((r) => fmt(r.p99, 1)).join(', ')} ms); errors ${rounds[name].reduce((n, r) => n + r.errors, 0)}; ${fmt(attempts)} attempts, ${fmt(refused)} answered 413, ${mb(sent / Math.max(1, attempts))} written by the attacker before each answer; gateway RSS rising by ${mb(median(growths[name]))} (median; ${growths[name].map((g) => fmt(g / 2 ** 20, 1)).join(', ')} MB) over the round`,
      ]);
    }
    await new Promise((r) => setTimeout(r, 5000));
    const idleRss = rssBytes(dev.pid) ?? 0;
    rows.push(['gateway RSS, highest over all rounds', mb(highest), `${mb(highest - startRss)} above its value before the first round; ${mb(idleRss)} after 5 s without load`]);
  } finally {
    await dev?.stop();
    if (!existing) project.cleanup();
  }
  return section('## dev: oversized bodies while another tenant is served', `Tenant B (beta) at a steady ${B_RATE} req/s through the \`sovereign dev\` gateway (throttling off), quiet and while an attacker in its own process streams unsigned, chunked 400 MB bodies, one connection after another, to tenant A's route, then in turn to \`/_sovereign/billing/webhook\` and A's rotation webhook; each attempt stops at the gateway's 413. Rounds of ${SHORT_SECONDS} s, three interleaved (quiet, route, webhooks); ratios are against the quiet rounds of the same run. What the attacker wrote includes what the kernel's socket buffers took before the answer.`, rows);
}

/** A results section: heading, what was measured, the table of rows and the machine's load. */
function section(heading, intro, rows) {
  return [
    heading,
    '',
    intro,
    '',
    '| measurement | result | detail |',
    '|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    `Machine load (1-minute average) at the end: ${loadavg()[0].toFixed(1)} on ${cpus().length} cores.`,
    '',
  ].join('\n');
}

const fmt = (n, d = 0) => Number(n).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const errorsOf = (r) => r.errors + r.timeouts + (r.non2xx ?? 0);

export async function runDevBench({ throughputOnly = false } = {}) {
  const { dir, cleanup } = await makeProject();
  const rows = [];
  const notes = [];
  let oversized = '';
  try {
    // 1a. Bare node:http vs the gateway without throttling, same load, same run; CPU per request
    // of each process too (robust to other load on the machine, unlike req/s).
    // Each connection keeps one request in flight, and each of the tenant's execution environments
    // serves one at a time: 10 connections keep up to 10 environments busy, 50 up to 50.
    const us = (v) => (v === undefined ? 'n/a' : `${fmt(v)} µs`);
    for (const connections of [10, 50]) {
      const bare = await startBare();
      await autocannon(`http://127.0.0.1:${bare.port}/`, { seconds: 2, connections }); // warm-up (JIT)
      const { result: bareResult, perRequest: [bareCpu] } = await cpuPerRequest([bare.pid], () => autocannon(`http://127.0.0.1:${bare.port}/`, { seconds: SHORT_SECONDS, connections }));
      await bare.stop();
      rows.push([`bare \`node:http\` (own process), ${connections} connections`, `${fmt(bareResult.requests.average)} req/s`, `p99 ${bareResult.latency.p99} ms, errors ${errorsOf(bareResult)}, CPU ${us(bareCpu)} per request`]);
      const dev = await startDev(dir, ['--no-throttle']);
      const url = `http://127.0.0.1:${dev.port}/t/alpha/hello/`;
      await autocannon(url, { seconds: 3, connections }); // warm-up: the environments start
      const environmentsNow = () => JSON.parse(readFileSync(join(dir, '.sovereign', 'dev.json'), 'utf8')).tenants.alpha.pids;
      // Each environment compiles the request path on its own: with N of them sharing the
      // traffic, each has served 1/N of it. Measured once right after the 3 s warm-up, then again
      // once every environment has served at least WARM_PER_ENVIRONMENT requests in all.
      let served = 0;
      const measure = async (label) => {
        const environments = environmentsNow();
        const { result, perRequest } = await cpuPerRequest([dev.pid, ...environments], () => autocannon(url, { seconds: SHORT_SECONDS, connections }));
        served += result.requests.total;
        const [gatewayCpu, ...environmentCpu] = perRequest;
        const tenantCpu = environmentCpu.some((v) => v === undefined) ? undefined : environmentCpu.reduce((n, v) => n + v, 0);
        const ratio = result.requests.average / bareResult.requests.average;
        rows.push([
          `gateway → tenant's environments, unthrottled, ${connections} connections, ${label}`,
          `${fmt(result.requests.average)} req/s`,
          `p99 ${result.latency.p99} ms, errors ${errorsOf(result)}; **${fmt(ratio * 100, 1)} % of bare**; ${environments.length} environments; CPU per request: gateway ${us(gatewayCpu)}, environments ${us(tenantCpu)}`,
        ]);
        return { gatewayCpu, tenantCpu };
      };
      const first = await measure('after a 3 s warm-up');
      let warming = 0;
      while (served / environmentsNow().length < WARM_PER_ENVIRONMENT && warming < 12) {
        served += (await autocannon(url, { seconds: 5, connections })).requests.total;
        warming += 1;
      }
      const steady = await measure(`each environment warm (${fmt(served / environmentsNow().length)} requests each before and during this run)`);
      await dev.stop();
      if (connections === 10 && steady.gatewayCpu !== undefined && steady.tenantCpu !== undefined) {
        notes.push(`CPU per request does not depend on what else the machine runs: at 10 connections, warm, gateway + environments use ${us(steady.gatewayCpu + steady.tenantCpu)} per request, so one free core carries about ${fmt(1e6 / (steady.gatewayCpu + steady.tenantCpu))} req/s through the gateway (bare node:http: ${us(bareCpu)}).`);
      }
      if (first.tenantCpu !== undefined && steady.tenantCpu !== undefined) {
        notes.push(`At ${connections} connections the environments' CPU per request went from ${us(first.tenantCpu)} right after the warm-up to ${us(steady.tenantCpu)} once each was warm.`);
      }
    }

    if (throughputOnly) return [section('## dev: gateway and tenant processes (throughput only)', 'Tenant alpha (premium) behind the `sovereign dev` gateway on loopback; load from autocannon in a separate process.', rows), ...notes].join('\n');

    // 1b. A premium tenant (2,000 req/s, burst 4,000) offered 2,050 req/s for the whole run with
    // throttling on: 50/s beyond the rate come out of the burst, so nothing may be refused. Its
    // environments serve one request at a time: 20 connections need up to 20 of them (of its 100).
    let dev = await startDev(dir);
    const offered = 2050;
    const sustained = await autocannon(`http://127.0.0.1:${dev.port}/t/alpha/hello/`, { seconds: SUSTAIN_SECONDS, rate: offered, connections: 20 });
    const sustainedRate = sustained.requests.total / SUSTAIN_SECONDS;
    const sustainedOk = sustainedRate >= 2000 && errorsOf(sustained) === 0;
    rows.push([
      `premium tenant offered ${fmt(offered)} req/s for ${SUSTAIN_SECONDS} s (throttling on)`,
      `${fmt(sustainedRate)} req/s`,
      `${fmt(sustained.requests.total)} requests, errors/non-2xx ${errorsOf(sustained)}, p50 ${sustained.latency.p50} ms, p99 ${sustained.latency.p99} ms — ${sustainedOk ? 'target (≥ 2,000 req/s, 0 errors) met' : 'target (≥ 2,000 req/s, 0 errors) missed'}`,
    ]);

    // 2. Noisy neighbour: B at a steady 200 req/s, quiet, then while A is flooded — A premium
    // (2,000 req/s admitted) and A standard (500 req/s admitted). Three interleaved rounds; the
    // median p99 of each condition counts, so one burst of other work on the machine does not.
    const bUrl = `http://127.0.0.1:${dev.port}/t/beta/hello/`;
    await timedLoad(bUrl, B_RATE, 1); // warm-up
    const rounds = { quiet: [], premium: [], standard: [] };
    const floods = { premium: [], standard: [] };
    for (let round = 0; round < 3; round += 1) {
      rounds.quiet.push(await timedLoad(bUrl, B_RATE, SHORT_SECONDS));
      for (const [noisy, tier] of [['alpha', 'premium'], ['gamma', 'standard']]) {
        const flood = autocannon(`http://127.0.0.1:${dev.port}/t/${noisy}/hello/`, { seconds: SHORT_SECONDS + 2, connections: 50 });
        await new Promise((r) => setTimeout(r, 1000));
        rounds[tier].push(await timedLoad(bUrl, B_RATE, SHORT_SECONDS));
        floods[tier].push(await flood);
      }
    }
    const medianBy = (list, key) => [...list].sort((a, b) => a[key] - b[key])[1][key];
    const quietP99 = medianBy(rounds.quiet, 'p99');
    rows.push([
      `tenant B at ${B_RATE} req/s, quiet`,
      `p99 ${fmt(quietP99, 2)} ms`,
      `median of 3 rounds (p99s ${rounds.quiet.map((r) => fmt(r.p99, 1)).join(', ')} ms); p50 ${fmt(medianBy(rounds.quiet, 'p50'), 2)} ms; errors ${rounds.quiet.reduce((n, r) => n + r.errors, 0)}`,
    ]);
    for (const tier of ['premium', 'standard']) {
      const p99 = medianBy(rounds[tier], 'p99');
      const within = p99 <= 2 * quietP99;
      const offered = floods[tier].reduce((n, f) => n + f.requests.average, 0) / floods[tier].length;
      const refused = floods[tier].reduce((n, f) => n + (f.non2xx ?? 0), 0);
      rows.push([
        `tenant B at ${B_RATE} req/s while ${tier} A is flooded (50 connections)`,
        `p99 ${fmt(p99, 2)} ms`,
        `median of 3 rounds (p99s ${rounds[tier].map((r) => fmt(r.p99, 1)).join(', ')} ms); p50 ${fmt(medianBy(rounds[tier], 'p50'), 2)} ms; errors ${rounds[tier].reduce((n, r) => n + r.errors, 0)}; ${fmt(p99 / quietP99, 2)}× quiet — ${within ? 'within 2×' : 'over 2×'}; A sent ${fmt(offered)} req/s, ${fmt(refused)} answered 429`,
      ]);
    }
    await dev.stop();
    oversized = await runOversizedBench({ dir, cleanup });
  } finally {
    cleanup();
  }
  return [
    section('## dev: gateway and tenant processes', `Tenants alpha and beta (premium) and gamma (standard), each in its own process running its built artifact behind the \`sovereign dev\` gateway on loopback; load from autocannon in a separate process. Sustained run ${SUSTAIN_SECONDS} s (BENCH_DEV_SECONDS), other runs ${SHORT_SECONDS} s.`, rows),
    ...notes,
    '',
    oversized,
  ].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  (process.argv[2] === 'oversized' ? runOversizedBench() : runDevBench({ throughputOnly: process.argv[2] === 'throughput' })).then(
    (markdown) => process.stdout.write(`${markdown}\n`),
    (error) => {
      process.stderr.write(`${error.stack ?? error}\n`);
      process.exitCode = 1;
    },
  );
}
