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
    expect(Object.keys(json)).toEqual(['target', 'stage', 'shard', 'concurrency', 'ok', 'failed', 'skipped', 'total', 'durationMs', 'waves', 'tenants']);
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

describe('showFleetEvent', () => {
  it('turns runner events into rows and wave lines', () => {
    const rows: LiveRow[] = [];
    const lines: string[] = [];
    const view: LiveView = { update: (row) => rows.push(row), log: (line) => lines.push(line), stop: async () => {} };
    showFleetEvent(view, { type: 'retry', tenant: 'acme', wave: 1, attempt: 1, delayMs: 900, error: 'Rate exceeded' }, 1);
    showFleetEvent(view, { type: 'failed', tenant: 'acme', wave: 1, attempts: 2, durationMs: 10, error: 'boom' }, 1);
    showFleetEvent(view, { type: 'wave-start', wave: 2, tenants: 5 }, 1);
    showFleetEvent(view, { type: 'wave-start', wave: 2, tenants: 5 }, 2);
    expect(rows).toEqual([
      { key: 'acme', status: 'throttled', detail: 'retry in 900 ms: Rate exceeded', tone: 'busy' },
      { key: 'acme', status: 'failed', detail: 'boom', tone: 'fail' },
    ]);
    expect(lines).toEqual(['wave 2: 5 tenant(s)']);
  });
});
