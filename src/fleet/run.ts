/**
 * Runs a fleet plan: the plan's groups (cells) side by side, each with its own pool of
 * `concurrency` workers, since CloudFormation's rate and stack limits are per account and region;
 * within a group, waves in order; per-tenant retry with exponential backoff and jitter on
 * throttling. A wave starts only when every tenant of its group's previous waves succeeded, so a
 * canary wave that fails stops the rollout of its own cell and no other: a cell is a blast radius
 * of its own, and another cell's canary says nothing about this one's account. `maxFailures` is
 * counted over the whole run, not per cell: a broken release fails in every cell, and the budget
 * bounds how many tenants it reaches in total. An ungrouped plan is one group, so it runs exactly
 * as a single pool. `deployOne` is injected: the local and aws targets share this.
 */
import { setMaxListeners } from 'node:events';
import type { FleetGroup, FleetPlan } from './plan.js';

export type TenantOutcome = 'ok' | 'failed' | 'skipped';

export interface TenantRun<R = unknown> {
  tenant: string;
  /** The tenant's group (cell), `home` in an ungrouped plan. */
  group: string;
  wave: number;
  outcome: TenantOutcome;
  attempts: number;
  /** Wall time from first start to the end of the last attempt (0 when skipped). */
  durationMs: number;
  /** What `deployOne` returned, when it succeeded. */
  result?: R;
  /** First line of the last error, when it failed. */
  error?: string;
  /** Why a tenant was not started. */
  reason?: 'max-failures' | 'earlier-wave-failed' | 'aborted';
}

export type SkipReason = NonNullable<TenantRun['reason']>;

export interface WaveSummary {
  index: number;
  ok: number;
  failed: number;
  skipped: number;
  durationMs: number;
}

export interface GroupSummary {
  name: string;
  ok: number;
  failed: number;
  skipped: number;
  total: number;
  /** From the group's first start to its last tenant's end. */
  durationMs: number;
  /** Why the group stopped starting tenants, or null when it ran to the end. */
  stopped: SkipReason | null;
  waves: WaveSummary[];
}

export interface FleetReport<R = unknown> {
  ok: number;
  failed: number;
  skipped: number;
  total: number;
  durationMs: number;
  /** Tenants deployed at once in each group. */
  concurrency: number;
  /** Every group's waves by number: counts summed, the longest duration. */
  waves: WaveSummary[];
  groups: GroupSummary[];
  tenants: Array<TenantRun<R>>;
}

export type FleetEvent =
  | { type: 'wave-start'; group: string; wave: number; tenants: number }
  | { type: 'wave-end'; group: string; wave: number; ok: number; failed: number; skipped: number; durationMs: number }
  | { type: 'group-end'; group: string; ok: number; failed: number; skipped: number; durationMs: number; stopped: SkipReason | null }
  | { type: 'start'; group: string; tenant: string; wave: number; attempt: number }
  | { type: 'retry'; group: string; tenant: string; wave: number; attempt: number; delayMs: number; error: string }
  | { type: 'ok'; group: string; tenant: string; wave: number; attempts: number; durationMs: number }
  | { type: 'failed'; group: string; tenant: string; wave: number; attempts: number; durationMs: number; error: string }
  | { type: 'skipped'; group: string; tenant: string; wave: number; reason: SkipReason };

export interface RetryPolicy {
  /** Total attempts per tenant, the first included (default 4). */
  attempts: number;
  /** First backoff ceiling (default 1,000 ms); doubles each retry. */
  baseDelayMs: number;
  /** Backoff ceiling (default 20,000 ms). */
  maxDelayMs: number;
  /** Which errors are worth another attempt (default: throttling). */
  retryable: (error: unknown) => boolean;
}

export interface RunFleetOptions<R> {
  plan: FleetPlan;
  deployOne: (tenant: string, context: { attempt: number; wave: number; signal: AbortSignal }) => Promise<R>;
  /** Tenants deployed at once in each group (default 10). */
  concurrency?: number;
  /** Stop starting tenants, in every group, once more than this many failed in all (default: never stop). */
  maxFailures?: number;
  retry?: Partial<RetryPolicy>;
  onEvent?: (event: FleetEvent) => void;
  /** Stops starting new tenants; those running finish. */
  signal?: AbortSignal;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  now?: () => number;
  random?: () => number;
}

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'SlowDown',
]);

/** Default retry rule: AWS throttling errors (by name, code or the SDK's `$retryable.throttling`). */
export function isThrottlingError(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const e = error as { name?: string; code?: string; Code?: string; $retryable?: { throttling?: boolean }; retryable?: boolean };
  if (e.$retryable?.throttling === true || e.retryable === true) return true;
  return [e.name, e.code, e.Code].some((value) => value !== undefined && THROTTLING.has(value)) ||
    (typeof (error as Error).message === 'string' && /\bRate exceeded\b/i.test((error as Error).message));
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/** Waits `ms`, or less when the signal aborts first. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Backoff before retry number `retry` (1-based): "equal jitter" under an exponential ceiling. */
export function backoffDelay(retry: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export async function runFleet<R>(options: RunFleetOptions<R>): Promise<FleetReport<R>> {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 10));
  const maxFailures = options.maxFailures ?? Infinity;
  const retry: RetryPolicy = {
    attempts: 4,
    baseDelayMs: 1_000,
    maxDelayMs: 20_000,
    retryable: isThrottlingError,
    ...options.retry,
  };
  const now = options.now ?? (() => performance.now());
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? abortableSleep;
  const emit = options.onEvent ?? (() => {});
  // One signal of the runner's own: every sleeping retry and running deploy listens on it (up to
  // concurrency × cells at once, past Node's default warning at 10), and the caller's signal
  // gets one listener whatever the fleet's size.
  const controller = new AbortController();
  const signal = controller.signal;
  setMaxListeners(0, signal);
  const stop = () => controller.abort();
  if (options.signal?.aborted) stop();
  else options.signal?.addEventListener('abort', stop, { once: true });

  const started = now();
  let failures = 0;
  let overBudget = false;

  const deployTenant = async (tenant: string, group: string, wave: number): Promise<TenantRun<R>> => {
    const begin = now();
    let attempt = 0;
    for (;;) {
      attempt += 1;
      emit({ type: 'start', group, tenant, wave, attempt });
      try {
        const result = await options.deployOne(tenant, { attempt, wave, signal });
        const durationMs = Math.round(now() - begin);
        emit({ type: 'ok', group, tenant, wave, attempts: attempt, durationMs });
        return { tenant, group, wave, outcome: 'ok', attempts: attempt, durationMs, result };
      } catch (error) {
        const message = firstLine(error);
        if (attempt < retry.attempts && retry.retryable(error) && !signal.aborted) {
          const delayMs = backoffDelay(attempt, retry, random);
          emit({ type: 'retry', group, tenant, wave, attempt, delayMs, error: message });
          await sleep(delayMs, signal);
          continue;
        }
        const durationMs = Math.round(now() - begin);
        emit({ type: 'failed', group, tenant, wave, attempts: attempt, durationMs, error: message });
        return { tenant, group, wave, outcome: 'failed', attempts: attempt, durationMs, error: message };
      }
    }
  };

  const skip = (tenant: string, group: string, wave: number, reason: SkipReason): TenantRun<R> => {
    emit({ type: 'skipped', group, tenant, wave, reason });
    return { tenant, group, wave, outcome: 'skipped', attempts: 0, durationMs: 0, reason };
  };

  const runGroup = async (group: FleetGroup): Promise<{ summary: GroupSummary; runs: Array<TenantRun<R>> }> => {
    const groupStart = now();
    const runs: Array<TenantRun<R>> = [];
    const waves: WaveSummary[] = [];
    let stopReason: SkipReason | undefined;
    // Why this group starts no more tenants: its own failed wave first, then the run's budget or abort.
    const stopped = () => {
      if (stopReason === undefined && overBudget) stopReason = 'max-failures';
      if (stopReason === undefined && signal.aborted) stopReason = 'aborted';
      return stopReason;
    };
    for (const wave of group.waves) {
      const waveStart = now();
      if (stopped() === undefined) emit({ type: 'wave-start', group: group.name, wave: wave.index, tenants: wave.tenants.length });
      const results = await mapBounded(wave.tenants, concurrency, async (tenant) => {
        const reason = stopped();
        if (reason !== undefined) return skip(tenant, group.name, wave.index, reason);
        const run = await deployTenant(tenant, group.name, wave.index);
        if (run.outcome === 'failed') {
          failures += 1;
          if (failures > maxFailures) overBudget = true;
        }
        return run;
      });
      runs.push(...results);
      const summary = { index: wave.index, ok: countOf(results, 'ok'), failed: countOf(results, 'failed'), skipped: countOf(results, 'skipped'), durationMs: Math.round(now() - waveStart) };
      waves.push(summary);
      if (summary.ok + summary.failed > 0) emit({ type: 'wave-end', group: group.name, wave: wave.index, ok: summary.ok, failed: summary.failed, skipped: summary.skipped, durationMs: summary.durationMs });
      if (summary.failed > 0 && stopped() === undefined) stopReason = 'earlier-wave-failed';
    }
    const summary: GroupSummary = {
      name: group.name,
      ok: countOf(runs, 'ok'),
      failed: countOf(runs, 'failed'),
      skipped: countOf(runs, 'skipped'),
      total: runs.length,
      durationMs: Math.round(now() - groupStart),
      // A group whose last wave failed skipped nothing: it did not stop, it ended.
      stopped: runs.some((r) => r.outcome === 'skipped') ? stopReason ?? null : null,
      waves,
    };
    emit({ type: 'group-end', group: group.name, ok: summary.ok, failed: summary.failed, skipped: summary.skipped, durationMs: summary.durationMs, stopped: summary.stopped });
    return { summary, runs };
  };

  const done = await Promise.all(options.plan.groups.map(runGroup)).finally(() => options.signal?.removeEventListener('abort', stop));
  const runs = done.flatMap((d) => d.runs);
  return {
    ok: countOf(runs, 'ok'),
    failed: countOf(runs, 'failed'),
    skipped: countOf(runs, 'skipped'),
    total: runs.length,
    durationMs: Math.round(now() - started),
    concurrency,
    waves: mergeWaves(done.map((d) => d.summary.waves)),
    groups: done.map((d) => d.summary),
    tenants: runs,
  };
}

/** `work` over every item, at most `limit` at once, each started as a slot frees; results in item order. */
async function mapBounded<T, U>(items: readonly T[], limit: number, work: (item: T) => Promise<U>): Promise<U[]> {
  const results: U[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, Math.max(1, items.length)) }, worker));
  return results;
}

function countOf(runs: Array<TenantRun<unknown>>, outcome: TenantOutcome): number {
  return runs.filter((r) => r.outcome === outcome).length;
}

/** Wave n of the run: wave n of every group, counts summed, the longest duration. */
function mergeWaves(groups: WaveSummary[][]): WaveSummary[] {
  const byIndex = new Map<number, WaveSummary>();
  for (const wave of groups.flat()) {
    const merged = byIndex.get(wave.index);
    if (!merged) byIndex.set(wave.index, { ...wave });
    else {
      merged.ok += wave.ok;
      merged.failed += wave.failed;
      merged.skipped += wave.skipped;
      merged.durationMs = Math.max(merged.durationMs, wave.durationMs);
    }
  }
  return [...byIndex.values()].sort((a, b) => a.index - b.index);
}
