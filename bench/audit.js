/**
 * Audit benchmark: `sovereign audit export` of a tenant with 1,000,000 audit events (plus
 * 100,000 events of another tenant interleaved, so the chain evidence has gaps) whose head is
 * covered by a signed checkpoint, then `sovereign audit verify --key` of the result; `audit log`
 * (its default view and `--limit 20`) on that log and on a 1,000-event one; and the cost of one
 * append with its signed checkpoint against a plain append, in the same run. Each command runs as
 * its own process (the real CLI); its peak RSS is the OS's maxRSS of that process. Targets:
 * export and verify ≤ 10 s and ≤ 150 MB each, `audit log` ≤ 150 MB at any size and `--limit 20`
 * on 1,000,000 events ≤ 10× its time on 1,000.
 *
 * With AUDIT_BENCH_BASELINE=<a built checkout of the previous tree>, `audit log` is measured there
 * too, on a copy of the same log, for the before/after figures.
 *
 * Run alone: `npx tsc -p tsconfig.build.json && node bench/audit.js` (AUDIT_BENCH_EVENTS overrides the count).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'bin', 'sovereign.js');
const TARGET_MS = 10_000;
const TARGET_RSS = 150 * 1024 * 1024;

function sovereign(args, cwd, env = {}, options = {}) {
  const rssFile = join(cwd, `.rss-${process.pid}-${Date.now()}`);
  const preload = `data:text/javascript,${encodeURIComponent(`import { writeFileSync } from 'node:fs'; process.on('exit', () => { const u = process.resourceUsage(); writeFileSync(${JSON.stringify(rssFile)}, JSON.stringify({ rss: u.maxRSS * 1024, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 })); });`)}`;
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ['--import', preload, options.cli ?? cli, ...args], {
    cwd,
    // A view of a million events goes to /dev/null: only its cost is measured.
    ...(options.discardStdout ? { stdio: ['ignore', 'ignore', 'pipe'] } : {}),
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
const dist = (path) => import(pathToFileURL(join(repo, 'dist', path)).href);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Signs checkpoints for events written straight into the log (as the project's key holder would):
 * every 1,000th seq into the history and the head into `checkpoint.json`, so the log verifies
 * and the export finds its head covered.
 */
async function anchorLog(project) {
  const { readTail, readEvents } = await dist('state/audit-log.js');
  const { localCheckpointSigner, signCheckpointSync, checkpointBody, serializeCheckpoint } = await dist('audit/checkpoint.js');
  const { checkpointPaths } = await dist('audit/checkpoint-files.js');
  const { createPrivateKey } = await import('node:crypto');
  const signer = localCheckpointSigner(createPrivateKey(readFileSync(join(project, '.sovereign', 'keys', '_signing.key'))));
  const log = join(project, '.sovereign', 'audit', 'events.jsonl');
  const paths = checkpointPaths(log);
  const time = new Date().toISOString();
  const head = readTail(log).last;
  const history = [];
  for await (const { event } of readEvents(log)) if (event.seq % 1000 === 0 || event.seq === head.seq) history.push(`${serializeCheckpoint(signCheckpointSync(signer, checkpointBody(event, time)))}\n`);
  writeFileSync(paths.history, history.join(''), { flag: 'a' });
  writeFileSync(paths.latest, `${serializeCheckpoint(signCheckpointSync(signer, checkpointBody(head, time)))}\n`);
}

/**
 * A local commit's audit step as it was (its file changes staged in the journal with the event,
 * the event appended, the journal applied) against the same step now (the event's signed
 * checkpoint staged with them, and the history line appended after). One tenant record as the
 * file change, as most mutations have; in-process, medians of alternating rounds on one log.
 */
async function appendCost(project, rounds = 200) {
  const { appendEvent } = await dist('state/audit-log.js');
  const { localCheckpointSigner, signCheckpointSync, checkpointBody, serializeCheckpoint } = await dist('audit/checkpoint.js');
  const { appendCheckpointHistory, checkpointPaths } = await dist('audit/checkpoint-files.js');
  const { applyChanges, stageChanges } = await dist('targets/local/journal.js');
  const { createPrivateKey } = await import('node:crypto');
  const signer = localCheckpointSigner(createPrivateKey(readFileSync(join(project, '.sovereign', 'keys', '_signing.key'))));
  const log = join(project, '.sovereign', 'audit', 'events.jsonl');
  const journal = join(project, '.sovereign', 'journal.json');
  const record = join(project, '.sovereign', 'tenants', 'acme.json');
  const recordBytes = readFileSync(record);
  const paths = checkpointPaths(log);
  const input = { actor: 'bench@host', command: 'tenant suspend', tenant: 'acme', action: 'tenant.suspend', args: { reason: 'bench' }, outcome: 'success' };
  const commit = (withCheckpoint) => {
    let entry;
    let checkpoint;
    const started = process.hrtime.bigint();
    appendEvent(log, input, {
      before(event) {
        const changes = [{ kind: 'write', path: record, data: recordBytes }];
        if (withCheckpoint) {
          checkpoint = signCheckpointSync(signer, checkpointBody(event, new Date().toISOString()));
          changes.push({ kind: 'write', path: paths.latest, data: `${serializeCheckpoint(checkpoint)}\n` });
        }
        entry = stageChanges(journal, event.seq, changes);
      },
      after() {
        applyChanges(journal, entry);
        if (withCheckpoint) appendCheckpointHistory(paths.history, checkpoint);
      },
    });
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  const bare = [];
  const before = [];
  const now = [];
  for (let round = 0; round < rounds; round += 1) {
    const started = process.hrtime.bigint();
    appendEvent(log, input);
    bare.push(Number(process.hrtime.bigint() - started) / 1e6);
    before.push(commit(false));
    now.push(commit(true));
  }
  return { bare: median(bare), before: median(before), now: median(now) };
}

/** `audit log` (default view, and `--limit 20` as the median of 5) with one build of the CLI. */
function auditLogCost(project, cliPath) {
  const options = { discardStdout: true, ...(cliPath ? { cli: cliPath } : {}) };
  const full = sovereign(['audit', 'log'], project, {}, options);
  const limited = [];
  for (let i = 0; i < 5; i += 1) limited.push(sovereign(['audit', 'log', '--limit', '20'], project, {}, options));
  const byTime = [...limited].sort((a, b) => a.ms - b.ms);
  return { full, limit: byTime[2] };
}

export async function runAuditBench() {
  const events = Number(process.env.AUDIT_BENCH_EVENTS ?? 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'sovereign-audit-bench-'));
  const project = join(dir, 'proj');
  try {
    sovereign(['init', project], dir);
    sovereign(['tenant', 'create', 'acme', '--no-deploy'], project);
    sovereign(['tenant', 'create', 'globex', '--no-deploy'], project);
    // A small project of 1,000 events, for the `audit log --limit` ratio.
    const small = join(dir, 'small');
    sovereign(['init', small], dir);
    sovereign(['tenant', 'create', 'acme', '--no-deploy'], small);
    await appendEvents(small, 'acme', 'globex', 999, 0);
    await anchorLog(small);

    const setup = Date.now();
    const log = await appendEvents(project, 'acme', 'globex', events, 11);
    await anchorLog(project);
    const setupMs = Date.now() - setup;

    const exported = sovereign(['audit', 'export', '--tenant', 'acme', '--out', 'acme.tar.gz', '--json'], project);
    const bundle = JSON.parse(exported.stdout).bundle;
    const verified = sovereign(['audit', 'verify', 'acme.tar.gz', '--key', '.sovereign/keys/_signing.pub', '--json'], project);
    const report = JSON.parse(verified.stdout);
    if (!report.ok) throw new Error(`verify failed: ${report.failure}`);
    const checkpointCheck = report.checks.find((c) => c.check === 'checkpoints');
    if (!checkpointCheck?.ok) throw new Error('the bundle carries no checkpoint check');
    const trail = sovereign(['audit', 'log', '--verify', '--json'], project);
    if (!JSON.parse(trail.stdout).ok) throw new Error('audit log --verify failed');

    const logBig = auditLogCost(project);
    const logSmall = auditLogCost(small);
    const baselineCli = process.env.AUDIT_BENCH_BASELINE ? join(resolve(process.env.AUDIT_BENCH_BASELINE), 'bin', 'sovereign.js') : undefined;
    const before = baselineCli ? { big: auditLogCost(project, baselineCli), small: auditLogCost(small, baselineCli) } : undefined;
    // The previous tree's verify of the same bundle (it trusts the key inside it and ignores the checkpoints).
    let verifiedBefore;
    try {
      verifiedBefore = baselineCli ? sovereign(['audit', 'verify', 'acme.tar.gz', '--key', '.sovereign/keys/_signing.pub', '--json'], project, {}, { cli: baselineCli }) : undefined;
    } catch (error) {
      process.stderr.write(`the previous tree's verify failed: ${error.message.split('\n')[0]}\n`);
    }

    const append = await appendCost(small);

    const pass = (ms, rss) => (ms <= TARGET_MS && rss <= TARGET_RSS ? 'yes' : 'NO');
    return [
      '## Audit bundle (`sovereign audit export` / `verify`) with signed checkpoints, and `audit log`',
      '',
      `A tenant with ${events.toLocaleString('en-US')} audit events, interleaved with ${log.others.toLocaleString('en-US')} events of another tenant (log: ${log.seq.toLocaleString('en-US')} events, ${mb(log.size)} MB; written in ${(setupMs / 1000).toFixed(1)} s of setup).`,
      'Each command is the real CLI in its own process; time is wall clock including Node start-up, peak RSS is the process\'s maxRSS.',
      '',
      '| step | wall time | CPU time (all threads) | peak RSS | target (≤ 10 s, ≤ 150 MB) | result |',
      '|---|---|---|---|---|---|',
      `| export | ${(exported.ms / 1000).toFixed(2)} s | ${(exported.cpuMs / 1000).toFixed(2)} s | ${mb(exported.rss)} MB | ${pass(exported.ms, exported.rss)} | ${bundle.events.toLocaleString('en-US')} events, ${bundle.files} files, bundle ${mb(bundle.size)} MB |`,
      `| verify --key | ${(verified.ms / 1000).toFixed(2)} s | ${(verified.cpuMs / 1000).toFixed(2)} s | ${mb(verified.rss)} MB | ${pass(verified.ms, verified.rss)} | ${report.checks.length} checks passed, ${checkpointCheck.detail} |`,
      ...(verifiedBefore ? [`| verify --key, previous tree, same bundle | ${(verifiedBefore.ms / 1000).toFixed(2)} s | ${(verifiedBefore.cpuMs / 1000).toFixed(2)} s | ${mb(verifiedBefore.rss)} MB | ${pass(verifiedBefore.ms, verifiedBefore.rss)} | this tree's verify: ${(verified.cpuMs / verifiedBefore.cpuMs).toFixed(2)}× its CPU time |`] : []),
      `| audit log --verify | ${(trail.ms / 1000).toFixed(2)} s | ${(trail.cpuMs / 1000).toFixed(2)} s | ${mb(trail.rss)} MB | — | chain and checkpoints (history of ${Math.floor(log.seq / 1000) + 1} lines) |`,
      '',
      `Append cost of a checkpointed mutation (in-process, medians of 200 alternating rounds on a 1,000-event log, every write fsynced): the commit's audit step as it was (one record staged in the journal, the event appended, the journal applied) ${append.before.toFixed(2)} ms; now (its signed checkpoint staged with it, the history line appended after) ${append.now.toFixed(2)} ms (${(append.now / append.before).toFixed(2)}×). A bare event append, for scale: ${append.bare.toFixed(2)} ms.`,
      '',
      '`audit log` (stdout to /dev/null; `--limit 20` is the median of 5 runs):',
      '',
      '| tree | view | 1,000 events | ' + `${log.seq.toLocaleString('en-US')} events | peak RSS (${log.seq.toLocaleString('en-US')}) | ratio to 1,000 |`,
      '|---|---|---|---|---|---|',
      ...(before
        ? [
            `| before | default | ${(before.small.full.ms / 1000).toFixed(2)} s | ${(before.big.full.ms / 1000).toFixed(2)} s | ${mb(before.big.full.rss)} MB | ${(before.big.full.ms / before.small.full.ms).toFixed(1)}× |`,
            `| before | --limit 20 | ${(before.small.limit.ms / 1000).toFixed(2)} s | ${(before.big.limit.ms / 1000).toFixed(2)} s | ${mb(before.big.limit.rss)} MB | ${(before.big.limit.ms / before.small.limit.ms).toFixed(1)}× |`,
          ]
        : []),
      `| this tree | default | ${(logSmall.full.ms / 1000).toFixed(2)} s | ${(logBig.full.ms / 1000).toFixed(2)} s | ${mb(logBig.full.rss)} MB | ${(logBig.full.ms / logSmall.full.ms).toFixed(1)}× |`,
      `| this tree | --limit 20 | ${(logSmall.limit.ms / 1000).toFixed(2)} s | ${(logBig.limit.ms / 1000).toFixed(2)} s | ${mb(logBig.limit.rss)} MB | ${(logBig.limit.ms / logSmall.limit.ms).toFixed(1)}× (target ≤ 10×) |`,
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
