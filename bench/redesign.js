// What the target redesign cost at run time: CLI start, warm request overhead and cold start of
// this tree against the tree before it (BENCH_BASELINE, a git revision), measured in the same run.
// Run after `npm run build`: node bench/redesign.js (it builds the baseline in a temporary worktree).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The last commit before local and aws became implementations of one Target interface. */
const DEFAULT_BASELINE = 'fec877d';

const root = fileURLToPath(new URL('..', import.meta.url));
const env = { ...process.env, NO_COLOR: '1', SOVEREIGN_ACTOR: 'bench@host', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function timeOnce(args, cwd) {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr}`);
  return ms;
}

/** A worktree of `rev` with this tree's node_modules, built. */
function baselineTree(rev) {
  const dir = join(mkdtempSync(join(tmpdir(), 'sovereign-baseline-')), 'tree');
  execFileSync('git', ['-C', root, 'worktree', 'add', '--detach', dir, rev], { stdio: 'ignore' });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  execFileSync('npm', ['run', 'build'], { cwd: dir, stdio: 'ignore', env });
  return dir;
}

function removeTree(dir) {
  try {
    execFileSync('git', ['-C', root, 'worktree', 'remove', '--force', dir], { stdio: 'ignore' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A project with three tenants, made by `cli`. */
function project(cli) {
  const dir = join(mkdtempSync(join(tmpdir(), 'sovereign-bench-redesign-')), 'proj');
  mkdirSync(dir, { recursive: true });
  spawnSync(process.execPath, [cli, 'init', dir], { env, stdio: 'ignore' });
  for (const id of ['acme', 'globex', 'initech']) spawnSync(process.execPath, [cli, 'tenant', 'create', id, '--no-deploy'], { cwd: dir, env, stdio: 'ignore' });
  return dir;
}

/** Interleaved rounds: every variant once per round, so machine load hits all of them alike. */
function cliStart(trees, rounds) {
  // A project per tree: each keeps its own validated-config cache warm, as a user's project does
  // (one tree's run would otherwise invalidate the other's cache every round).
  const dirs = Object.fromEntries(Object.entries(trees).map(([which, tree]) => [which, project(join(tree, 'bin', 'sovereign.js'))]));
  const commands = { '--help': ['--help'], 'tenant list': ['tenant', 'list'], 'tenant show acme': ['tenant', 'show', 'acme'], 'tenant diff acme': ['tenant', 'diff', 'acme'] };
  const variants = { node: { args: ['-e', '0'], cwd: dirs.after } };
  for (const [name, args] of Object.entries(commands)) for (const [which, tree] of Object.entries(trees)) variants[`${which}:${name}`] = { args: [join(tree, 'bin', 'sovereign.js'), ...args], cwd: dirs[which] };
  const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (const { args, cwd } of Object.values(variants)) timeOnce(args, cwd);
  for (let i = 0; i < rounds; i += 1) for (const [name, { args, cwd }] of Object.entries(variants)) times[name].push(timeOnce(args, cwd));
  return { node: median(times.node), rows: Object.keys(commands).map((name) => ({ name, before: median(times[`before:${name}`]), after: median(times[`after:${name}`]) })) };
}

/** One run of a tree's own runtime benchmark (warm and cold sections), its figures read from its table rows. */
function runtimeFigures(tree) {
  const result = spawnSync(process.execPath, [join(tree, 'bench', 'runtime.js')], { cwd: tree, env: { ...env, BENCH_RUNTIME_SECTIONS: 'warm,cold' }, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`the runtime benchmark of ${tree} failed: ${result.stderr}`);
  const row = (label) => result.stdout.split('\n').find((line) => line.startsWith(`| ${label}`))?.split('|').map((cell) => cell.trim());
  const warm = row('sovereign runtime');
  const cold = row('sovereign, as `tenant deploy` builds it (split chunks), generation marker from a file');
  if (!warm || !cold) throw new Error(`the runtime benchmark of ${tree} printed no sovereign rows`);
  return { warmUs: Number.parseFloat(warm[2]), warmRatio: Number.parseFloat(warm[3]), coldMs: Number.parseFloat(cold[3]), coldRatio: Number.parseFloat(cold[5]) };
}

export async function runRedesignBench() {
  const rev = process.env.BENCH_BASELINE ?? DEFAULT_BASELINE;
  const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
  const runtimeRounds = Number(process.env.BENCH_REDESIGN_RUNTIME_ROUNDS ?? 2);
  const before = baselineTree(rev);
  try {
    const trees = { before, after: root };
    const start = cliStart(trees, rounds);
    const runtime = { before: [], after: [] };
    for (let i = 0; i < runtimeRounds; i += 1) for (const [which, tree] of Object.entries(trees)) runtime[which].push(runtimeFigures(tree));
    const fig = (which, key) => median(runtime[which].map((r) => r[key]));
    const ms = (x) => `${x.toFixed(0)} ms`;
    const lines = [
      '## Target redesign: before and after in the same run',
      '',
      `This tree against \`${rev}\` (the last commit before the one Target interface), built side by side; ${rounds} interleaved rounds of each CLI command (a fresh process each, medians), then each tree's own runtime benchmark (warm and cold sections) ${runtimeRounds}× alternately (medians of those runs; the ratios are each run's own, to its bare handler and its peer).`,
      '',
      '| measurement | before | after | after ÷ before |',
      '|---|---|---|---|',
      `| \`node -e 0\` (reference) | ${ms(start.node)} | ${ms(start.node)} | |`,
      ...start.rows.map((r) => `| \`sovereign ${r.name}\` | ${ms(r.before)} | ${ms(r.after)} | ${(r.after / r.before).toFixed(2)} |`),
      ...(runtimeRounds === 0 ? [] : [
        `| warm request, sovereign runtime (× its run's bare handler) | ${fig('before', 'warmUs').toFixed(2)} µs (${fig('before', 'warmRatio').toFixed(2)}×) | ${fig('after', 'warmUs').toFixed(2)} µs (${fig('after', 'warmRatio').toFixed(2)}×) | ${(fig('after', 'warmRatio') / fig('before', 'warmRatio')).toFixed(2)} |`,
        `| cold start to first response, as \`tenant deploy\` builds it (× its run's peer) | ${fig('before', 'coldMs').toFixed(1)} ms (${fig('before', 'coldRatio').toFixed(2)}×) | ${fig('after', 'coldMs').toFixed(1)} ms (${fig('after', 'coldRatio').toFixed(2)}×) | ${(fig('after', 'coldRatio') / fig('before', 'coldRatio')).toFixed(2)} |`,
      ]),
      '',
      'The CLI rows compare medians taken in the same rounds; the runtime rows compare each run\'s ratio to its own bare handler or peer (the runs are minutes apart, so absolute figures drift with the machine), as "after ÷ before" of those ratios.',
      '',
      `Per runtime run (before / after): warm ${runtime.before.map((r) => r.warmUs).join(', ')} / ${runtime.after.map((r) => r.warmUs).join(', ')} µs; cold ${runtime.before.map((r) => r.coldMs).join(', ')} / ${runtime.after.map((r) => r.coldMs).join(', ')} ms.`,
      '',
    ];
    return lines.join('\n');
  } finally {
    removeTree(before);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = await runRedesignBench();
  process.stdout.write(`${text}\n`);
  if (process.env.BENCH_OUT) writeFileSync(process.env.BENCH_OUT, `${text}\n`);
}
