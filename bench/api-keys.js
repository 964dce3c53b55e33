// `sovereign tenant keys` through the real CLI, each against a baseline of the same kind in the
// same run: `keys create` and `keys revoke` (a mutation with its journaled commit and audit event)
// against `tenant billing --customer` (a mutation of one record with its event); `keys list` of 1
// and of 1,000 keys against `tenant show` (a read of one record). Medians of wall time per run.
// Run after `npm run build`: node bench/api-keys.js
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../bin/sovereign.js', import.meta.url));
const dist = (path) => new URL(`../dist/${path}`, import.meta.url).href;
const ROUNDS = Number(process.env.BENCH_KEYS_ROUNDS ?? 15);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function run(dir, args) {
  const start = process.hrtime.bigint();
  execFileSync(process.execPath, [cli, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1', SOVEREIGN_ACTOR: 'bench@host', CI: '1' }, stdio: ['ignore', 'ignore', 'ignore'] });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export async function runApiKeysBench() {
  const { generateApiKey, hashApiKey } = await import(dist('runtime/key-material.js'));
  const parent = mkdtempSync(join(tmpdir(), 'sovereign-bench-keys-'));
  try {
    const dir = join(parent, 'proj');
    run(parent, ['init', dir]);
    run(dir, ['tenant', 'create', 'acme', '--no-deploy']);
    run(dir, ['tenant', 'create', 'globex', '--no-deploy']);
    run(dir, ['tenant', 'keys', 'create', 'acme', '--name', 'warm']);
    run(dir, ['tenant', 'keys', 'create', 'globex', '--name', 'warm']);

    // Interleaved, so both sides of each ratio see the same machine load.
    const times = { create: [], revoke: [], billing: [], list1: [], show: [] };
    for (let i = 0; i < ROUNDS; i += 1) {
      times.create.push(run(dir, ['tenant', 'keys', 'create', 'acme', '--name', `k${i}`, '--scopes', 'a:read']));
      times.billing.push(run(dir, ['tenant', 'billing', 'acme', '--customer', `cus_${i}`]));
      times.revoke.push(run(dir, ['tenant', 'keys', 'revoke', 'acme', `k${i}`]));
      times.list1.push(run(dir, ['tenant', 'keys', 'list', 'acme', '--json']));
      times.show.push(run(dir, ['tenant', 'show', 'acme', '--json']));
    }

    // globex with 1,000 keys, written as the commit writes them.
    const keys = Array.from({ length: 1000 }, (_, i) => {
      const { key, id } = generateApiKey('dev');
      return { id, name: `k${i}`, hash: hashApiKey(key), scopes: ['a:read'], createdAt: new Date().toISOString(), createdBy: 'bench@host', expiresAt: null };
    });
    writeFileSync(join(dir, '.sovereign', 'data', 'globex', 'api-keys.json'), `${JSON.stringify({ version: 1, keys }, null, 2)}\n`);
    writeFileSync(join(dir, '.sovereign', 'data', 'globex', 'api-keys-used.json'), JSON.stringify(Object.fromEntries(keys.map((k) => [k.id, new Date().toISOString()]))));
    const list1000 = [];
    const show1000 = [];
    for (let i = 0; i < ROUNDS; i += 1) {
      list1000.push(run(dir, ['tenant', 'keys', 'list', 'globex', '--json']));
      show1000.push(run(dir, ['tenant', 'show', 'globex', '--json']));
    }
    const size = readFileSync(join(dir, '.sovereign', 'data', 'globex', 'api-keys.json')).length;

    const m = (xs) => median(xs);
    const row = (what, ms, base, baseName) => `| ${what} | ${ms.toFixed(0)} ms | ${baseName} ${base.toFixed(0)} ms | ${(ms / base).toFixed(2)} |`;
    return [
      `## API keys: \`sovereign tenant keys\` against commands of the same kind (${new Date().toISOString().slice(0, 10)})`,
      '',
      `\`node bench/api-keys.js\` on ${cpus().length} cores, Node ${process.version}: wall time of the real CLI per run, median of ${ROUNDS} interleaved runs each, local target.`,
      '',
      '| command | median | baseline (same run) | ratio |',
      '|---|---|---|---|',
      row('`tenant keys create` (key, hash, journaled commit, event, marker)', m(times.create), m(times.billing), '`tenant billing --customer`'),
      row('`tenant keys revoke`', m(times.revoke), m(times.billing), '`tenant billing --customer`'),
      row('`tenant keys list --json`, 1 key', m(times.list1), m(times.show), '`tenant show --json`'),
      row(`\`tenant keys list --json\`, 1,000 keys (${(size / 1024).toFixed(0)} KiB file) with last use`, m(list1000), m(show1000), '`tenant show --json`'),
      '',
    ].join('\n');
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(`${await runApiKeysBench()}\n`);
