// CLI start-up against Node's own, and `tenant list` over 10,000 tenants.
// Run after `npm run build`: node bench/foundation.js
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../bin/sovereign.js', import.meta.url));
const env = { ...process.env, NO_COLOR: '1', SOVEREIGN_ACTOR: 'bench@host' };

function timeOnce(args, cwd) {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Interleaves the variants so machine load hits all of them alike (medians; also used by completion.js). */
export function compare(variants, cwd, rounds) {
  const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (const [, args] of Object.entries(variants)) timeOnce(args, cwd); // warm the file cache
  for (let i = 0; i < rounds; i += 1) for (const [name, args] of Object.entries(variants)) times[name].push(timeOnce(args, cwd));
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

export function project(tenants) {
  const dir = mkdtempSync(join(tmpdir(), 'sovereign-bench-'));
  spawnSync(process.execPath, [cli, 'init', dir], { env, stdio: 'ignore' });
  const tenantsDir = join(dir, '.sovereign', 'tenants');
  mkdirSync(tenantsDir, { recursive: true });
  const now = new Date().toISOString();
  for (let i = 0; i < tenants; i += 1) {
    const id = `tenant${String(i).padStart(5, '0')}`;
    const record = {
      id, tier: 'basic', status: 'active', stage: 'dev', createdAt: now, createdBy: 'bench@host', updatedAt: now,
      extensions: ['avalara', 'cetec'], secrets: { 'avalara.license_key': { reference: `secretsmanager:dev/tenants/${id}/avalara:license_key`, setAt: now, setBy: 'bench@host' } },
      config: {}, deploys: [{ at: now, by: 'bench@host', target: 'local', artifact: 'a'.repeat(64), extensions: ['avalara', 'cetec'], outcome: 'success' }],
      transitions: [{ from: null, to: 'active', at: now, by: 'bench@host' }],
    };
    writeFileSync(join(tenantsDir, `${id}.json`), `${JSON.stringify(record, null, 2)}\n`);
  }
  return dir;
}

export async function runFoundationBench() {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
  const small = project(3);
  const startup = compare(
    { node: ['-e', '0'], help: [cli, '--help'], list: [cli, 'tenant', 'list'] },
    small,
    rounds,
  );
  const large = project(10_000);
  const fleet = compare({ list10k: [cli, 'tenant', 'list'], list10kJson: [cli, 'tenant', 'list', '--json'] }, large, 5);
  const r = (x) => `${x.toFixed(0)} ms`;
  return [
    '## CLI start-up and tenant list (issue 2)',
    '',
    `Medians of ${rounds} interleaved runs (a fresh process each); ratio against \`node -e 0\` measured in the same run.`,
    '',
    '| command | median | × node -e 0 | target |',
    '|---|---|---|---|',
    `| \`node -e 0\` | ${r(startup.node)} | 1.00 | |`,
    `| \`sovereign --help\` | ${r(startup.help)} | ${(startup.help / startup.node).toFixed(2)} | ≤ 2× |`,
    `| \`sovereign tenant list\` (3 tenants) | ${r(startup.list)} | ${(startup.list / startup.node).toFixed(2)} | ≤ 2× |`,
    `| \`sovereign tenant list\` (10,000 tenants) | ${r(fleet.list10k)} | ${(fleet.list10k / startup.node).toFixed(2)} | ≤ 1 s |`,
    `| \`sovereign tenant list --json\` (10,000 tenants) | ${r(fleet.list10kJson)} | ${(fleet.list10kJson / startup.node).toFixed(2)} | ≤ 1 s |`,
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(await runFoundationBench());
