/** The summary of a fleet deploy: a stable JSON report and a table for people. */
import type { LiveView } from '../output/live.js';
import { formatTable } from '../output/output.js';
import type { FleetPlan } from './plan.js';
import type { FleetEvent, FleetReport, GroupSummary, SkipReason } from './run.js';

const STOPPED: Record<SkipReason, string> = {
  'earlier-wave-failed': 'a wave failed',
  'max-failures': 'over --max-failures',
  aborted: 'interrupted',
};

/**
 * One fleet event on the live view: a row per tenant on a TTY, an event line otherwise. In a
 * plan grouped by cell, wave lines name their cell and each cell says when it is done.
 */
export function showFleetEvent(view: LiveView, event: FleetEvent, waves: number, grouped = false): void {
  const cell = grouped ? `cell ${event.group}: ` : '';
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
      if (waves > 1) view.log(`${cell}wave ${event.wave}: ${event.tenants} tenant(s)`);
      break;
    case 'wave-end':
      if (waves > 1) view.log(`${cell}wave ${event.wave} done: ${event.ok} ok, ${event.failed} failed`);
      break;
    case 'group-end':
      if (grouped) view.log(`${cell}${groupLine(event)}`);
      break;
  }
}

/** A cell's outcome in one line; a stopped cell says that the others went on. */
function groupLine(group: Pick<GroupSummary, 'ok' | 'failed' | 'skipped' | 'durationMs' | 'stopped'>): string {
  const counts = `${group.ok} ok, ${group.failed} failed, ${group.skipped} skipped in ${(group.durationMs / 1000).toFixed(1)}s`;
  return group.stopped === null ? counts : `${counts}; stopped (${STOPPED[group.stopped]}), other cells went on`;
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
  /** One summary per cell when the plan is grouped by cell, else null. */
  cells: GroupSummary[] | null;
  tenants: Array<{
    tenant: string;
    /** The tenant's cell (`home` for none) when the plan is grouped, else null. */
    cell: string | null;
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
    cells: context.plan.grouped ? report.groups : null,
    tenants: report.tenants.map((t) => ({
      tenant: t.tenant,
      cell: context.plan.grouped ? t.group : null,
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
    cell: t.cell,
    wave: t.wave,
    outcome: t.outcome,
    artifact: t.artifact ? t.artifact.slice(0, 12) : null,
    attempts: t.attempts || null,
    time: t.outcome === 'skipped' ? null : `${(t.durationMs / 1000).toFixed(1)}s`,
    detail: t.error ?? t.reason,
  }));
  const columns = ['tenant', ...(json.cells ? ['cell'] : []), ...(context.plan.waves.length > 1 ? ['wave'] : []), 'outcome', 'artifact', 'attempts', 'time', 'detail'];
  const text = [
    rows.length > 0 ? formatTable(rows, columns) : 'No tenants in this plan.',
    '',
    ...(json.cells ?? []).map((group) => `cell ${group.name}: ${groupLine(group)}`),
    `${json.ok} ok, ${json.failed} failed, ${json.skipped} skipped of ${json.total} in ${(json.durationMs / 1000).toFixed(1)}s`,
  ].join('\n');
  return { json, text };
}
