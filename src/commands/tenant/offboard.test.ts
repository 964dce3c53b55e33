import { describe, expect, it } from 'vitest';
import { parseArgv } from '../define.js';
import offboard from './offboard.js';

describe('tenant offboard: parsing', () => {
  it('takes one tenant or --due', async () => {
    expect(await parseArgv(offboard, ['acme', '--out', 'retention/acme', '--reason', 'contract ended'])).toEqual({
      due: false,
      id: 'acme',
      out: 'retention/acme',
      reason: 'contract ended',
      forceDeleteTable: false,
    });
    expect(await parseArgv(offboard, ['--due', '--force-delete-table'])).toEqual({ due: true, out: undefined, reason: undefined, forceDeleteTable: true });
  });

  it('refuses both, and neither, with exit 2', async () => {
    await expect(parseArgv(offboard, ['acme', '--due'])).rejects.toMatchObject({ exitCode: 2, message: 'pass a tenant id or --due, not both' });
    await expect(parseArgv(offboard, [])).rejects.toMatchObject({ exitCode: 2, message: 'a tenant id is required', hint: 'e.g. sovereign tenant offboard acme --yes, or --due' });
  });
});
