/**
 * What the dev console costs, measured on the real `sovereign dev` (two premium tenants, no
 * throttling), three interleaved rounds of each condition, medians:
 * 1. The sandbox header on `/t/<tenant>/` answers: a tenant served by path vs by `<tenant>.localhost`
 *    host (no header added), req/s and p99 at 10 connections.
 * 2. The console's answers against dev's own stats endpoint (the baseline it is built next to):
 *    `/_sovereign/dev/stats`, `/_sovereign/console/api/overview` (what the page polls every second)
 *    and the server-rendered `/_sovereign/console` page, time per request and p99 at 10 connections.
 * 3. An open console: a tenant's req/s with and without a client polling the overview once a second.
 *
 * Load comes from autocannon (in this process); only loopback addresses are used.
 * Run alone: `npm run build && node bench/dev-console.js` (BENCH_CONSOLE_SECONDS=3 by default).
 */
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { makeProject, startDev } from './dev.js';

const SECONDS = Number(process.env.BENCH_CONSOLE_SECONDS ?? 3);
const ROUNDS = 3;

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const fmt = (v, digits = 2) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits));

function load(url, headers = {}, seconds = SECONDS) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: 10, duration: seconds, headers }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

/** A client polling `path` once a second (what the console's page does) until stopped. */
function poller(port, path, headers) {
  let stopped = false;
  let polls = 0;
  const tick = () => {
    if (stopped) return;
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      res.resume();
      res.on('end', () => {
        polls += 1;
        setTimeout(tick, 1000);
      });
    });
    req.on('error', () => setTimeout(tick, 1000));
    req.end();
  };
  tick();
  return () => {
    stopped = true;
    return polls;
  };
}

/** Runs each condition `ROUNDS` times, interleaved; returns the medians of `pick` per condition. */
async function interleaved(conditions, pick) {
  const seen = Object.fromEntries(Object.keys(conditions).map((k) => [k, []]));
  for (let round = 0; round < ROUNDS; round += 1) for (const [name, run] of Object.entries(conditions)) seen[name].push(pick(await run()));
  return Object.fromEntries(Object.entries(seen).map(([name, results]) => [name, Object.fromEntries(Object.keys(results[0]).map((key) => [key, median(results.map((r) => r[key]))]))]));
}

export async function runDevConsoleBench() {
  const { dir, cleanup } = await makeProject({ prefix: 'sovereign-bench-console-', tenants: [['alpha', 'premium'], ['beta', 'premium']] });
  const dev = await startDev(dir, ['--no-throttle']);
  try {
    const state = JSON.parse(readFileSync(join(dir, '.sovereign', 'dev.json'), 'utf8'));
    const base = `http://127.0.0.1:${dev.port}`;
    const figures = (r) => ({ rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx });
    // Warm-up: JIT, the tenants' environments, the audit chain's first verification.
    await load(`${base}/t/alpha/hello/`, {}, 2);
    await load(`${base}/_sovereign/console/api/overview`, { authorization: `Bearer ${state.consoleToken}` }, 1);

    const sandbox = await interleaved(
      {
        host: () => load(`${base}/hello/`, { host: `alpha.localhost:${dev.port}` }),
        path: () => load(`${base}/t/alpha/hello/`),
      },
      figures,
    );
    const endpoints = await interleaved(
      {
        stats: () => load(`${base}/_sovereign/dev/stats`, { authorization: `Bearer ${state.token}` }),
        overview: () => load(`${base}/_sovereign/console/api/overview?minutes=15`, { authorization: `Bearer ${state.consoleToken}` }),
        page: () => load(`${base}/_sovereign/console`, { authorization: `Bearer ${state.consoleToken}` }),
      },
      figures,
    );
    const open = await interleaved(
      {
        closed: () => load(`${base}/t/alpha/hello/`),
        open: async () => {
          const stop = poller(dev.port, '/_sovereign/console/api/overview?minutes=15', { authorization: `Bearer ${state.consoleToken}` });
          const result = await load(`${base}/t/alpha/hello/`);
          stop();
          return result;
        },
      },
      figures,
    );
    const errors = [...Object.values(sandbox), ...Object.values(endpoints), ...Object.values(open)].reduce((n, f) => n + f.errors, 0);
    const lines = [
      `## dev console: its sandbox header, its answers, an open console (${new Date().toISOString().slice(0, 10)})`,
      '',
      `\`node bench/dev-console.js\` on ${cpus().length} cores (\`nproc\`), Node ${process.version}: the real \`sovereign dev\`, two premium tenants, \`--no-throttle\`, autocannon at 10 connections for ${SECONDS} s per run, ${ROUNDS} interleaved rounds, medians; ${errors} errors or non-2xx answers.`,
      '',
      '| condition | req/s | ms per request (10 / req/s) | p99 | ratio of req/s |',
      '|---|---|---|---|---|',
      `| tenant by \`alpha.localhost\` host (no header added; baseline) | ${fmt(sandbox.host.rps)} | ${fmt((10 / sandbox.host.rps) * 1000, 3)} ms | ${sandbox.host.p99} ms | 1.00 |`,
      `| tenant by \`/t/alpha/\` path (CSP sandbox added) | ${fmt(sandbox.path.rps)} | ${fmt((10 / sandbox.path.rps) * 1000, 3)} ms | ${sandbox.path.p99} ms | ${(sandbox.path.rps / sandbox.host.rps).toFixed(2)} |`,
      `| \`/_sovereign/dev/stats\` (baseline) | ${fmt(endpoints.stats.rps)} | ${fmt((10 / endpoints.stats.rps) * 1000, 3)} ms | ${endpoints.stats.p99} ms | 1.00 |`,
      `| \`/_sovereign/console/api/overview\` (15 one-minute points per tenant) | ${fmt(endpoints.overview.rps)} | ${fmt((10 / endpoints.overview.rps) * 1000, 3)} ms | ${endpoints.overview.p99} ms | ${(endpoints.overview.rps / endpoints.stats.rps).toFixed(2)} |`,
      `| \`/_sovereign/console\` page (server-rendered) | ${fmt(endpoints.page.rps)} | ${fmt((10 / endpoints.page.rps) * 1000, 3)} ms | ${endpoints.page.p99} ms | ${(endpoints.page.rps / endpoints.stats.rps).toFixed(2)} |`,
      `| tenant load, no console open (baseline) | ${fmt(open.closed.rps)} | ${fmt((10 / open.closed.rps) * 1000, 3)} ms | ${open.closed.p99} ms | 1.00 |`,
      `| tenant load, a console polling the overview every second | ${fmt(open.open.rps)} | ${fmt((10 / open.open.rps) * 1000, 3)} ms | ${open.open.p99} ms | ${(open.open.rps / open.closed.rps).toFixed(2)} |`,
      '',
    ];
    return lines.join('\n');
  } finally {
    await dev.stop();
    cleanup();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${await runDevConsoleBench()}\n`);
}
