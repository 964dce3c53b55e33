import { describe, expect, it } from 'vitest';
import { parseArgv } from '../define.js';
import disable from './disable.js';
import enable from './enable.js';
import validate from './validate.js';

describe('ext enable, ext disable and ext validate: parsing', () => {
  it('reads the extension and the tenant', async () => {
    expect(await parseArgv(enable, ['avalara', '--tenant', 'acme'])).toEqual({ name: 'avalara', tenant: 'acme' });
    expect(await parseArgv(disable, ['avalara', '--tenant', 'acme'])).toEqual({ name: 'avalara', tenant: 'acme' });
    expect(await parseArgv(validate, [])).toEqual({ name: undefined });
  });

  it('refuses a missing --tenant with exit 2, naming the command in the hint', async () => {
    await expect(parseArgv(enable, ['cetec'])).rejects.toMatchObject({ exitCode: 2, message: 'ext enable needs --tenant <id>', hint: 'e.g. sovereign ext enable cetec --tenant acme' });
    await expect(parseArgv(disable, ['cetec', '--tenant', ''])).rejects.toMatchObject({ exitCode: 2, message: 'ext disable needs --tenant <id>' });
  });
});
