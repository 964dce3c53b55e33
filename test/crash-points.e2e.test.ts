/**
 * Every crash point of every mutating command: the CLI is SIGKILLed just before and just after
 * each mutating file-system call it makes inside `.sovereign/` (write, rename, fsync, unlink, …;
 * see helpers/crash-at.cjs), in a fresh copy of a project prepared for the command. The next
 * mutating command recovers; the project must then be exactly as before the command or exactly
 * as after a clean run of it (registry, keys, vaults, generation markers, audit events, files),
 * its audit chain must verify, and no temporary file, journal or lock may be left behind.
 *
 * A kill just after call n leaves `.sovereign/` byte for byte as a kill just before call n + 1
 * does (every call that changes it is numbered, and SIGKILL loses no written data, fsynced or
 * not), so by default each command is killed before every call and after the last one only.
 * `CRASH_POINTS_WHEN=both` kills after every call too (twice the runs, the same states).
 * `CRASH_POINTS_ONLY=secrets-put,tenant-create` runs a subset.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, repoRoot, runCli } from './helpers/cli.js';
import { copyProject, leftovers, mismatch, pool, PROBE, recover, runTraced, snapshot, unrecordedChange, type Snapshot, type TracePoint } from './helpers/crash-points.js';

/** Two CLI children at a time: the machines that run this have two cores. */
const CONCURRENCY = 2;

interface Case {
  id: string;
  /** The prepared project the command runs in. */
  from: string;
  args: string[];
  input?: string;
  /** Also kill the recovery of an interrupted run at each of its calls. */
  nested?: boolean;
}

const LICENSE_KEY = 'ssm:/dev/tenants/acme/avalara/license_key';
const ACCOUNT_ID = 'ssm:/dev/tenants/acme/avalara/account_id';

const CASES: Case[] = [
  { id: 'tenant-create', from: 'tenant', args: ['tenant', 'create', 'initech', '--no-deploy'], nested: true },
  { id: 'ext-enable', from: 'tenant', args: ['ext', 'enable', 'avalara', '--tenant', 'acme'] },
  { id: 'secrets-put-new', from: 'enabled', args: ['secrets', 'put', ACCOUNT_ID, '--tenant', 'acme', '--from-stdin'], input: 'acct-7' },
  { id: 'secrets-put', from: 'stored', args: ['secrets', 'put', LICENSE_KEY, '--tenant', 'acme', '--from-stdin'], input: 'license-1b' },
  { id: 'secrets-set', from: 'stored', args: ['secrets', 'set', 'acme', 'avalara.license_key', LICENSE_KEY] },
  { id: 'secrets-rotate', from: 'mapped', args: ['secrets', 'rotate', 'acme', 'avalara.license_key', '--from-stdin'], input: 'license-2', nested: true },
  { id: 'secrets-rollback', from: 'rotated', args: ['secrets', 'rollback', 'acme', 'avalara.license_key'] },
  { id: 'tenant-suspend', from: 'active', args: ['tenant', 'suspend', 'acme', '--reason', 'crash test'] },
  { id: 'tenant-resume', from: 'suspended', args: ['tenant', 'resume', 'acme'] },
  { id: 'tenant-destroy', from: 'active', args: ['tenant', 'destroy', 'acme', '--yes'], nested: true },
  { id: 'tenant-keys-create', from: 'enabled', args: ['tenant', 'keys', 'create', 'acme', '--name', 'erp', '--scopes', 'invoices:read'] },
  { id: 'tenant-keys-revoke', from: 'keyed', args: ['tenant', 'keys', 'revoke', 'acme', 'erp'] },
];

const only = process.env.CRASH_POINTS_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
const selected = only ? CASES.filter((c) => only.includes(c.id)) : CASES;
const bothSides = process.env.CRASH_POINTS_WHEN === 'both';

let root: string;
const prepared = new Map<string, string>();
const started = Date.now();
const summary: string[] = [];
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

async function ok(dir: string, args: string[], input?: string): Promise<void> {
  const result = await runCli(args, { cwd: dir, ...(input === undefined ? {} : { input }) });
  if (result.exitCode !== 0) throw new Error(`${args.join(' ')} exited ${result.exitCode}: ${result.stderr}`);
}

/** Keeps a copy of the project as it is now under `name`. */
function keep(dir: string, name: string): void {
  const copy = join(root, 'prepared', name);
  cpSync(dir, copy, { recursive: true });
  prepared.set(name, copy);
}

/**
 * One chain of commands prepares every project: a tenant, an extension enabled, an API key
 * created (and revoked again), a value stored, mapped, rotated, the tenant active, then suspended.
 */
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sovereign-crash-points-'));
  const dir = await makeProject();
  const configFile = join(dir, 'sovereign.config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(configFile, JSON.stringify({ ...config, extensionsDir: join(repoRoot, 'extensions') }, null, 2));
  await ok(dir, ['tenant', 'create', 'acme', '--no-deploy']);
  keep(dir, 'tenant');
  await ok(dir, ['ext', 'enable', 'avalara', '--tenant', 'acme']);
  keep(dir, 'enabled');
  await ok(dir, ['tenant', 'keys', 'create', 'acme', '--name', 'erp', '--scopes', 'invoices:read']);
  keep(dir, 'keyed');
  await ok(dir, ['tenant', 'keys', 'revoke', 'acme', 'erp']);
  await ok(dir, ['secrets', 'put', LICENSE_KEY, '--tenant', 'acme', '--from-stdin'], 'license-1');
  keep(dir, 'stored');
  await ok(dir, ['secrets', 'set', 'acme', 'avalara.license_key', LICENSE_KEY]);
  keep(dir, 'mapped');
  await ok(dir, ['secrets', 'rotate', 'acme', 'avalara.license_key', '--from-stdin'], 'license-2');
  keep(dir, 'rotated');
  await ok(dir, ['tenant', 'resume', 'acme']);
  keep(dir, 'active');
  await ok(dir, ['tenant', 'suspend', 'acme', '--reason', 'prepared']);
  keep(dir, 'suspended');
  rmSync(join(dir, '..'), { recursive: true, force: true });
}, 120_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  console.log(`crash points: ${summary.join('; ')} — wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

interface PointResult {
  n: number;
  when: 'before' | 'after' | 'torn';
  call: string;
  path: string;
  problems: string[];
}

/** The state after recovery and the checks that do not need a reference. */
async function settle(dir: string, known: ReadonlySet<string>, options: { torn?: boolean } = {}): Promise<{ snap: Snapshot; problems: string[] }> {
  const problems: string[] = [];
  const recovery = await recover(dir);
  if (!recovery.ok) problems.push(recovery.detail);
  const { snapshot: snap, chain, repairs } = await snapshot(dir, { dropRepairs: options.torn === true, known });
  if (!chain.ok) problems.push(chain.detail);
  if (options.torn && repairs !== 1) problems.push(`the torn audit line was not cut off and recorded by one audit.repair event (${repairs})`);
  const left = leftovers(dir);
  if (left.length > 0) problems.push(`left behind: ${left.map((p) => p.replace(/-\d+-[0-9a-f]{8}$/, '-…')).join(', ')}`);
  return { snap, problems };
}

/** `before 5–12, 14; after 4–11` */
function ranges(points: PointResult[]): string {
  const out: string[] = [];
  for (const when of ['before', 'after', 'torn'] as const) {
    const ns = points.filter((p) => p.when === when).map((p) => p.n).sort((a, b) => a - b);
    if (ns.length === 0) continue;
    const parts: string[] = [];
    let start = ns[0]!;
    let prev = start;
    for (const n of [...ns.slice(1), Number.NaN]) {
      if (n === prev + 1) {
        prev = n;
        continue;
      }
      parts.push(start === prev ? `${start}` : `${start}–${prev}`);
      start = n;
      prev = n;
    }
    out.push(`${when} ${parts.join(', ')}`);
  }
  return out.join('; ');
}

describe('a crash at any file-system call leaves the project as before or as after the command', () => {
  for (const testCase of selected) {
    it(`${testCase.args.slice(0, 2).join(' ')} (${testCase.id})`, { timeout: 900_000 }, async () => {
      const caseStarted = Date.now();
      const from = prepared.get(testCase.from)!;
      const input = testCase.input === undefined ? {} : { input: testCase.input };
      // The version ids the prepared project holds: the same in every copy, kept as they are.
      const known = (await snapshot(from)).ids;

      // The references: the project untouched, and after one clean run (which also counts the points).
      const beforeDir = copyProject(from, mkdtempSync(join(root, 'ref-')));
      const before = await settle(beforeDir, known);
      const afterDir = copyProject(from, mkdtempSync(join(root, 'ref-')));
      const clean = await runTraced(afterDir, testCase.args, input);
      expect(clean.exitCode, `clean run of ${testCase.args.join(' ')}: ${clean.stderr}`).toBe(0);
      const after = await settle(afterDir, known);
      expect(before.problems, 'the untouched project').toEqual([]);
      expect(after.problems, 'the project after a clean run').toEqual([]);
      expect(mismatch(after.snap, before.snap, before.snap), 'the command changes nothing').toBeDefined();
      for (const dir of [beforeDir, afterDir]) {
        const verify = await runCli(['audit', 'log', '--verify', '--json'], { cwd: dir });
        expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
        expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
      }

      // The config cache (`.sovereign/cache/config.json`) is a validation result keyed by the
      // config file's SHA-256: a missing or torn one is rebuilt, so a crash at its writes cannot
      // change state. The prepared projects have it already, so there are usually none.
      const points: TracePoint[] = clean.trace.filter((p) => !relative(join(afterDir, '.sovereign'), p.path).startsWith('cache'));
      const stateRoot = join(afterDir, '.sovereign');
      const show = (path: string) => path.split(' -> ').map((p) => relative(stateRoot, p)).join(' -> ');

      const last = points.at(-1)?.n;
      const tasks: Array<() => Promise<PointResult>> = points.flatMap((point) =>
        (bothSides || point.n === last ? (['before', 'after'] as const) : (['before'] as const)).map((when) => async (): Promise<PointResult> => {
          const dir = copyProject(from, mkdtempSync(join(root, 'run-')));
          try {
            const problems: string[] = [];
            const run = await runTraced(dir, testCase.args, { ...input, at: point.n, when });
            if (run.signal !== 'SIGKILL') problems.push(`not killed at ${when} #${point.n} (exit ${String(run.exitCode)}): the command made fewer calls than in its clean run`);
            const seen = unrecordedChange((await snapshot(dir, { known })).snapshot, before.snap, after.snap);
            if (seen) problems.push(`before recovery ${seen}`);
            const got = await settle(dir, known);
            problems.push(...got.problems);
            const why = mismatch(got.snap, before.snap, after.snap);
            if (why) problems.push(`state is neither before nor after: ${why}`);
            return { n: point.n, when, call: point.call, path: show(point.path), problems };
          } finally {
            rmSync(join(dir, '..'), { recursive: true, force: true });
          }
        }),
      );
      // The event's append cut short: a torn last line, which the next command cuts off and
      // records (`audit.repair`); the command itself must then count as never run.
      const eventAppend = points.find((p) => p.call === 'writeSync' && p.path.endsWith(join('audit', 'events.jsonl')));
      if (eventAppend) {
        tasks.push(async (): Promise<PointResult> => {
          const dir = copyProject(from, mkdtempSync(join(root, 'run-')));
          try {
            const problems: string[] = [];
            const run = await runTraced(dir, testCase.args, { ...input, at: eventAppend.n, when: 'torn' });
            if (run.signal !== 'SIGKILL') problems.push(`not killed at torn #${eventAppend.n} (exit ${String(run.exitCode)})`);
            const verify = await runCli(['audit', 'log', '--verify', '--json'], { cwd: dir });
            const report = JSON.parse(verify.stdout || '{}') as { ok?: boolean; tornTail?: { bytes: number } };
            if (verify.exitCode !== 1 || report.ok !== false || !report.tornTail || !/torn last line of \d+ bytes/.test(verify.stderr)) {
              problems.push(`audit log --verify does not report the torn last line (exit ${verify.exitCode}: ${verify.stdout.slice(0, 120)})`);
            }
            const seen = unrecordedChange((await snapshot(dir, { known })).snapshot, before.snap, after.snap);
            if (seen) problems.push(`before recovery ${seen}`);
            const got = await settle(dir, known, { torn: true });
            problems.push(...got.problems);
            if (!same(got.snap, before.snap)) problems.push(`a torn event should leave the state as before: ${mismatch(got.snap, before.snap, before.snap) ?? ''}`);
            return { n: eventAppend.n, when: 'torn', call: eventAppend.call, path: show(eventAppend.path), problems };
          } finally {
            rmSync(join(dir, '..'), { recursive: true, force: true });
          }
        });
      }
      const results = await pool(CONCURRENCY, tasks);
      const bad = results.filter((r) => r.problems.length > 0);
      const commandBad = bad.length;

      // A crash while recovering: the command is killed with its journal written and its event
      // not yet appended (recovery undoes it) or just appended (recovery completes it); the
      // recovering command is then killed at each of its calls up to the journal's removal, and
      // the one after it must still leave the project as before or as after.
      const nestedLines: string[] = [];
      if (testCase.nested) {
        const eventWrite = points.find((p) => p.call === 'writeSync' && p.path.endsWith(join('audit', 'events.jsonl')));
        expect(eventWrite, 'the command appends its event').toBeDefined();
        const probeArgs = ['tenant', 'create', PROBE, '--no-deploy'];
        // The journal names absolute paths, so every run crashes its own fresh copy first.
        const crashInCopy = async (when: 'before' | 'after'): Promise<string> => {
          const dir = copyProject(from, mkdtempSync(join(root, 'run-')));
          const crashed = await runTraced(dir, testCase.args, { ...input, at: eventWrite!.n, when });
          expect(crashed.signal, `killed ${when} #${eventWrite!.n}`).toBe('SIGKILL');
          return dir;
        };
        for (const when of ['before', 'after'] as const) {
          const referenceDir = await crashInCopy(when);
          const recovering = await runTraced(referenceDir, probeArgs);
          expect(recovering.exitCode, recovering.stderr).toBe(0);
          rmSync(join(referenceDir, '..'), { recursive: true, force: true });
          const journalGone = recovering.trace.findIndex((p) => p.call === 'unlinkSync' && p.path.endsWith('journal.json'));
          expect(journalGone, 'the recovery removes the journal').toBeGreaterThan(0);
          const recoveryPoints = recovering.trace.slice(0, journalGone + 1);
          const showRecovery = (path: string) => path.split(' -> ').map((p) => relative(join(referenceDir, '.sovereign'), p)).join(' -> ');
          const nested = await pool(CONCURRENCY, recoveryPoints.map((point) => async (): Promise<PointResult> => {
            const dir = await crashInCopy(when);
            try {
              const problems: string[] = [];
              const run = await runTraced(dir, probeArgs, { at: point.n });
              if (run.signal !== 'SIGKILL') problems.push(`recovery not killed at #${point.n} (exit ${String(run.exitCode)})`);
              const got = await settle(dir, known);
              problems.push(...got.problems);
              const why = mismatch(got.snap, before.snap, after.snap);
              if (why) problems.push(`state is neither before nor after: ${why}`);
              return { n: point.n, when: 'before', call: point.call, path: showRecovery(point.path), problems };
            } finally {
              rmSync(join(dir, '..'), { recursive: true, force: true });
            }
          }));
          const nestedBad = nested.filter((r) => r.problems.length > 0);
          const state = when === 'before' ? 'its journal written, its event not appended' : 'its event appended, its renames not done';
          nestedLines.push(`  recovery killed at each of its ${recoveryPoints.length} calls after a crash with ${state}: ${nestedBad.length} inconsistent`);
          for (const r of nestedBad) nestedLines.push(`    recovery #${r.n} ${r.call} ${r.path}: ${r.problems.join('; ')}`);
          bad.push(...nestedBad.map((r) => ({ ...r, call: `recovery (after a kill ${when} #${eventWrite!.n}) ${r.call}` })));
        }
      }

      const byReason = new Map<string, PointResult[]>();
      for (const r of results.filter((x) => x.problems.length > 0)) {
        const reason = r.problems.join('; ');
        byReason.set(reason, [...(byReason.get(reason) ?? []), r]);
      }
      const seconds = ((Date.now() - caseStarted) / 1000).toFixed(1);
      const lines = [
        `${testCase.args.join(' ')}: ${points.length} crash points (${results.length} runs: killed before each${bothSides ? ' and after each' : ', and after the last'}, and one with its event torn), ${commandBad} inconsistent, ${seconds} s`,
        ...[...byReason].map(([reason, rs]) => `  ${ranges(rs)} [${rs[0]!.call} ${rs[0]!.path}${rs.length > 1 ? ' …' : ''}]: ${reason}`),
        ...nestedLines,
      ];
      summary.push(`${testCase.id} ${points.length} points, ${commandBad} inconsistent${testCase.nested ? ` (+${bad.length - commandBad} while recovering)` : ''}`);
      console.log(lines.join('\n'));
      if (bad.length > 0) console.log(`  points of ${testCase.id}:\n${points.map((p) => `    #${p.n} ${p.call} ${show(p.path)}`).join('\n')}`);
      expect(bad.map((r) => `${r.when} #${r.n} ${r.call} ${r.path}: ${r.problems.join('; ')}`), lines[0]).toEqual([]);
    });
  }
});
