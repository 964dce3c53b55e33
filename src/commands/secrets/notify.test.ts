import { describe, expect, it } from 'vitest';
import { parseArgv } from '../define.js';
import notify from './notify.js';

describe('secrets notify: parsing', () => {
  it('reads the tenant and any number of references (none: every reference of the tenant)', async () => {
    expect(await parseArgv(notify, ['acme'])).toEqual({ tenant: 'acme', references: [] });
    expect(await parseArgv(notify, ['acme', '--reference', 'ssm:/dev/tenants/acme/a', '--reference', 'secretsmanager:dev/tenants/acme/b:key'])).toEqual({
      tenant: 'acme',
      references: ['ssm:/dev/tenants/acme/a', 'secretsmanager:dev/tenants/acme/b:key'],
    });
  });

  it('refuses a malformed reference or a missing tenant with exit 2', async () => {
    await expect(parseArgv(notify, ['acme', '--reference', 'arn:aws:ssm:us-east-1:1:parameter/x'])).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/^invalid secret reference/) });
    await expect(parseArgv(notify, ['acme', '--reference', 'ssm:/dev/tenants/acme/../x'])).rejects.toMatchObject({ exitCode: 2 });
    await expect(parseArgv(notify, [])).rejects.toMatchObject({ exitCode: 2 });
  });
});
