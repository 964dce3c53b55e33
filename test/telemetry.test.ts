/**
 * Telemetry pieces without a dev server: following a tenant's log file as it grows (no line twice,
 * filters applied), readable lines, `--since` parsing, status and top rows from a stats document.
 */
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProject } from '../src/project.js';
import { newTenantRecord } from '../src/tenants/tenants.js';
import { formatLogLine, formatStatus, formatTopTable, statusReport, topRows } from '../src/telemetry/format.js';
import { followLogs, parseSinceOption } from '../src/telemetry/logs.js';
import type { FleetFigures, LogLine } from '../src/telemetry/source.js';
import { localTelemetry } from '../src/targets/local/telemetry.js';
import { waitFor } from './helpers/wait.js';

const line = (time: string, extension: string, requestId: string, message: string, fields: Record<string, unknown> = {}) =>
  `${JSON.stringify({ time, level: 'info', tenant: 'acme', stage: 'dev', extension, requestId, message, fields })}\n`;

describe('tenant logs', () => {
  it('follows the log as it grows: every matching line once, in order, filters applied', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sovereign-logs-')), 'proj');
    mkdirSync(join(dir, '.sovereign', 'data', 'acme'), { recursive: true });
    writeFileSync(join(dir, 'sovereign.config.json'), JSON.stringify({ project: 'proj' }));
    const project = await loadProject(dir);
    const log = join(project.paths.data, 'acme', 'runtime.log');
    writeFileSync(log, line('2026-01-01T00:00:00.000Z', 'avalara', 'r1', 'old') + line('2026-01-01T00:00:01.000Z', 'cetec', 'r2', 'other extension'));
    const seen: LogLine[] = [];
    const abort = new AbortController();
    const following = followLogs(localTelemetry(project), 'acme', { extension: 'avalara', intervalMs: 20, signal: abort.signal, onLine: (l) => seen.push(l) });
    const seenCount = (count: number) => waitFor(`${count} log lines`, () => (seen.length >= count ? true : undefined), 5000);
    await seenCount(1);
    // Two lines in the same millisecond, written one poll apart, and a line of another extension.
    appendFileSync(log, line('2026-01-01T00:00:02.000Z', 'avalara', 'r3', 'same ms a'));
    await seenCount(2);
    appendFileSync(log, line('2026-01-01T00:00:02.000Z', 'avalara', 'r4', 'same ms b') + line('2026-01-01T00:00:03.000Z', 'cetec', 'r5', 'skip'));
    appendFileSync(log, 'not json at all\n' + line('2026-01-01T00:00:04.000Z', 'avalara', 'r6', 'last', { total: 12.5 }));
    await seenCount(4);
    // A last line read means every line before it was read: a line shown twice would be in `seen` by now.
    appendFileSync(log, line('2026-01-01T00:00:05.000Z', 'avalara', 'r7', 'end'));
    await waitFor('the last line', () => seen.find((l) => l.message === 'end'), 5000);
    abort.abort();
    await following;
    expect(seen.map((l) => l.message)).toEqual(['old', 'same ms a', 'same ms b', 'last', 'end']);
  });

  it('shows a line readably with its fields inline', () => {
    expect(formatLogLine({ time: '2026-01-01T10:11:12.345Z', level: 'warn', extension: 'avalara', requestId: 'req-1', message: 'quote slow', tenant: 'acme', stage: 'dev', fields: { ms: 812, note: 'two words' } }))
      .toBe('10:11:12.345 WARN  avalara req-1 quote slow  ms=812 note="two words"');
  });

  it('parses --since as a duration or an ISO date, and refuses anything else', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(parseSinceOption('10m', now)).toBe(now - 600_000);
    expect(parseSinceOption('2h', now)).toBe(now - 7_200_000);
    expect(parseSinceOption('2026-01-01T11:00:00Z', now)).toBe(Date.parse('2026-01-01T11:00:00Z'));
    expect(() => parseSinceOption('yesterday', now)).toThrow(expect.objectContaining({ exitCode: 2 }));
  });
});

describe('status and top rows', () => {
  const acme = { ...newTenantRecord({ id: 'acme', tier: 'premium', stage: 'dev', extensions: [], by: 't', now: '2026-01-01T00:00:00Z' }), status: 'active' as const };
  const globex = { ...newTenantRecord({ id: 'globex', tier: 'basic', stage: 'dev', extensions: [], by: 't', now: '2026-01-01T00:00:00Z' }), status: 'suspended' as const };
  const fleet: FleetFigures = {
    source: 'sovereign dev on port 4000',
    since: '2026-01-01T00:00:00Z',
    tenants: [{ tenant: 'acme', status: 'running', pid: 42, restarts: 0, requests: 200, errors: 3, throttled: 1, statusClasses: {}, ratePerSecond: 4.5, latencyMs: { p50: 1.2, p99: 9.5, recentP99: null }, secretCache: { hits: 9, misses: 1, hitRate: 0.9 } }],
  };

  it('a served tenant has its figures and error rate; an unserved one says why', () => {
    expect(statusReport(acme, fleet, { status: 'ok' }, 'hint').runtime).toMatchObject({ requests: 200, errors: 3, errorRate: 0.015, latencyMs: { p50: 1.2, p99: 9.5 }, secretCache: { hitRate: 0.9 }, health: { status: 'ok' } });
    expect(statusReport(globex, fleet, undefined, 'hint')).toMatchObject({ runtime: null, message: expect.stringContaining('does not serve globex') });
    expect(statusReport(acme, undefined, undefined, 'start dev')).toMatchObject({ runtime: null, message: 'no runtime figures: start dev' });
  });

  it('status shows the last minutes beside the totals since dev started', () => {
    const window = { minutes: 15, since: '2026-01-01T00:50:00.000Z', requests: 40, errors: 2, throttled: 0, latencyMs: { p50: 1.1, p99: 7 }, secretCache: { hits: 3, misses: 1, hitRate: 0.75 } };
    const report = statusReport(acme, { ...fleet, tenants: [{ ...fleet.tenants[0]!, window }] }, { status: 'ok' }, 'hint');
    expect(report.runtime!.window).toEqual({ ...window, errorRate: 0.05 });
    const text = formatStatus(report, Date.parse('2026-01-01T01:00:00Z'));
    expect(text).toContain('requests      200');
    expect(text).toMatch(/^last 15 min\s+requests 40\s+errors 2 \(5%\)\s+throttled 0\s+p50 1\.1ms\s+p99 7\.0ms\s+secret cache 75% hits$/m);
  });

  it('top lists every registered tenant, served or not', () => {
    const rows = topRows([acme, globex], fleet);
    expect(rows.map((r) => [r.tenant, r.state, r.runtime, r.requests, r.p99])).toEqual([
      ['acme', 'active', 'running', 200, 9.5],
      ['globex', 'suspended', null, null, null],
    ]);
    const table = formatTopTable(rows).split('\n');
    expect(table[1]).toMatch(/^acme\s+active\s+premium\s+running\s+42\s+4\.5\s+200\s+3\s+1\s+1\.2ms\s+9\.5ms\s+90%$/);
    expect(table[2]).toMatch(/^globex\s+suspended\s+basic\s+-\s+-\s+-\s+-\s+-\s+-\s+-\s+-\s+-$/);
  });
});
