/**
 * Crash-point harness: runs the real CLI with `crash-at.cjs` preloaded, counts the mutating
 * file-system calls a command makes inside `.sovereign/`, kills it at each of them in a fresh copy
 * of a prepared project, lets the next mutating command recover, and compares a normalised
 * snapshot of the project with the states before and after a clean run of the command.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { openVault, readVaultKey } from '../../src/runtime/secrets/vault.js';
import { verifyLog } from '../../src/state/audit-log.js';
import { cliPath, repoRoot, runCli } from './cli.js';

export const crashAtPath = join(repoRoot, 'test', 'helpers', 'crash-at.cjs');

/** The tenant the recovery command creates; it is left out of every snapshot. */
export const PROBE = 'probe-x';

export interface TracePoint {
  n: number;
  call: string;
  path: string;
}

export interface CrashRun {
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  trace: TracePoint[];
}

/** Runs the CLI in `dir` with the preload; `at` kills it at that counted call. */
export async function runTraced(dir: string, args: string[], options: { input?: string; at?: number; when?: 'before' | 'after' | 'torn' } = {}): Promise<CrashRun> {
  const traceDir = mkdtempSync(join(tmpdir(), 'sovereign-trace-'));
  const tracePath = join(traceDir, 'trace.jsonl');
  try {
    const result = await execa('node', [cliPath, ...args], {
      cwd: dir,
      reject: false,
      timeout: 60_000,
      env: {
        NO_COLOR: '1',
        SOVEREIGN_ACTOR: 'test@host',
        SOVEREIGN_LOCK_WAIT_MS: '5000',
        NODE_OPTIONS: `--require ${crashAtPath}`,
        SOVEREIGN_CRASH_ROOT: join(dir, '.sovereign'),
        SOVEREIGN_CRASH_TRACE: tracePath,
        ...(options.at !== undefined ? { SOVEREIGN_CRASH_AT: String(options.at), SOVEREIGN_CRASH_WHEN: options.when ?? 'before' } : {}),
      },
      ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
    });
    const trace = existsSync(tracePath)
      ? readFileSync(tracePath, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as TracePoint)
      : [];
    return { exitCode: result.exitCode, signal: result.signal, stdout: String(result.stdout), stderr: String(result.stderr), trace };
  } finally {
    rmSync(traceDir, { recursive: true, force: true });
  }
}

/** A fresh copy of a prepared project (cheaper than preparing it again). */
export function copyProject(prepared: string, into: string): string {
  const dir = join(into, 'proj');
  cpSync(prepared, dir, { recursive: true });
  return dir;
}

/** The next mutating command, which recovers an interrupted one; its own effects are left out of snapshots. */
export async function recover(dir: string): Promise<{ ok: boolean; detail: string }> {
  const result = await runCli(['tenant', 'create', PROBE, '--no-deploy'], { cwd: dir });
  return { ok: result.exitCode === 0, detail: result.exitCode === 0 ? '' : `recovery (tenant create ${PROBE}) exited ${result.exitCode}: ${result.stderr.trim().split('\n')[0] ?? ''}` };
}

/** Keys that hold a time: they differ between any two runs. */
const TIME_KEY = /(At|^at|^time)$/;
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g;
/** API key ids (`key_<16 hex>`), random like version ids. */
const API_KEY_ID = /\bkey_[0-9a-f]{16}\b/g;

/**
 * Keeps the version ids the prepared project already holds (the same in every copy) and replaces
 * new, random ones by their order of first appearance, so two runs compare.
 */
class IdMapper {
  private readonly ids = new Map<string, string>();
  readonly seen = new Set<string>();
  constructor(private readonly known: ReadonlySet<string>) {}
  map(id: string): string {
    this.seen.add(id);
    if (this.known.has(id)) return id;
    let token = this.ids.get(id);
    if (!token) {
      token = `new${this.ids.size}`;
      this.ids.set(id, token);
    }
    return token;
  }
  text(value: string): string {
    return value.replace(UUID, (id) => this.map(id)).replace(API_KEY_ID, (id) => this.map(id));
  }
}

function normalise(value: unknown, ids: IdMapper): unknown {
  if (Array.isArray(value)) return value.map((v) => normalise(v, ids));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([key]) => !TIME_KEY.test(key))
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, v]) => [key, normalise(v, ids)]),
    );
  }
  return typeof value === 'string' ? ids.text(value) : value;
}

const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex').slice(0, 12);

function filesBelow(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(relative(root, path));
    }
  };
  walk(root);
  return out.sort();
}

const isProbe = (path: string) => path.split('/').some((part) => part === PROBE || part.startsWith(`${PROBE}.`));

/** Files a finished command must not leave: temporaries, a journal, locks. */
export function leftovers(dir: string): string[] {
  return filesBelow(join(dir, '.sovereign')).filter((path) => {
    const name = path.split('/').pop() ?? '';
    return name.startsWith('.tmp-') || path === 'journal.json' || path === 'lock' || name.endsWith('.lock') || /\.stale-\d+$/.test(name);
  });
}

export interface Snapshot {
  registry: unknown;
  keys: unknown;
  vaults: unknown;
  generations: unknown;
  apiKeys: unknown;
  events: unknown;
  files: unknown;
}

/**
 * The project's state, normalised: tenant records without times, keys (presence, size, mode),
 * every vault decrypted (header generation, per target its versions with labels, author and a
 * hash of the value; the random webhook secret by length only), generation markers and API key records without
 * times, audit events (action, tenant, outcome, args) and the list of files below `.sovereign/`
 * except the config cache. Version ids in `known` (those of the prepared project) are kept, new
 * ones numbered. The recovery's tenant and event are left out, and with `dropRepairs`
 * the `audit.repair` events that record a torn line being cut off.
 */
export async function snapshot(dir: string, options: { dropRepairs?: boolean; known?: ReadonlySet<string> } = {}): Promise<{ snapshot: Snapshot; chain: { ok: boolean; detail: string }; repairs: number; ids: Set<string> }> {
  const state = join(dir, '.sovereign');
  const ids = new IdMapper(options.known ?? new Set());
  const hashes = new IdMapper(options.known ?? new Set());
  const log = join(state, 'audit', 'events.jsonl');
  // A last line without its newline is torn (an append cut short): not an event.
  const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
  const whole = text.slice(0, text.lastIndexOf('\n') + 1);
  const parsed = whole.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { tenant: string | null; action: string; outcome: string; command: string; args: unknown });
  const repairs = parsed.filter((event) => event.action === 'audit.repair').length;
  const tenantsDir = join(state, 'tenants');
  const tenantIds = existsSync(tenantsDir)
    ? readdirSync(tenantsDir).filter((n) => n.endsWith('.json') && !n.startsWith('.')).map((n) => n.slice(0, -5)).filter((id) => id !== PROBE).sort()
    : [];
  const registry = Object.fromEntries(tenantIds.map((id) => [id, normalise(JSON.parse(readFileSync(join(tenantsDir, `${id}.json`), 'utf8')), ids)]));

  const keys: Record<string, string> = {};
  const vaults: Record<string, unknown> = {};
  const keyDir = join(state, 'keys');
  const vaultDir = join(state, 'vault');
  const keyed = existsSync(keyDir) ? readdirSync(keyDir).filter((n) => n.endsWith('.key') && !n.startsWith('.')).map((n) => n.slice(0, -4)) : [];
  const vaulted = existsSync(vaultDir) ? readdirSync(vaultDir).filter((n) => n.endsWith('.vault') && !n.startsWith('.')).map((n) => n.slice(0, -6)) : [];
  for (const id of [...new Set([...keyed, ...vaulted])].filter((t) => t !== PROBE).sort()) {
    const keyPath = join(keyDir, `${id}.key`);
    const vaultPath = join(vaultDir, `${id}.vault`);
    if (existsSync(keyPath)) {
      const stat = statSync(keyPath);
      keys[id] = `${stat.size} bytes, mode ${(stat.mode & 0o777).toString(8)}`;
    }
    if (!existsSync(vaultPath)) continue;
    try {
      const header = JSON.parse(readFileSync(vaultPath, 'utf8').split('\n')[0] ?? '') as { generation: number };
      const vault = openVault(vaultPath, readVaultKey(keyPath), id);
      const secrets: Record<string, unknown> = {};
      for (const target of vault.listNames()) {
        secrets[target] = vault.history(target).map((version) => {
          const value = vault.getVersion(target, { versionId: version.versionId }).value;
          return {
            id: ids.map(version.versionId),
            labels: [...version.labels].sort(),
            by: version.createdBy,
            value: target.endsWith('/_sovereign/webhook_secret') ? `<random, ${value.length} chars>` : sha(value),
          };
        });
      }
      vaults[id] = { generation: header.generation, secrets };
    } catch (error) {
      vaults[id] = `unreadable: ${(error as Error).message}`;
    }
  }

  const generations: Record<string, unknown> = {};
  const apiKeys: Record<string, unknown> = {};
  const dataDir = join(state, 'data');
  if (existsSync(dataDir)) {
    for (const id of readdirSync(dataDir).filter((t) => t !== PROBE).sort()) {
      const path = join(dataDir, id, 'generation.json');
      if (existsSync(path)) generations[id] = normalise(JSON.parse(readFileSync(path, 'utf8')), ids);
      // Key records: a random id and hash per key (numbered like version ids; hashes apart, so a key
      // id gets the same number whether the events or the keys file show it first), name and scopes as they are.
      const keysPath = join(dataDir, id, 'api-keys.json');
      if (existsSync(keysPath)) {
        const file = JSON.parse(readFileSync(keysPath, 'utf8')) as { keys: Array<{ hash: string }> };
        apiKeys[id] = normalise({ ...file, keys: file.keys.map((k) => ({ ...k, hash: hashes.map(k.hash) })) }, ids);
      }
    }
  }

  const events = parsed
    .filter((event) => event.tenant !== PROBE && !(options.dropRepairs && event.action === 'audit.repair'))
    .map((event) => ({ action: event.action, tenant: event.tenant, outcome: event.outcome, command: event.command, args: normalise(event.args, ids) }));

  const verified = existsSync(log) ? await verifyLog(log) : { ok: true, events: 0 } as { ok: boolean; problem?: { message: string }; tornTail?: { bytes: number } };
  const chain = {
    ok: verified.ok,
    detail: verified.ok ? '' : `audit chain does not verify: ${verified.problem?.message ?? `torn tail of ${verified.tornTail?.bytes ?? '?'} bytes`}`,
  };
  const files = filesBelow(state).filter((path) => !path.startsWith('cache/') && !isProbe(path));
  return { snapshot: { registry, keys, vaults, generations, apiKeys, events, files }, chain, repairs, ids: new Set([...ids.seen, ...hashes.seen]) };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Why `got` is neither `before` nor `after`, or undefined when it is exactly one of them.
 * Names, per part of the snapshot, which state it matches.
 */
export function mismatch(got: Snapshot, before: Snapshot, after: Snapshot): string | undefined {
  if (same(got, before) || same(got, after)) return undefined;
  const parts = (Object.keys(got) as Array<keyof Snapshot>).map((part) => {
    const b = same(got[part], before[part]);
    const a = same(got[part], after[part]);
    return { part, as: b && a ? 'both' : b ? 'before' : a ? 'after' : 'neither' };
  });
  const asBefore = parts.filter((p) => p.as === 'before').map((p) => p.part);
  const asAfter = parts.filter((p) => p.as === 'after').map((p) => p.part);
  const neither = parts.filter((p) => p.as === 'neither').map((p) => p.part);
  return [
    asAfter.length > 0 ? `${asAfter.join('+')} as after` : '',
    asBefore.length > 0 ? `${asBefore.join('+')} as before` : '',
    neither.length > 0 ? `${neither.join('+')} as neither` : '',
  ].filter(Boolean).join(', ');
}

/** Runs `tasks` with at most `limit` at a time. */
export async function pool<T>(limit: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next;
      next += 1;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/**
 * What a reader sees before recovery: a change to the registry, keys, vaults, generation
 * markers or API key records must not be visible while the audit log lacks its event (a pending journal may still
 * hold changes back; that is the other, allowed, direction). Undefined when it holds.
 */
export function unrecordedChange(got: Snapshot, before: Snapshot, after: Snapshot): string | undefined {
  if (same(got.events, after.events)) return undefined;
  const changed = (['registry', 'keys', 'vaults', 'generations', 'apiKeys'] as const).filter((part) => !same(got[part], before[part]));
  if (changed.length === 0) return undefined;
  return `${changed.join('+')} changed while the audit log ${same(got.events, before.events) ? 'lacks the command\'s event' : 'matches neither state'}`;
}
