import { describe, expect, it } from 'vitest';
import { parseArgv } from '../define.js';
import deploy from './deploy.js';

describe('tenant deploy: parsing', () => {
  it('reads ids, --all, waves in order, the shard and the numbers', async () => {
    expect(await parseArgv(deploy, [])).toEqual({ ids: [], all: false, concurrency: 10, waves: [], shard: undefined, maxFailures: undefined });
    expect(await parseArgv(deploy, ['acme', 'globex', '--concurrency', '20'])).toMatchObject({ ids: ['acme', 'globex'], concurrency: 20 });
    expect(await parseArgv(deploy, ['--wave', 'acme', '--wave', 'globex,initech', '--wave', 'rest', '--max-failures', '0', '--shard', '2/4'])).toMatchObject({
      waves: ['acme', 'globex,initech', 'rest'],
      maxFailures: 0,
      shard: '2/4',
    });
  });

  it('refuses a concurrency below 1 and a count that is not a whole number, with exit 2', async () => {
    await expect(parseArgv(deploy, ['--all', '--concurrency', '0'])).rejects.toMatchObject({ exitCode: 2, message: '--concurrency 0 is not a whole number ≥ 1' });
    await expect(parseArgv(deploy, ['--all', '--max-failures', '1.5'])).rejects.toMatchObject({ exitCode: 2, message: '--max-failures 1.5 is not a whole number ≥ 0' });
  });
});
