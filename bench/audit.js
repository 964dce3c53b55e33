/**
 * Audit bundle benchmark: `sovereign audit export` of a tenant with 1,000,000 audit events (plus
 * 100,000 events of another tenant interleaved, so the chain evidence has gaps), then
 * `sovereign audit verify` of the result. Each command runs as its own process (the real CLI);
 * its peak RSS is the OS's maxRSS of that process. Targets: export ≤ 10 s and ≤ 150 MB.
 *
 * Run alone: `npx tsc -p tsconfig.build.json && node bench/audit.js` (AUDIT_BENCH_EVENTS overrides the count).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'bin', 'sovereign.js');
const TARGET_MS = 10_000;
const TARGET_RSS = 150 * 1024 * 1024;

function sovereign(args, cwd, env = {}) {
  const rssFile = join(cwd, `.rss-${process.pid}-${Date.now()}`);
  const preload = `data:text/javascript,${encodeURIComponent(`import { writeFileSync } from 'node:fs'; process.on('exit', () => { const u = process.resourceUsage(); writeFileSync(${JSON.stringify(rssFile)}, JSON.stringify({ rss: u.maxRSS * 1024, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 })); });`)}`;
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ['--import', preload, cli, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', SOVEREIGN_ACTOR: 'bench@host', ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`sovereign ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  let usage = { rss: NaN, cpuMs: NaN };
  try {
    usage = JSON.parse(readFileSync(rssFile, 'utf8'));
    rmSync(rssFile);
  } catch {
    // the process did not reach its exit handler
  }
  return { ms, rss: usage.rss, cpuMs: usage.cpuMs, stdout: result.stdout, stderr: result.stderr };
}

/** Appends `count` hash-chained events (`share` of them the tenant's) to the project's log. */
async function appendEvents(project, tenant, other, count, otherEvery) {
  const { hashEvent, readTail } = await import(pathToFileURL(join(repo, 'dist', 'state', 'audit-log.js')).href);
  const log = join(project, '.sovereign', 'audit', 'events.jsonl');
  let previous = readTail(log).last;
  const fd = openSync(log, 'a');
  let buffer = [];
  let bytes = 0;
  const start = Date.parse('2025-01-01T00:00:00Z');
  let written = 0;
  let others = 0;
  let seq = previous.seq;
  for (let i = 0; written < count; i += 1) {
    const own = otherEvery === 0 || i % otherEvery !== otherEvery - 1;
    seq += 1;
    const body = {
      seq,
      time: new Date(start + seq * 1000).toISOString(),
      actor: 'ci@runner',
      command: own ? 'secrets rotate' : 'tenant deploy',
      tenant: own ? tenant : other,
      action: own ? 'secrets.rotate' : 'tenant.deploy',
      args: own ? { key: 'avalara.license_key', reference: `secretsmanager:dev/tenants/${tenant}/avalara:license_key`, versionId: `v-${seq}` } : { artifact: 'a'.repeat(64) },
      outcome: 'success',
      prevHash: previous.hash,
    };
    const event = { ...body, hash: hashEvent(body) };
    const line = `${JSON.stringify(event)}\n`;
    buffer.push(line);
    bytes += line.length;
    if (own) written += 1;
    else others += 1;
    previous = event;
    if (bytes > 1 << 22) {
      writeSync(fd, buffer.join(''));
      buffer = [];
      bytes = 0;
    }
  }
  if (buffer.length) writeSync(fd, buffer.join(''));
  closeSync(fd);
  return { seq, others, size: statSync(log).size };
}

const mb = (n) => (n / 1024 / 1024).toFixed(0);

export async function runAuditBench() {
  const events = Number(process.env.AUDIT_BENCH_EVENTS ?? 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'sovereign-audit-bench-'));
  const project = join(dir, 'proj');
  try {
    sovereign(['init', project], dir);
    sovereign(['tenant', 'create', 'acme', '--no-deploy'], project);
    sovereign(['tenant', 'create', 'globex', '--no-deploy'], project);
    const setup = Date.now();
    const log = await appendEvents(project, 'acme', 'globex', events, 11);
    const setupMs = Date.now() - setup;

    const exported = sovereign(['audit', 'export', '--tenant', 'acme', '--out', 'acme.tar.gz', '--json'], project);
    const bundle = JSON.parse(exported.stdout).bundle;
    const verified = sovereign(['audit', 'verify', 'acme.tar.gz', '--json'], project);
    const report = JSON.parse(verified.stdout);
    if (!report.ok) throw new Error(`verify failed: ${report.failure}`);

    const pass = (ms, rss) => (ms <= TARGET_MS && rss <= TARGET_RSS ? 'yes' : 'NO');
    return [
      '## Audit bundle (`sovereign audit export` / `verify`)',
      '',
      `A tenant with ${events.toLocaleString('en-US')} audit events, interleaved with ${log.others.toLocaleString('en-US')} events of another tenant (log: ${log.seq.toLocaleString('en-US')} events, ${mb(log.size)} MB; written in ${(setupMs / 1000).toFixed(1)} s of setup).`,
      'Each command is the real CLI in its own process; time is wall clock including Node start-up, peak RSS is the process\'s maxRSS.',
      '',
      '| step | wall time | CPU time (all threads) | peak RSS | target (≤ 10 s, ≤ 150 MB) | result |',
      '|---|---|---|---|---|---|',
      `| export | ${(exported.ms / 1000).toFixed(2)} s | ${(exported.cpuMs / 1000).toFixed(2)} s | ${mb(exported.rss)} MB | ${pass(exported.ms, exported.rss)} | ${bundle.events.toLocaleString('en-US')} events, ${bundle.files} files, bundle ${mb(bundle.size)} MB |`,
      `| verify | ${(verified.ms / 1000).toFixed(2)} s | ${(verified.cpuMs / 1000).toFixed(2)} s | ${mb(verified.rss)} MB | — | ${report.checks.length} checks passed |`,
      '',
      'The export reads the log as bytes, checks every link of the chain, and compresses the tenant\'s lines on the thread pool while it reads them; the compressed run is spliced into the archive. Memory does not grow with the number of events. Verify recomputes the SHA-256 of every exported event.',
      `Machine load while measuring: ${loadavg().map((l) => l.toFixed(1)).join(' / ')} (1/5/15 min) on ${cpus().length} CPUs.`,
      '',
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${await runAuditBench()}\n`);
}
