import { describe, expect, it } from 'vitest';
import { parseArgv } from '../define.js';
import exportBundle from './export.js';
import log from './log.js';

describe('audit log and audit export: parsing', () => {
  it('reads the tenant, --verify and the limit', async () => {
    expect(await parseArgv(log, [])).toEqual({ tenant: undefined, verify: false, limit: undefined });
    expect(await parseArgv(log, ['--tenant', 'acme', '--verify', '--limit', '50'])).toEqual({ tenant: 'acme', verify: true, limit: 50 });
    expect(await parseArgv(exportBundle, ['--tenant', 'acme', '--since', '2026-01-01'])).toEqual({ tenant: 'acme', out: undefined, since: '2026-01-01' });
  });

  it('refuses a limit below 1, a bad tenant id and a missing or empty --tenant with exit 2', async () => {
    await expect(parseArgv(log, ['--limit', '0'])).rejects.toMatchObject({ exitCode: 2, message: '--limit "0" is not a positive whole number', hint: 'e.g. --limit 50 for the last 50 events' });
    await expect(parseArgv(log, ['--tenant', 'a'])).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/too short/), hint: expect.stringMatching(/^tenant ids are/) });
    await expect(parseArgv(exportBundle, [])).rejects.toMatchObject({ exitCode: 2, message: "required option '--tenant <id>' not specified" });
    await expect(parseArgv(exportBundle, ['--tenant', ''])).rejects.toMatchObject({ exitCode: 2, message: '--tenant is required', hint: 'e.g. sovereign audit export --tenant acme' });
  });
});
