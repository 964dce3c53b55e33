// What a TAB costs: `sovereign __complete` (the completion scripts' callback) against
// `sovereign --version` in the same run, in a project of 1,000 tenants.
// Run after `npm run build`: node bench/completion.js
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, project } from './foundation.js';

const cli = fileURLToPath(new URL('../bin/sovereign.js', import.meta.url));
const env = { ...process.env, NO_COLOR: '1', SOVEREIGN_ACTOR: 'bench@host' };

/** How many candidates a completion prints. */
function candidates(args, cwd) {
  const result = spawnSync(process.execPath, args, { cwd, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout.split('\n').filter(Boolean).length;
}

/** A project of `tenants` registry records (foundation.js's) with three extension folders. */
function completionProject(tenants) {
  const dir = project(tenants);
  for (const name of ['avalara', 'cetec', 'shipping-rates']) mkdirSync(join(dir, 'extensions', name), { recursive: true });
  // One command that reads the config caches its validation, as a user's first command does.
  spawnSync(process.execPath, [cli, 'tenant', 'show', 'tenant00000'], { cwd: dir, env, stdio: 'ignore' });
  return dir;
}

export async function runCompletionBench() {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 21);
  const dir = completionProject(1000);
  const variants = {
    version: [cli, '--version'],
    command: [cli, '__complete', 'ten'],
    option: [cli, '__complete', 'tenant', 'deploy', '--c'],
    tenants: [cli, '__complete', 'tenant', 'deploy', 't'],
    extensions: [cli, '__complete', 'ext', 'enable', ''],
    list: [cli, 'tenant', 'list'],
  };
  const m = compare(variants, dir, rounds);
  const row = (label, name) => `| ${label} | ${candidates(variants[name], dir)} | ${m[name].toFixed(0)} ms | ${(m[name] / m.version).toFixed(2)} |`;
  return [
    '## Shell completion: `sovereign __complete` against `sovereign --version` (2026-12-08)',
    '',
    `Medians of ${rounds} interleaved runs (a fresh process each) in a project of 1,000 tenants, on ${cpus().length} cores, Node ${process.version};`,
    'the ratio is against `sovereign --version` measured in the same run. `tenant list` (which reads every record) for comparison.',
    '',
    '| what a TAB asks | candidates | median | × --version |',
    '|---|---|---|---|',
    row('`sovereign --version` (baseline)', 'version'),
    row('`sovereign ten<TAB>` (a command)', 'command'),
    row('`sovereign tenant deploy --c<TAB>` (options: loads that command)', 'option'),
    row('`sovereign tenant deploy t<TAB>` (1,000 tenant ids)', 'tenants'),
    row('`sovereign ext enable <TAB>` (extension names)', 'extensions'),
    row('`sovereign tenant list` (for comparison)', 'list'),
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(await runCompletionBench());
