import { describe, expect, it } from 'vitest';
import { parseLogFileLines } from './lambda-log.js';

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
});
