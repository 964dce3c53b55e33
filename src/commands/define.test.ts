import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { badInput } from '../errors.js';
import { arg, bool, defineCommand, flag, oneOf, option, optional, optionalText, parseArgv, parsedBy, schema, text, type Schema } from './define.js';

const example = defineCommand({
  examples: ['sovereign example a'],
  arguments: { name: arg('<name>', 'a name', text), rest: arg('[rest...]', 'more', schema((z) => z.array(z.string()))) },
  options: {
    colour: option('--colour <colour>', 'a colour', oneOf(['red', 'blue']), { default: 'red' }),
    count: option('--count <n>', 'a count', schema((z) => z.coerce.number().int())),
    loud: flag('-l, --loud', 'shout'),
  },
  run: async () => undefined,
});

describe('defineCommand', () => {
  it('infers the input from the declaration', async () => {
    const input = await parseArgv(example, ['a', 'b', 'c', '--count', '3', '-l']);
    expectTypeOf(input).toEqualTypeOf<{ name: string; rest: string[]; colour: 'red' | 'blue'; count: number; loud: boolean }>();
    expect(input).toEqual({ name: 'a', rest: ['b', 'c'], colour: 'red', count: 3, loud: true });
  });

  it('lets commander check an enum\'s choices, and names the field in zod\'s own messages', async () => {
    await expect(parseArgv(example, ['a', '--count', '1', '--colour', 'green'])).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/argument 'green' is invalid\. Allowed choices are red, blue/) });
    await expect(parseArgv(example, ['a', '--count', 'x'])).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/^--count: /), hint: 'run with --help to see the usage' });
  });
});

describe('schemas checked without zod', () => {
  const upper = parsedBy((value) => {
    if (value !== value.toLowerCase()) throw badInput(`"${value}" has upper-case letters`, 'use lower case');
    return value.length;
  });
  const cases: Array<[string, Schema, unknown[]]> = [
    ['text', text, ['', 'a', ' b ', undefined, true, ['a']]],
    ['optionalText', optionalText, ['', 'a', undefined, false, ['a']]],
    ['flag', flag('--all', 'all').schema, [true, false, undefined, 'true']],
    ['bool', bool, [true, false, undefined, 'false']],
    ['parsedBy', upper, ['abc', 'ABC', '', undefined, 1]],
    ['optional(parsedBy)', optional(upper), ['abc', 'ABC', undefined, 1]],
  ];

  it.each(cases)('%s: accepts only what zod accepts, with the same value or the same error', (_name, schema, values) => {
    const zodSchema = schema(z);
    for (const value of values) {
      const expected = zodSchema.safeParse(value);
      let plain: { value: unknown } | undefined;
      let thrown: unknown;
      try {
        plain = schema.plain?.(value);
      } catch (error) {
        thrown = error;
      }
      if (thrown !== undefined) {
        // The plain check refused it: zod refuses it with the same custom issue.
        expect(expected.success).toBe(false);
        const issue = expected.error?.issues[0];
        expect(issue?.code).toBe('custom');
        expect(thrown).toMatchObject({ message: issue?.message, hint: issue?.code === 'custom' ? issue.params?.hint : undefined });
      } else if (plain) {
        expect(expected).toMatchObject({ success: true, data: plain.value });
      }
      // Left to zod otherwise: whatever zod says stands.
    }
  });

  it('loads zod only for a value a plain check leaves to it', async () => {
    const plainOnly = defineCommand({ examples: ['x'], arguments: { name: arg('<name>', 'a name', text) }, options: { all: flag('--all', 'all') }, run: async () => undefined });
    await expect(parseArgv(plainOnly, ['a', '--all'])).resolves.toEqual({ name: 'a', all: true });
    let built = 0;
    const counted = defineCommand({ examples: ['x'], arguments: { n: arg('<n>', 'a number', schema((zod) => (built++, zod.coerce.number()))) }, run: async () => undefined });
    await expect(parseArgv(counted, ['7'])).resolves.toEqual({ n: 7 });
    await expect(parseArgv(counted, ['8'])).resolves.toEqual({ n: 8 });
    expect(built).toBe(1);
  });
});
