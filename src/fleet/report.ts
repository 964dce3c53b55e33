/** The summary of a fleet deploy: a stable JSON report and a table for people. */
import type { LiveView } from '../output/live.js';
import { formatTable } from '../output/output.js';
import type { FleetPlan } from './plan.js';
import type { FleetEvent, FleetReport } from './run.js';

/** One fleet event on the live view: a row per tenant on a TTY, an event line otherwise. */
export function showFleetEvent(view: LiveView, event: FleetEvent, waves: number): void {
  switch (event.type) {
    case 'start':
      view.update({ key: event.tenant, status: event.attempt > 1 ? `retry ${event.attempt}` : 'deploying', tone: 'busy' });
      break;
    case 'retry':
      view.update({ key: event.tenant, status: 'throttled', detail: `retry in ${event.delayMs} ms: ${event.error}`, tone: 'busy' });
      break;
    case 'ok':
      view.update({ key: event.tenant, status: 'ok', detail: `${(event.durationMs / 1000).toFixed(1)}s`, tone: 'ok' });
      break;
    case 'failed':
      view.update({ key: event.tenant, status: 'failed', detail: event.error, tone: 'fail' });
      break;
    case 'skipped':
      view.update({ key: event.tenant, status: 'skipped', detail: event.reason, tone: 'idle' });
      break;
    case 'wave-start':
      if (waves > 1) view.log(`wave ${event.wave}: ${event.tenants} tenant(s)`);
      break;
    case 'wave-end':
      if (waves > 1) view.log(`wave ${event.wave} done: ${event.ok} ok, ${event.failed} failed`);
      break;
  }
}

export interface FleetReportJson {
  target: 'local' | 'aws';
  stage: string;
  shard: { index: number; count: number } | null;
  concurrency: number;
  ok: number;
  failed: number;
  skipped: number;
  total: number;
  durationMs: number;
  waves: FleetReport['waves'];
  tenants: Array<{
    tenant: string;
    wave: number;
    outcome: 'ok' | 'failed' | 'skipped';
    attempts: number;
    durationMs: number;
    artifact: string | null;
    error: string | null;
    reason: string | null;
  }>;
}

export function summarizeFleet(
  report: FleetReport<{ artifact?: string } | undefined>,
  context: { target: 'local' | 'aws'; stage: string; plan: FleetPlan },
): { json: FleetReportJson; text: string } {
  const json: FleetReportJson = {
    target: context.target,
    stage: context.stage,
    shard: context.plan.shard ?? null,
    concurrency: report.concurrency,
    ok: report.ok,
    failed: report.failed,
    skipped: report.skipped,
    total: report.total,
    durationMs: report.durationMs,
    waves: report.waves,
    tenants: report.tenants.map((t) => ({
      tenant: t.tenant,
      wave: t.wave,
      outcome: t.outcome,
      attempts: t.attempts,
      durationMs: t.durationMs,
      artifact: t.result?.artifact ?? null,
      error: t.error ?? null,
      reason: t.reason ?? null,
    })),
  };
  const rows = json.tenants.map((t) => ({
    tenant: t.tenant,
    wave: t.wave,
    outcome: t.outcome,
    artifact: t.artifact ? t.artifact.slice(0, 12) : null,
    attempts: t.attempts || null,
    time: t.outcome === 'skipped' ? null : `${(t.durationMs / 1000).toFixed(1)}s`,
    detail: t.error ?? t.reason,
  }));
  const columns = ['tenant', ...(context.plan.waves.length > 1 ? ['wave'] : []), 'outcome', 'artifact', 'attempts', 'time', 'detail'];
  const text = [
    rows.length > 0 ? formatTable(rows, columns) : 'No tenants in this plan.',
    '',
    `${json.ok} ok, ${json.failed} failed, ${json.skipped} skipped of ${json.total} in ${(json.durationMs / 1000).toFixed(1)}s`,
  ].join('\n');
  return { json, text };
}
