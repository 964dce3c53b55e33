import { describe, expect, it } from 'vitest';
import { parseArgv } from '../define.js';
import logs from './logs.js';
import status from './status.js';

describe('tenant logs and tenant status: parsing', () => {
  it('reads the filters, the limit and --since as a time', async () => {
    const before = Date.now();
    const input = await parseArgv(logs, ['acme', '-f', '--since', '10m', '--extension', 'avalara', '--request-id', '8f1c2a', '--limit', '5']);
    expect(input).toMatchObject({ id: 'acme', follow: true, extension: 'avalara', requestId: '8f1c2a', limit: 5 });
    expect(input.since).toBeLessThanOrEqual(before - 600_000 + 1000);
    expect(await parseArgv(logs, ['acme'])).toEqual({ id: 'acme', follow: false, since: undefined, extension: undefined, requestId: undefined, limit: 200 });
    expect(await parseArgv(status, ['acme'])).toEqual({ id: 'acme', minutes: 15 });
  });

  it('refuses a bad --since, --limit or --minutes with exit 2 and the parser\'s hint', async () => {
    await expect(parseArgv(logs, ['acme', '--since', 'yesterday'])).rejects.toMatchObject({ exitCode: 2, message: '--since "yesterday" is neither a duration nor an ISO date', hint: expect.stringContaining('--since 10m') });
    await expect(parseArgv(logs, ['acme', '--limit', '0'])).rejects.toMatchObject({ exitCode: 2, message: '--limit 0 is not a whole number ≥ 1' });
    await expect(parseArgv(status, ['acme', '--minutes', '61'])).rejects.toMatchObject({ exitCode: 2, message: '--minutes 61 is not a whole number of minutes from 1 to 60', hint: 'e.g. --minutes 5' });
  });
});
