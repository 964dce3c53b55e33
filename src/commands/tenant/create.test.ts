import { describe, expect, it } from 'vitest';
import { parseArgv } from '../define.js';
import create from './create.js';

describe('tenant create: parsing', () => {
  it('reads the id, the tier and --no-deploy', async () => {
    expect(await parseArgv(create, ['acme'])).toEqual({ id: 'acme', tier: undefined, deploy: true });
    expect(await parseArgv(create, ['globex', '--tier', 'premium', '--no-deploy'])).toEqual({ id: 'globex', tier: 'premium', deploy: false });
  });

  it('refuses an unknown tier, a missing id and extra arguments with exit 2', async () => {
    await expect(parseArgv(create, ['acme', '--tier', 'gold'])).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/argument 'gold' is invalid.*basic, standard, premium/) });
    await expect(parseArgv(create, [])).rejects.toMatchObject({ exitCode: 2, message: "missing required argument 'id'" });
    await expect(parseArgv(create, ['acme', 'extra'])).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/too many arguments/) });
    await expect(parseArgv(create, ['acme', '--frobnicate'])).rejects.toMatchObject({ exitCode: 2, message: "unknown option '--frobnicate'", hint: 'run with --help to see the usage' });
  });
});
