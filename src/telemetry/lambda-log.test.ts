import { describe, expect, it } from 'vitest';
import { functionFigures, parseLogFileLines } from './lambda-log.js';

describe('a dev log file read as CloudWatch is read', () => {
  it('keeps JSON lines, reads REPORT with its figures at the time of the line before, and a timeout line at its own time', () => {
    const lines = parseLogFileLines('acme', [
      '{"time":"2026-12-07T10:00:00.000Z","level":"info","message":"route handled"}',
      'REPORT RequestId: 0d1c5c5e-1111-4222-8333-944455556666\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 71 MB\tInit Duration: 180.50 ms\t',
      '2026-12-07T10:00:05.000Z 0d1c5c5e-1111-4222-8333-944455556667 Task timed out after 1.50 seconds',
      '',
      'REPORT RequestId: 0d1c5c5e-1111-4222-8333-944455556667\tDuration: 1500.00 ms\tBilled Duration: 1500 ms\tMemory Size: 512 MB\tMax Memory Used: 0 MB\tStatus: timeout\t',
      'not json at all',
    ]);
    expect(lines[0]).toMatchObject({ message: 'route handled' });
    expect(lines[1]).toEqual({
      time: '2026-12-07T10:00:00.000Z', level: 'info', tenant: 'acme', extension: null, requestId: '0d1c5c5e-1111-4222-8333-944455556666', message: 'lambda report',
      fields: { durationMs: 12.34, billedMs: 13, memoryMb: 512, maxMemoryMb: 71, initMs: 180.5 },
    });
    expect(lines[2]).toMatchObject({ time: '2026-12-07T10:00:05.000Z', message: expect.stringContaining('Task timed out after 1.50 seconds') });
    expect(lines.find((l) => l.requestId === '0d1c5c5e-1111-4222-8333-944455556667')).toMatchObject({ time: '2026-12-07T10:00:05.000Z', message: 'lambda report' });
    expect(lines.at(-1)).toMatchObject({ message: 'not json at all', time: '2026-12-07T10:00:05.000Z' });
  });

  it('reads a platform line written after its time (as dev writes REPORT) at that time', () => {
    const lines = parseLogFileLines('acme', [
      '{"time":"2026-12-07T10:00:00.000Z","level":"info","message":"cold start complete"}',
      '2026-12-07T10:00:09.125Z REPORT RequestId: 0d1c5c5e-1111-4222-8333-944455556666\tDuration: 2.50 ms\tBilled Duration: 3 ms\tMemory Size: 512 MB\tMax Memory Used: 70 MB\t',
    ]);
    expect(lines[1]).toMatchObject({ time: '2026-12-07T10:00:09.125Z', message: 'lambda report', requestId: '0d1c5c5e-1111-4222-8333-944455556666', fields: { durationMs: 2.5, billedMs: 3 } });
  });
});

describe('the function figures of tenant status', () => {
  const report = (durationMs: number, extra: Record<string, number> = {}, status?: string) => ({ message: 'lambda report', fields: { durationMs, billedMs: Math.ceil(durationMs), memoryMb: 512, maxMemoryMb: 60, ...extra }, ...(status ? { status } : {}) });

  it('counts invocations, cold starts and timeouts and takes percentiles of the REPORT lines only', () => {
    const lines = [
      report(200, { initMs: 150, maxMemoryMb: 80 }),
      { message: 'route handled', fields: { durationMs: 99_999 } },
      ...Array.from({ length: 98 }, (_, i) => report(i + 1)),
      report(1500, { initMs: 210 }, 'timeout'),
    ];
    expect(functionFigures(lines)).toEqual({
      invocations: 100,
      coldStarts: 2,
      timeouts: 1,
      initMs: { p50: 150, max: 210 },
      durationMs: { p50: 50, p99: 200 },
      billedMs: 200 + 1500 + (98 * 99) / 2,
      memoryMb: 512,
      maxMemoryUsedMb: 80,
    });
  });

  it('says nothing it did not read', () => {
    expect(functionFigures([])).toEqual({ invocations: 0, coldStarts: 0, timeouts: 0, initMs: null, durationMs: null, billedMs: 0, memoryMb: null, maxMemoryUsedMb: null });
  });
});
