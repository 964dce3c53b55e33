import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Project } from '../../../../project.js';
import type { TenantRecord } from '../../../../state/registry.js';
import { TenantStats } from '../stats.js';
import { consoleMinutes, logLines, logQuery, overviewDocument, type ConsoleSource, type ConsoleTenant } from './data.js';

const MINUTE = 60_000;
const start = Date.UTC(2026, 0, 1, 12, 0, 0);

function tenant(id: string, stats: TenantStats, logFile = '/nonexistent', status: TenantRecord['status'] = 'active'): ConsoleTenant {
  const record = { id, tier: 'basic', status, stage: 'dev', extensions: ['probe'], secrets: {}, config: {}, deploys: [], transitions: [] } as unknown as TenantRecord;
  return { record, process: 'running', environments: 1, restarts: 0, stats, logFile };
}
const sourceOf = (tenants: ConsoleTenant[]): ConsoleSource => ({ project: {} as Project, tenants: () => tenants });

describe('the console overview', () => {
  it('gives one point per minute, the current (partial) minute last, with its rate over the part that passed', () => {
    const stats = new TenantStats('acme', start);
    for (let i = 0; i < 120; i += 1) stats.record(200, 2, start + 10_000);
    stats.record(503, 2, start + 20_000);
    stats.record(429, 1, start + 20_000);
    const now = start + MINUTE + 30_000;
    for (let i = 0; i < 15; i += 1) stats.record(200, 4, now - 1000);
    const doc = overviewDocument(sourceOf([tenant('acme', stats, undefined, 'suspended')]), 5, now);
    const [acme] = doc.tenants;
    expect(acme!.suspended).toBe(true);
    expect(acme!.series.map((p) => p.minute)).toEqual([-3, -2, -1, 0, 1].map((m) => new Date(start + m * MINUTE).toISOString()));
    const [previous, current] = acme!.series.slice(-2);
    expect(previous).toMatchObject({ requests: 122, errors: 1, throttled: 1, rps: 2.03 });
    // 15 requests in the 30 s of the current minute that passed.
    expect(current).toMatchObject({ requests: 15, errors: 0, throttled: 0, rps: 0.5 });
    expect(acme!.series.slice(0, 3).every((p) => p.requests === 0 && p.p99 === null)).toBe(true);
  });

  it('takes only the spans it offers', () => {
    expect(consoleMinutes('60')).toBe(60);
    expect(consoleMinutes('5')).toBe(5);
    expect(consoleMinutes('1000000')).toBe(15);
    expect(consoleMinutes(null)).toBe(15);
  });
});

describe('the console logs', () => {
  it('filter by tenant, level (and above) and text, oldest first', () => {
    const dir = mkdtempSync(join(tmpdir(), 'console-logs-'));
    const line = (time: string, level: string, message: string) => JSON.stringify({ time, level, message, extension: 'probe', fields: { n: 1 } });
    writeFileSync(join(dir, 'acme.log'), [line('2026-01-01T00:00:02.000Z', 'info', 'acme hello'), line('2026-01-01T00:00:04.000Z', 'error', 'acme broke')].join('\n') + '\n');
    writeFileSync(join(dir, 'globex.log'), [line('2026-01-01T00:00:01.000Z', 'warn', 'globex slow'), line('2026-01-01T00:00:03.000Z', 'debug', 'globex detail')].join('\n') + '\n');
    const source = sourceOf([tenant('acme', new TenantStats('acme'), join(dir, 'acme.log')), tenant('globex', new TenantStats('globex'), join(dir, 'globex.log'))]);
    const messages = (query: string) => logLines(source, logQuery(new URLSearchParams(query))).map((l) => l.message);
    expect(messages('')).toEqual(['globex slow', 'acme hello', 'globex detail', 'acme broke']);
    expect(messages('tenant=acme')).toEqual(['acme hello', 'acme broke']);
    expect(messages('level=warn')).toEqual(['globex slow', 'acme broke']);
    expect(messages('q=SLOW')).toEqual(['globex slow']);
    expect(messages('level=nonsense')).toHaveLength(4);
    expect(logLines(source, logQuery(new URLSearchParams('tenant=acme')))[0]).toMatchObject({ tenant: 'acme', level: 'info', extension: 'probe', fields: '{"fields":{"n":1}}' });
  });
});
