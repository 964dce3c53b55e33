/**
 * Secret value input at its limits, with the exact refusals a user reads: sizes at and one past
 * each limit, generated lengths at the bounds, files that cannot be read, and what counts as a
 * value source.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UserError } from '../src/errors.js';
import { assertValueFits, MAX_GENERATED_LENGTH, MAX_SSM_VALUE_BYTES, MAX_VALUE_BYTES, MIN_GENERATED_LENGTH, readSecretValue, VALUE_SOURCE_HINT } from '../src/secrets/value-input.js';
import { rejectionOf, thrownBy } from './helpers/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'sovereign-value-'));
const file = (name: string, data: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
};

async function refusal(promise: Promise<unknown>): Promise<{ message: string; hint: string | undefined }> {
  const error = await rejectionOf(promise, UserError);
  expect(error.exitCode).toBe(2);
  return { message: error.message, hint: error.hint };
}

describe('value sources', () => {
  it('exactly one source: none and two are refused with the hint; fromStdin false is no source', async () => {
    expect(VALUE_SOURCE_HINT).toBe('give the value with exactly one of --from-stdin, --from-file <file> or --generate <length>');
    expect(await refusal(readSecretValue({}))).toEqual({ message: 'no secret value given', hint: VALUE_SOURCE_HINT });
    expect(await refusal(readSecretValue({ fromStdin: false }))).toEqual({ message: 'no secret value given', hint: VALUE_SOURCE_HINT });
    expect(await refusal(readSecretValue({ fromFile: file('two.txt', 'v'), generate: 20 }))).toEqual({ message: 'more than one secret value source given', hint: VALUE_SOURCE_HINT });
    expect(await readSecretValue({ fromStdin: false, fromFile: file('one.txt', 'v') })).toEqual({ value: 'v', source: 'file' });
  });

  it(`generates from ${MIN_GENERATED_LENGTH} to ${MAX_GENERATED_LENGTH} characters, numbers or strings`, async () => {
    expect((await readSecretValue({ generate: MIN_GENERATED_LENGTH })).value).toHaveLength(MIN_GENERATED_LENGTH);
    expect((await readSecretValue({ generate: String(MAX_GENERATED_LENGTH) })).value).toHaveLength(MAX_GENERATED_LENGTH);
    for (const length of [MIN_GENERATED_LENGTH - 1, MAX_GENERATED_LENGTH + 1, '16.5', 'sixteen']) {
      expect(await refusal(readSecretValue({ generate: length }))).toEqual({ message: `--generate takes a length from ${MIN_GENERATED_LENGTH} to ${MAX_GENERATED_LENGTH}`, hint: 'e.g. --generate 48' });
    }
  });

  it('standard input up to 64 KiB, in string or byte chunks; one byte more is refused', async () => {
    expect((await readSecretValue({ fromStdin: true }, Readable.from([Buffer.alloc(MAX_VALUE_BYTES - 1, 'a'), Buffer.from('b')]))).value).toHaveLength(MAX_VALUE_BYTES);
    expect(await readSecretValue({ fromStdin: true }, Readable.from(['ab', 'c\n'], { objectMode: true }))).toEqual({ value: 'abc', source: 'stdin' });
    expect(await refusal(readSecretValue({ fromStdin: true }, Readable.from([Buffer.alloc(MAX_VALUE_BYTES, 'a'), Buffer.from('b')])))).toEqual({
      message: `the value on standard input is larger than ${MAX_VALUE_BYTES} bytes`,
      hint: undefined,
    });
  });

  it('a file up to 64 KiB; larger, missing, a folder or empty is refused naming the file', async () => {
    expect((await readSecretValue({ fromFile: file('max.txt', Buffer.alloc(MAX_VALUE_BYTES, 'a')) })).value).toHaveLength(MAX_VALUE_BYTES);
    const large = file('large.txt', Buffer.alloc(MAX_VALUE_BYTES + 1, 'a'));
    expect(await refusal(readSecretValue({ fromFile: large }))).toEqual({ message: `${large} is larger than ${MAX_VALUE_BYTES} bytes`, hint: undefined });
    const missing = join(dir, 'missing.txt');
    expect(await refusal(readSecretValue({ fromFile: missing }))).toEqual({ message: `cannot read ${missing} (ENOENT)`, hint: 'give a readable file, or use --from-stdin' });
    expect((await refusal(readSecretValue({ fromFile: dir }))).message).toBe(`cannot read ${dir} (EISDIR)`);
    const empty = file('empty.txt', '\r\n');
    expect((await refusal(readSecretValue({ fromFile: empty }))).message).toBe(`the secret value from ${empty} is empty`);
  });

  it('only one final newline is dropped: a lone carriage return stays', async () => {
    expect((await readSecretValue({ fromFile: file('cr.txt', 'v\r') })).value).toBe('v\r');
    expect((await readSecretValue({ fromFile: file('crlf.txt', 'v\r\n\r\n') })).value).toBe('v\r\n');
  });

  it('an empty standard input and a NUL are refused', async () => {
    expect((await refusal(readSecretValue({ fromStdin: true }, Readable.from([Buffer.from('')])))).message).toBe('the secret value from standard input is empty');
    expect((await refusal(readSecretValue({ fromFile: file('nul.txt', 'a\u0000b') }))).message).toBe('the secret value contains a NUL character');
  });
});

describe('assertValueFits', () => {
  it('counts bytes, not characters, against each service\'s limit', () => {
    expect(() => assertValueFits('é'.repeat(MAX_SSM_VALUE_BYTES / 2), 'ssm')).not.toThrow();
    let error = thrownBy(() => assertValueFits('é'.repeat(MAX_SSM_VALUE_BYTES / 2 + 1), 'ssm'), UserError);
    expect(error.message).toBe(`the value is ${MAX_SSM_VALUE_BYTES + 2} bytes; an SSM parameter holds at most ${MAX_SSM_VALUE_BYTES}`);
    expect(error.hint).toBe('store large values in Secrets Manager (secretsmanager:…)');
    expect(error.exitCode).toBe(2);
    expect(() => assertValueFits('a'.repeat(MAX_VALUE_BYTES), 'secretsmanager')).not.toThrow();
    error = thrownBy(() => assertValueFits('a'.repeat(MAX_VALUE_BYTES + 1), 'secretsmanager'), UserError);
    expect(error.message).toBe(`the value is ${MAX_VALUE_BYTES + 1} bytes; a Secrets Manager secret holds at most ${MAX_VALUE_BYTES}`);
    expect(error.hint).toBeUndefined();
  });
});
