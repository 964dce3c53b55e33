import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { assertValueFits, generateValue, MAX_VALUE_BYTES, readSecretValue } from './value-input.js';

const CANARY = 'canary-input-61c0';
const stdin = (text: string | Buffer) => Readable.from([Buffer.from(text)]);

async function refusal(promise: Promise<unknown>): Promise<UserError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(UserError);
  expect((error as UserError).exitCode).toBe(2);
  expect(`${(error as UserError).message} ${(error as UserError).hint ?? ''}`).not.toContain(CANARY);
  return error as UserError;
}

describe('readSecretValue', () => {
  it('reads standard input, dropping one trailing newline only', async () => {
    expect(await readSecretValue({ fromStdin: true }, stdin(`${CANARY}\n`))).toEqual({ value: CANARY, source: 'stdin' });
    expect((await readSecretValue({ fromStdin: true }, stdin(`${CANARY}\r\n`))).value).toBe(CANARY);
    expect((await readSecretValue({ fromStdin: true }, stdin(` ${CANARY} \n\n`))).value).toBe(` ${CANARY} \n`);
  });

  it('reads a file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'value-')), 'v.txt');
    writeFileSync(file, `${CANARY}\n`);
    expect(await readSecretValue({ fromFile: file })).toEqual({ value: CANARY, source: 'file' });
  });

  it('generates values of the asked length from A-Z a-z 0-9', async () => {
    const { value, source } = await readSecretValue({ generate: '48' });
    expect(source).toBe('generated');
    expect(value).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(generateValue(32)).not.toBe(generateValue(32));
    const counts = new Map<string, number>();
    for (const char of generateValue(62_000)) counts.set(char, (counts.get(char) ?? 0) + 1);
    expect(counts.size).toBe(62);
  });

  it('refuses no source, two sources, bad lengths, empty, NUL and oversized values without echoing them', async () => {
    await refusal(readSecretValue({}));
    await refusal(readSecretValue({ fromStdin: true, generate: 20 }, stdin(CANARY)));
    for (const length of ['8', '5000', 'x', '20.5']) await refusal(readSecretValue({ generate: length }));
    await refusal(readSecretValue({ fromStdin: true }, stdin('\n')));
    await refusal(readSecretValue({ fromStdin: true }, stdin(`${CANARY}\u0000`)));
    await refusal(readSecretValue({ fromStdin: true }, stdin(Buffer.alloc(MAX_VALUE_BYTES + 1, 'a'))));
    await refusal(readSecretValue({ fromFile: join(tmpdir(), 'does-not-exist-61c0') }));
  });

  it('refuses values larger than the target service holds', () => {
    expect(() => assertValueFits('a'.repeat(4096), 'ssm')).not.toThrow();
    expect(() => assertValueFits('a'.repeat(4097), 'ssm')).toThrow(/at most 4096/);
    expect(() => assertValueFits('a'.repeat(4097), 'secretsmanager')).not.toThrow();
  });
});
