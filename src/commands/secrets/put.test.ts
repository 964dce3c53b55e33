import { describe, expect, it } from 'vitest';
import { parseArgv } from '../define.js';
import put from './put.js';
import rotate from './rotate.js';

const CANARY = 'canary-s3cr3t-value';
const REFERENCE = 'ssm:/dev/tenants/acme/x';

describe('secrets put and secrets rotate: parsing', () => {
  it('reads the reference, the tenant and the value source', async () => {
    expect(await parseArgv(put, [REFERENCE, '--tenant', 'acme', '--from-stdin'])).toEqual({ reference: REFERENCE, tenant: 'acme', fromStdin: true, fromFile: undefined, generate: undefined });
    expect(await parseArgv(put, [REFERENCE, '--tenant', 'acme', '--generate', '48'])).toMatchObject({ generate: '48', fromStdin: false });
    expect(await parseArgv(rotate, ['acme', 'avalara.license_key', '--from-file', 'new.txt', '--rotation-id', 'r1'])).toEqual({
      tenant: 'acme',
      mapping: 'avalara.license_key',
      action: 'rotate',
      value: { fromStdin: false, fromFile: 'new.txt', generate: undefined },
      rotationId: 'r1',
    });
    expect(await parseArgv(rotate, ['acme', 'avalara.license_key', '--resume'])).toMatchObject({ action: 'resume' });
    expect(await parseArgv(rotate, ['acme', 'avalara.license_key', '--abort'])).toMatchObject({ action: 'abort' });
  });

  it('refuses a value on argv with exit 2, never repeating it', async () => {
    for (const argv of [[REFERENCE, '--tenant', 'acme', CANARY], [REFERENCE, '--tenant', 'acme', `--value=${CANARY}`], [REFERENCE, '--tenant', 'acme', '--value', CANARY]]) {
      const error = await parseArgv(put, argv).then(() => undefined, (e: unknown) => e);
      expect(error).toMatchObject({ exitCode: 2, message: 'a secret value on the command line is refused: it would stay in shell history and process listings' });
      expect(JSON.stringify(error) + String((error as Error).message) + String((error as { hint?: string }).hint)).not.toContain(CANARY);
    }
    await expect(parseArgv(put, [REFERENCE, '--tenant', 'acme', '--secret', CANARY])).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('is refused') });
    await expect(parseArgv(put, [REFERENCE, '--tenant', 'acme', '--from-stdin', '--secret'])).rejects.toMatchObject({ exitCode: 2, message: 'unknown option --secret' });
    await expect(parseArgv(rotate, ['acme', 'avalara.license_key', CANARY])).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('is refused') });
  });

  it('refuses a missing --tenant, and --resume with --abort or a value, with exit 2', async () => {
    await expect(parseArgv(put, [REFERENCE, '--from-stdin'])).rejects.toMatchObject({ exitCode: 2, message: "required option '--tenant <id>' not specified" });
    await expect(parseArgv(rotate, ['acme', 'avalara.license_key', '--resume', '--abort'])).rejects.toMatchObject({ exitCode: 2, message: '--resume and --abort take no value and exclude each other' });
    await expect(parseArgv(rotate, ['acme', 'avalara.license_key', '--resume', '--generate', '20'])).rejects.toMatchObject({ exitCode: 2 });
  });
});
