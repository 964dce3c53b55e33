import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { arg, defineCommand, flag, option, parseArgv } from './define.js';

const example = defineCommand({
  examples: ['sovereign example a'],
  arguments: { name: arg('<name>', 'a name', z.string()), rest: arg('[rest...]', 'more', z.array(z.string())) },
  options: {
    colour: option('--colour <colour>', 'a colour', z.enum(['red', 'blue']).default('red')),
    count: option('--count <n>', 'a count', z.coerce.number().int()),
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
