/**
 * Runs a fleet plan: waves in order, each with bounded concurrency; per-tenant retry with
 * exponential backoff and jitter on throttling; `maxFailures` stops starting new tenants once
 * exceeded. A wave starts only when every tenant of the previous waves succeeded, so a canary wave
 * that fails stops the rollout. `deployOne` is injected: the local and aws targets share this.
 */
import type { FleetPlan } from './plan.js';

export type TenantOutcome = 'ok' | 'failed' | 'skipped';

export interface TenantRun<R = unknown> {
  tenant: string;
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

export interface FleetReport<R = unknown> {
  ok: number;
  failed: number;
  skipped: number;
  total: number;
  durationMs: number;
  concurrency: number;
  waves: Array<{ index: number; ok: number; failed: number; skipped: number; durationMs: number }>;
  tenants: Array<TenantRun<R>>;
}

export type FleetEvent =
  | { type: 'wave-start'; wave: number; tenants: number }
  | { type: 'wave-end'; wave: number; ok: number; failed: number; skipped: number; durationMs: number }
  | { type: 'start'; tenant: string; wave: number; attempt: number }
  | { type: 'retry'; tenant: string; wave: number; attempt: number; delayMs: number; error: string }
  | { type: 'ok'; tenant: string; wave: number; attempts: number; durationMs: number }
  | { type: 'failed'; tenant: string; wave: number; attempts: number; durationMs: number; error: string }
  | { type: 'skipped'; tenant: string; wave: number; reason: NonNullable<TenantRun['reason']> };

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
  /** Tenants deployed at once (default 10). */
  concurrency?: number;
  /** Stop starting tenants once more than this many failed (default: never stop). */
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
  const controller = new AbortController();
  const signal = options.signal ?? controller.signal;

  const started = now();
  const runs: Array<TenantRun<R>> = [];
  const waves: FleetReport<R>['waves'] = [];
  let failures = 0;
  let stopReason: TenantRun['reason'] | undefined;

  const deployTenant = async (tenant: string, wave: number): Promise<TenantRun<R>> => {
    const begin = now();
    let attempt = 0;
    for (;;) {
      attempt += 1;
      emit({ type: 'start', tenant, wave, attempt });
      try {
        const result = await options.deployOne(tenant, { attempt, wave, signal });
        const durationMs = Math.round(now() - begin);
        emit({ type: 'ok', tenant, wave, attempts: attempt, durationMs });
        return { tenant, wave, outcome: 'ok', attempts: attempt, durationMs, result };
      } catch (error) {
        const message = firstLine(error);
        if (attempt < retry.attempts && retry.retryable(error) && !signal.aborted) {
          const delayMs = backoffDelay(attempt, retry, random);
          emit({ type: 'retry', tenant, wave, attempt, delayMs, error: message });
          await sleep(delayMs, signal);
          continue;
        }
        const durationMs = Math.round(now() - begin);
        emit({ type: 'failed', tenant, wave, attempts: attempt, durationMs, error: message });
        return { tenant, wave, outcome: 'failed', attempts: attempt, durationMs, error: message };
      }
    }
  };

  const skip = (tenant: string, wave: number, reason: NonNullable<TenantRun['reason']>): TenantRun<R> => {
    emit({ type: 'skipped', tenant, wave, reason });
    return { tenant, wave, outcome: 'skipped', attempts: 0, durationMs: 0, reason };
  };

  for (const wave of options.plan.waves) {
    const waveStart = now();
    const results: Array<TenantRun<R>> = new Array(wave.tenants.length);
    if (stopReason === undefined && signal.aborted) stopReason = 'aborted';
    if (stopReason === undefined) emit({ type: 'wave-start', wave: wave.index, tenants: wave.tenants.length });
    let next = 0;
    const worker = async () => {
      while (next < wave.tenants.length) {
        const index = next++;
        const tenant = wave.tenants[index]!;
        if (stopReason === undefined && signal.aborted) stopReason = 'aborted';
        if (stopReason !== undefined) {
          results[index] = skip(tenant, wave.index, stopReason);
          continue;
        }
        const run = await deployTenant(tenant, wave.index);
        results[index] = run;
        if (run.outcome === 'failed') {
          failures += 1;
          if (failures > maxFailures && stopReason === undefined) stopReason = 'max-failures';
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, wave.tenants.length)) }, worker));
    runs.push(...results);
    const count = (outcome: TenantOutcome) => results.filter((r) => r.outcome === outcome).length;
    const summary = { index: wave.index, ok: count('ok'), failed: count('failed'), skipped: count('skipped'), durationMs: Math.round(now() - waveStart) };
    waves.push(summary);
    if (summary.ok + summary.failed > 0) emit({ type: 'wave-end', wave: wave.index, ok: summary.ok, failed: summary.failed, skipped: summary.skipped, durationMs: summary.durationMs });
    if (summary.failed > 0 && stopReason === undefined) stopReason = 'earlier-wave-failed';
  }

  const count = (outcome: TenantOutcome) => runs.filter((r) => r.outcome === outcome).length;
  return {
    ok: count('ok'),
    failed: count('failed'),
    skipped: count('skipped'),
    total: runs.length,
    durationMs: Math.round(now() - started),
    concurrency,
    waves,
    tenants: runs,
  };
}
