/**
 * Where a secret value comes from: standard input, a file, or generated here. Never argv: a value
 * on the command line lands in shell history and in every `ps` listing.
 */
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { badInput } from '../errors.js';

/** Secrets Manager's limit (64 KiB); SSM SecureString standard parameters hold 4 KiB. */
export const MAX_VALUE_BYTES = 65_536;
export const MAX_SSM_VALUE_BYTES = 4096;
export const MIN_GENERATED_LENGTH = 16;
export const MAX_GENERATED_LENGTH = 4096;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export interface ValueSourceOptions {
  fromStdin?: boolean;
  fromFile?: string;
  /** Length of a generated value (characters of A-Z a-z 0-9). */
  generate?: string | number;
}

export interface ValueInput {
  value: string;
  source: 'stdin' | 'file' | 'generated';
}

export const VALUE_SOURCE_HINT = 'give the value with exactly one of --from-stdin, --from-file <file> or --generate <length>';

/** A random value of `length` characters from A-Z a-z 0-9 (uniform: `randomInt` rejects bias). */
export function generateValue(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_VALUE_BYTES) throw badInput(`the value on standard input is larger than ${MAX_VALUE_BYTES} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** Drops one trailing newline (`echo`, editors), nothing else: other whitespace may be part of the value. */
function withoutFinalNewline(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n')) return text.slice(0, -1);
  return text;
}

/**
 * Reads the value from the one source given. Errors never contain the value.
 */
export async function readSecretValue(options: ValueSourceOptions, stdin: Readable = process.stdin): Promise<ValueInput> {
  const given = [options.fromStdin === true, options.fromFile !== undefined, options.generate !== undefined].filter(Boolean).length;
  if (given !== 1) throw badInput(given === 0 ? 'no secret value given' : 'more than one secret value source given', VALUE_SOURCE_HINT);
  let input: ValueInput;
  if (options.generate !== undefined) {
    const length = Number(options.generate);
    if (!Number.isInteger(length) || length < MIN_GENERATED_LENGTH || length > MAX_GENERATED_LENGTH) {
      throw badInput(`--generate takes a length from ${MIN_GENERATED_LENGTH} to ${MAX_GENERATED_LENGTH}`, 'e.g. --generate 48');
    }
    input = { value: generateValue(length), source: 'generated' };
  } else if (options.fromFile !== undefined) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(options.fromFile);
    } catch (error) {
      throw badInput(`cannot read ${options.fromFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, 'give a readable file, or use --from-stdin');
    }
    if (bytes.length > MAX_VALUE_BYTES) throw badInput(`${options.fromFile} is larger than ${MAX_VALUE_BYTES} bytes`);
    input = { value: withoutFinalNewline(bytes.toString('utf8')), source: 'file' };
  } else {
    input = { value: withoutFinalNewline((await readAll(stdin)).toString('utf8')), source: 'stdin' };
  }
  if (input.value.length === 0) throw badInput(`the secret value from ${input.source === 'file' ? options.fromFile : 'standard input'} is empty`);
  if (input.value.includes('\u0000')) throw badInput('the secret value contains a NUL character');
  return input;
}

/** Refuses a value too large for the service it goes to. */
export function assertValueFits(value: string, service: 'ssm' | 'secretsmanager'): void {
  const bytes = Buffer.byteLength(value);
  const limit = service === 'ssm' ? MAX_SSM_VALUE_BYTES : MAX_VALUE_BYTES;
  if (bytes > limit) {
    throw badInput(`the value is ${bytes} bytes; ${service === 'ssm' ? 'an SSM parameter' : 'a Secrets Manager secret'} holds at most ${limit}`,
      service === 'ssm' ? 'store large values in Secrets Manager (secretsmanager:…)' : undefined);
  }
}
