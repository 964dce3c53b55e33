// Secret references and the local vault: validating 10,000 references (target ≤ 100 ms), the
// tenant-scope check, and vault reads and writes per second.
// Run after `npm run build`: node bench/secrets.js
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = (path) => new URL(`../dist/${path}`, import.meta.url).href;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function time(fn) {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Median of `rounds` timed runs after one warm-up. */
function measure(fn, rounds = 7) {
  fn();
  return median(Array.from({ length: rounds }, () => time(fn)));
}

function references(count) {
  const out = [];
  for (let i = 0; i < count; i += 1) {
    const tenant = `tenant${String(i % 1000).padStart(4, '0')}`;
    switch (i % 4) {
      case 0: out.push(`ssm:/dev/tenants/${tenant}/avalara/account_id`); break;
      case 1: out.push(`secretsmanager:dev/tenants/${tenant}/avalara:license_key`); break;
      case 2: out.push(`secretsmanager:dev/tenants/${tenant}/cetec:token:AWSPREVIOUS`); break;
      default: out.push(`ssm:/dev/tenants/${tenant}/a/b/c/d/e/f/g/h/${'x'.repeat(64)}`);
    }
  }
  return out;
}

function adversarial(count) {
  const bad = ['ssm:/dev/tenants/acme/../globex/k', 'ssm:/dev//tenants/acme/k', 'secretsmanager:dev/tenants/*', 'ssm:/dev/tenants/\u0430cme/k',
    'ssm:arn:aws:ssm:eu-west-1:1:parameter/x', 'secretsmanager:dev/tenants/acme/a%2Fb', 'vault:x', 'secretsmanager:x:y:z:w'];
  return Array.from({ length: count }, (_, i) => bad[i % bad.length]);
}

export async function runSecretsBench() {
  const { parseReference } = await import(dist('contract/reference.js'));
  const { checkTenantScope } = await import(dist('secrets/scope.js'));
  const { openVault } = await import(dist('runtime/secrets/vault.js'));
  const { openWritableVault } = await import(dist('targets/local/vault-writer.js'));
  const rows = [];

  const valid = references(10_000);
  const invalid = adversarial(10_000);
  let accepted = 0;
  const validMs = measure(() => { accepted = 0; for (const r of valid) if (parseReference(r).ok) accepted += 1; });
  if (accepted !== valid.length) throw new Error(`only ${accepted} of ${valid.length} references were accepted`);
  const invalidMs = measure(() => { for (const r of invalid) if (parseReference(r).ok) throw new Error(`accepted ${r}`); });
  rows.push(['validate 10,000 valid references', `${validMs.toFixed(1)} ms`, '≤ 100 ms', validMs <= 100 ? 'met' : 'missed']);
  rows.push(['validate 10,000 invalid references (with messages)', `${invalidMs.toFixed(1)} ms`, '≤ 100 ms', invalidMs <= 100 ? 'met' : 'missed']);

  const tenants = Array.from({ length: 1000 }, (_, i) => `tenant${String(i).padStart(4, '0')}`);
  const scopeMs = measure(() => {
    const result = checkTenantScope('secretsmanager:dev/tenants/tenant0500/avalara:license_key',
      { tenant: 'tenant0500', extension: 'avalara', stage: 'dev', allTenants: tenants, allExtensions: ['avalara', 'cetec', 'stripe'] });
    if (!result.ok) throw new Error(result.problem.message);
  }, 15);
  rows.push(['tenant-scope check, 1,000 tenants × 3 extensions', `${scopeMs.toFixed(2)} ms per check`, '—', '']);

  const dir = mkdtempSync(join(tmpdir(), 'sovereign-bench-vault-'));
  try {
    const path = join(dir, 'acme.vault');
    const key = randomBytes(32);
    const vault = openWritableVault(path, key, 'acme');
    for (let i = 0; i < 50; i += 1) vault.putVersion(`secretsmanager:dev/tenants/acme/ext${i}`, JSON.stringify({ key: randomBytes(24).toString('base64') }), { by: 'bench' });

    const writes = 200;
    const writeMs = time(() => {
      for (let i = 0; i < writes; i += 1) vault.putVersion('ssm:/dev/tenants/acme/rotating', randomBytes(24).toString('base64'), { by: 'bench' });
    });
    rows.push(['vault writes (lock, decrypt, encrypt, fsync, rename; 51 secrets)', `${Math.round(writes / (writeMs / 1000)).toLocaleString('en')} /s`, '—', '']);

    const reads = 100_000;
    const readMs = time(() => {
      for (let i = 0; i < reads; i += 1) vault.readSecret(`secretsmanager:dev/tenants/acme/ext${i % 50}:key`);
    });
    rows.push(['vault reads from an open vault (JSON key)', `${Math.round(reads / (readMs / 1000)).toLocaleString('en')} /s`, '—', '']);

    const opens = 500;
    const openMs = time(() => {
      for (let i = 0; i < opens; i += 1) openVault(path, key, 'acme').readSecret('ssm:/dev/tenants/acme/rotating');
    });
    rows.push(['open + decrypt + read (cold, 51 secrets × up to 100 versions)', `${Math.round(opens / (openMs / 1000)).toLocaleString('en')} /s`, '—', '']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const table = ['| measurement | result | target | |', '|---|---|---|---|', ...rows.map((row) => `| ${row.join(' | ')} |`)];
  return ['## secrets', '', 'Median of 7 runs after a warm-up where repeated; vault figures from one timed loop.', '', ...table, ''].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${await runSecretsBench()}\n`);
}
