import { describe, expect, it } from 'vitest';
import type { LiveRow, LiveView } from '../output/live.js';
import { planFleetDeploy } from './plan.js';
import { showFleetEvent, summarizeFleet } from './report.js';
import { runFleet } from './run.js';

describe('summarizeFleet', () => {
  it('reports every tenant with its outcome, artifact and reason, in a stable JSON shape', async () => {
    const plan = planFleetDeploy({ known: ['acme', 'globex', 'initech'], waves: ['globex', 'rest'] });
    const report = await runFleet({
      plan,
      deployOne: async (id) => {
        if (id === 'globex') throw new Error('handler "missing" has no file\nstack');
        return { artifact: 'f'.repeat(64) };
      },
    });
    const { json, text } = summarizeFleet(report, { target: 'local', stage: 'dev', plan });
    expect(Object.keys(json)).toEqual(['target', 'stage', 'shard', 'concurrency', 'ok', 'failed', 'skipped', 'total', 'durationMs', 'waves', 'cells', 'tenants']);
    expect(json.tenants.map((t) => [t.tenant, t.wave, t.outcome, t.error, t.reason])).toEqual([
      ['globex', 1, 'failed', 'handler "missing" has no file', null],
      ['acme', 2, 'skipped', null, 'earlier-wave-failed'],
      ['initech', 2, 'skipped', null, 'earlier-wave-failed'],
    ]);
    expect(text.split('\n')[0]).toMatch(/^TENANT\s+WAVE\s+OUTCOME\s+ARTIFACT\s+ATTEMPTS\s+TIME\s+DETAIL$/);
    expect(text).toContain('0 ok, 1 failed, 2 skipped of 3');
  });

  it('shortens artifacts in the table and keeps them whole in JSON', async () => {
    const plan = planFleetDeploy({ known: ['acme'], all: true });
    const report = await runFleet({ plan, deployOne: async () => ({ artifact: 'ab'.repeat(32) }) });
    const { json, text } = summarizeFleet(report, { target: 'aws', stage: 'prod', plan });
    expect(json.tenants[0]!.artifact).toBe('ab'.repeat(32));
    expect(text).toContain(`acme    ok       ${'ab'.repeat(6)}`);
    expect(text.split('\n')[0]).not.toContain('WAVE');
  });
});

describe('summarizeFleet by cell', () => {
  it('gives each cell a summary line and a JSON entry, naming the stopped cell and that the others went on', async () => {
    const cellOf: Record<string, string> = { acme: 'eu-1', globex: 'eu-1', initech: 'us-1', umbrella: 'us-1' };
    const plan = planFleetDeploy({ known: Object.keys(cellOf), waves: ['acme,initech', 'rest'], groupOf: (id) => cellOf[id] });
    const report = await runFleet({
      plan,
      now: () => 0,
      deployOne: async (id) => {
        if (id === 'initech') throw new Error('canary broke');
        return { artifact: 'c'.repeat(64) };
      },
    });
    const { json, text } = summarizeFleet(report, { target: 'aws', stage: 'prod', plan });
    expect(json.cells!.map((c) => [c.name, c.ok, c.failed, c.skipped, c.stopped])).toEqual([
      ['eu-1', 2, 0, 0, null],
      ['us-1', 0, 1, 1, 'earlier-wave-failed'],
    ]);
    expect(json.tenants.map((t) => [t.tenant, t.cell])).toEqual([
      ['acme', 'eu-1'],
      ['globex', 'eu-1'],
      ['initech', 'us-1'],
      ['umbrella', 'us-1'],
    ]);
    expect(text.split('\n')[0]).toMatch(/^TENANT\s+CELL\s+WAVE\s+OUTCOME/);
    expect(text).toContain('cell eu-1: 2 ok, 0 failed, 0 skipped in 0.0s\n');
    expect(text).toContain('cell us-1: 0 ok, 1 failed, 1 skipped in 0.0s; stopped (a wave failed), other cells went on\n');
    expect(text).toContain('2 ok, 1 failed, 1 skipped of 4');
  });

  it('keeps cells out of an ungrouped report', async () => {
    const plan = planFleetDeploy({ known: ['acme'], all: true, groupOf: () => undefined });
    const { json, text } = summarizeFleet(await runFleet({ plan, deployOne: async () => ({ artifact: 'a' }) }), { target: 'local', stage: 'dev', plan });
    expect(json.cells).toBeNull();
    expect(json.tenants[0]!.cell).toBeNull();
    expect(text).not.toContain('cell');
  });
});

describe('showFleetEvent', () => {
  it('turns runner events into rows and wave lines', () => {
    const rows: LiveRow[] = [];
    const lines: string[] = [];
    const view: LiveView = { update: (row) => rows.push(row), log: (line) => lines.push(line), stop: async () => {} };
    showFleetEvent(view, { type: 'retry', group: 'home', tenant: 'acme', wave: 1, attempt: 1, delayMs: 900, error: 'Rate exceeded' }, 1);
    showFleetEvent(view, { type: 'failed', group: 'home', tenant: 'acme', wave: 1, attempts: 2, durationMs: 10, error: 'boom' }, 1);
    showFleetEvent(view, { type: 'wave-start', group: 'home', wave: 2, tenants: 5 }, 1);
    showFleetEvent(view, { type: 'wave-start', group: 'home', wave: 2, tenants: 5 }, 2);
    expect(rows).toEqual([
      { key: 'acme', status: 'throttled', detail: 'retry in 900 ms: Rate exceeded', tone: 'busy' },
      { key: 'acme', status: 'failed', detail: 'boom', tone: 'fail' },
    ]);
    expect(lines).toEqual(['wave 2: 5 tenant(s)']);
  });

  it('names the cell on wave lines and says when a cell is done or stopped, when grouped', () => {
    const lines: string[] = [];
    const view: LiveView = { update: () => undefined, log: (line) => lines.push(line), stop: async () => {} };
    showFleetEvent(view, { type: 'wave-end', group: 'eu-1', wave: 1, ok: 1, failed: 1, skipped: 0, durationMs: 5 }, 2, true);
    showFleetEvent(view, { type: 'group-end', group: 'eu-1', ok: 1, failed: 1, skipped: 9, durationMs: 1500, stopped: 'earlier-wave-failed' }, 2, true);
    showFleetEvent(view, { type: 'group-end', group: 'home', ok: 3, failed: 0, skipped: 0, durationMs: 1500, stopped: null }, 2, false);
    expect(lines).toEqual(['cell eu-1: wave 1 done: 1 ok, 1 failed', 'cell eu-1: 1 ok, 1 failed, 9 skipped in 1.5s; stopped (a wave failed), other cells went on']);
  });
});
