/**
 * `sovereign dev` with 40 tenants over two distinct extension sets (20 run `hello`, 20 run `hello`
 * and `second`): how long until dev is ready, and the peak resident memory of dev and everything
 * it started (tenant processes, esbuild's service), sampled from /proc every 50 ms.
 *
 * Before and after in the same run: "before" is the CLI built from BENCH_DEV_BUILD_BASELINE (a git
 * ref, default the merge base of HEAD and main) into the temporary folder, "after" is this tree's
 * dist/.
 * Both serve the same project, rounds interleaved (before, after, before, after…), medians.
 *
 * Run alone: `npm run build && node bench/dev-build.js` (BENCH_DEV_BUILD_ROUNDS, default 2;
 * BENCH_DEV_BUILD_TENANTS, default 40).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.BENCH_DEV_BUILD_ROUNDS ?? 2);
const TENANTS = Number(process.env.BENCH_DEV_BUILD_TENANTS ?? 40);

const manifest = (name) => `import { defineExtension } from 'sovereign-cli/runtime';
export default defineExtension({ name: '${name}', version: '1.0.0', description: 'bench', routes: [{ method: 'GET', path: '/${name}', handler: '${name}', auth: 'public' }] });
`;
const handler = (name) => `import { defineHandler } from 'sovereign-cli/runtime';
export const handler = defineHandler(async (_request, ctx) => ({ ${name}: ctx.tenant.id }));
`;

function run(cli, args, cwd) {
  execFileSync('node', [cli, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1', CI: '1' } });
}

/**
 * The CLI as it was at `ref`, built once into the temporary folder. Not inside this repository:
 * Node 20's permission model aborts a tenant process whose granted paths nest one package's
 * node_modules inside another's.
 */
function baselineCli(ref) {
  const sha = execFileSync('git', ['rev-parse', ref], { cwd: repo, encoding: 'utf8' }).trim();
  const dir = join(tmpdir(), `sovereign-bench-dev-build-baseline-${sha.slice(0, 12)}`);
  const cli = join(dir, 'bin', 'sovereign.js');
  if (!existsSync(join(dir, 'dist', 'cli.js'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync('sh', ['-c', `git archive ${sha} | tar -x -C "${dir}"`], { cwd: repo });
    symlinkSync(realpathSync(join(repo, 'node_modules')), join(dir, 'node_modules'));
    execFileSync('node', [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'inherit' });
    execFileSync('node', ['scripts/write-schema.js'], { cwd: dir, stdio: 'inherit' });
  }
  return { sha, cli };
}

function makeProject(cli) {
  const parent = mkdtempSync(join(tmpdir(), 'sovereign-bench-dev-build-'));
  const dir = join(parent, 'proj');
  run(cli, ['init', dir], parent);
  for (const name of ['hello', 'second']) {
    mkdirSync(join(dir, 'extensions', name, 'handlers'), { recursive: true });
    writeFileSync(join(dir, 'extensions', name, 'extension.ts'), manifest(name));
    writeFileSync(join(dir, 'extensions', name, 'handlers', `${name}.ts`), handler(name));
  }
  const configFile = join(dir, 'sovereign.config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8'));
  for (const [half, extensions] of [[0, ['hello']], [1, ['hello', 'second']]]) {
    writeFileSync(configFile, JSON.stringify({ ...config, defaults: { tier: 'basic', extensions } }, null, 2));
    for (let i = 0; i < TENANTS / 2; i += 1) run(cli, ['tenant', 'create', `t${half}n${i}`, '--no-deploy'], dir);
  }
  return { dir, cleanup: () => rmSync(parent, { recursive: true, force: true }) };
}

/** Resident bytes of `pid` and all its descendants (shared pages counted in each). */
function treeRss(pid) {
  let total = 0;
  const visit = (p) => {
    try {
      total += Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) * 1024;
      for (const task of readdirSync(`/proc/${p}/task`)) {
        for (const child of readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').split(' ').filter(Boolean)) visit(Number(child));
      }
    } catch {
      // exited meanwhile
    }
  };
  visit(pid);
  return total;
}

/** One start of dev: ready time, peak tree RSS until ready and over 3 s after, then stop time. */
function measure(cli, dir) {
  rmSync(join(dir, '.sovereign', 'artifacts'), { recursive: true, force: true });
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn('node', [cli, 'dev', '--port', '0', '--json', '--no-throttle'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', CI: '1' } });
    let out = '';
    let err = '';
    let peak = 0;
    let readyMs;
    let settled = 0;
    const sampler = setInterval(() => {
      const rss = treeRss(child.pid);
      peak = Math.max(peak, rss);
      if (readyMs !== undefined) settled = rss;
    }, 50);
    const fail = (error) => {
      clearInterval(sampler);
      child.kill('SIGKILL');
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`dev did not start in 300 s: ${err.slice(-500)}`)), 300_000);
    child.stderr.on('data', (c) => (err += c));
    child.stdout.on('data', (c) => {
      out += c;
      let ready;
      try {
        ready = JSON.parse(out);
      } catch {
        return;
      }
      clearTimeout(timer);
      readyMs = performance.now() - started;
      const running = Object.values(JSON.parse(readFileSync(join(dir, '.sovereign', 'dev.json'), 'utf8')).tenants).filter((t) => t.status === 'running').length;
      if (running !== TENANTS) return fail(new Error(`${running} of ${TENANTS} tenants running at ready: ${err.slice(-500)}`));
      setTimeout(() => {
        clearInterval(sampler);
        const stopAt = performance.now();
        child.once('exit', () => resolvePromise({ readyMs, peak, settled, stopMs: performance.now() - stopAt, running, builds: ready.builds }));
        child.kill('SIGTERM');
      }, 3000);
    });
    child.on('exit', (code) => {
      if (readyMs === undefined) fail(new Error(`dev exited with ${code}: ${err.slice(-500)}`));
    });
  });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const s = (ms) => `${(ms / 1000).toFixed(1)} s`;

export async function runDevBuildBench() {
  const ref = process.env.BENCH_DEV_BUILD_BASELINE ?? execFileSync('git', ['merge-base', 'HEAD', 'main'], { cwd: repo, encoding: 'utf8' }).trim();
  const before = baselineCli(ref);
  const after = join(repo, 'bin', 'sovereign.js');
  const project = makeProject(after);
  const results = { before: [], after: [] };
  try {
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [name, cli] of [['before', before.cli], ['after', after]]) {
        process.stderr.write(`dev-build: round ${round + 1} ${name}…\n`);
        results[name].push(await measure(cli, project.dir));
      }
    }
  } finally {
    project.cleanup();
  }
  const row = (name) => {
    const r = results[name];
    return { readyMs: median(r.map((x) => x.readyMs)), peak: median(r.map((x) => x.peak)), settled: median(r.map((x) => x.settled)), stopMs: median(r.map((x) => x.stopMs)), running: r.map((x) => x.running), builds: r[0].builds };
  };
  const b = row('before');
  const a = row('after');
  const lines = [
    `## dev: one build per distinct artifact, two at a time (${new Date().toISOString().slice(0, 10)})`,
    '',
    `\`sovereign dev\` on ${TENANTS} basic tenants (half with extension \`hello\`, half with \`hello\` and \`second\`: two distinct artifacts), started ${ROUNDS} times each way, interleaved; medians. "Before" is the CLI of ${before.sha.slice(0, 12)} (every tenant builds its own artifact, all at once); "after" is this tree (one build per distinct input, at most 2 at once, esbuild's service stopped after 1 s idle). Peak RSS is the sum of VmRSS over dev and all its descendants (tenant processes, esbuild), sampled every 50 ms from start until 3 s after ready; "3 s after ready" is the last sample.`,
    '',
    '| measurement | before | after | after / before |',
    '|---|---|---|---|',
    `| dev ready (spawn → --json result) | ${s(b.readyMs)} | ${s(a.readyMs)} | ${(a.readyMs / b.readyMs).toFixed(2)} |`,
    `| peak RSS, dev + all its processes | ${mb(b.peak)} | ${mb(a.peak)} | ${(a.peak / b.peak).toFixed(2)} |`,
    `| RSS 3 s after ready | ${mb(b.settled)} | ${mb(a.settled)} | ${(a.settled / b.settled).toFixed(2)} |`,
    `| SIGTERM → exit | ${s(b.stopMs)} | ${s(a.stopMs)} | |`,
    `| tenants running at ready | ${b.running.join(', ')} | ${a.running.join(', ')} | |`,
    `| artifacts built / shared (after) | | ${a.builds ? `${a.builds.built} / ${a.builds.shared}` : '-'} | |`,
    '',
    `Each round: ${Object.entries(results).map(([name, r]) => `${name} ${r.map((x) => `${s(x.readyMs)} / ${mb(x.peak)}`).join(', ')}`).join('; ')}. Machine load (1-minute average) at the end: ${loadavg()[0].toFixed(1)}.`,
    '',
  ];
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.stdout.write(`${await runDevBuildBench()}\n`);
