/**
 * What a shell's TAB offers: `sovereign __complete <words…>` (the words after `sovereign`, the
 * last one the word being completed, empty after a space) prints one candidate per line, its
 * value and a tab-separated description. The shell scripts of `sovereign completion` only call
 * it and hand its lines to their shell, so every shell completes the same way.
 *
 * Commands, subcommands and options are read from the program the CLI itself builds from the
 * command registry (only the command being completed is loaded), so a new command or option
 * completes without anyone listing it here. Values come from the project at completion time:
 * the tenant ids and extension names a declared argument or option `completes` to (see
 * `Completes` in commands/define.ts). A TAB must answer at once, so nothing here opens a target:
 * tenant ids come from `completableTenantIds`, which reads without the network or an AWS client.
 */
import type { Argument, Command, Option } from 'commander';
import { buildProgram, commandPathOf } from '../cli.js';
import { COMMANDS } from '../commands/registry.js';
import { completesOf, type Completes } from '../commands/define.js';

export interface Candidate {
  value: string;
  description: string;
}

/** Where the values of tenant ids and extension names come from. */
export type ValueSource = (kind: Completes) => Promise<string[]>;

function takesValue(option: Option): boolean {
  return option.required || option.optional;
}

function optionNamed(options: readonly Option[], word: string): Option | undefined {
  return options.find((o) => o.long === word || o.short === word);
}

/** The words after the command's path that are positional arguments (not options or their values). */
function positionalWords(words: string[], path: string[], options: readonly Option[]): string[] {
  const positional: string[] = [];
  const rest = [...path];
  let afterDashes = false;
  for (let i = 0; i < words.length; i += 1) {
    const word = words[i]!;
    if (!afterDashes && word === '--') {
      afterDashes = true;
      continue;
    }
    if (!afterDashes && word.startsWith('-')) {
      const option = optionNamed(options, word);
      if (option && takesValue(option) && !word.includes('=')) i += 1;
      continue;
    }
    if (rest[0] === word) {
      rest.shift();
      continue;
    }
    positional.push(word);
  }
  return positional;
}

function longFlags(options: readonly Option[]): Candidate[] {
  return options.filter((o) => o.long !== undefined && !o.hidden).map((o) => ({ value: o.long!, description: o.description }));
}

/** Subcommands a user may type (commander's own `help` command is not offered: `--help` is). */
function visible(command: Command): Command[] {
  return command.commands.filter((c) => c.name() !== 'help');
}

/** The argument the next positional word fills: the last one again when it is variadic. */
function argumentAt(command: Command, index: number): Argument | undefined {
  const args = command.registeredArguments;
  const last = args[args.length - 1];
  if (index < args.length) return args[index];
  return last?.variadic ? last : undefined;
}

async function valuesOf(kind: Completes | undefined, choices: readonly string[] | undefined, source: ValueSource): Promise<Candidate[]> {
  if (choices) return choices.map((value) => ({ value, description: '' }));
  if (!kind) return [];
  return (await source(kind)).map((value) => ({ value, description: kind === 'tenant' ? 'tenant' : 'extension' }));
}

/** The candidates for the last of `words`, the ones that start with it. */
export async function completeWords(words: string[], source: ValueSource): Promise<Candidate[]> {
  const current = words.length > 0 ? words[words.length - 1]! : '';
  const before = words.slice(0, -1);
  const path = commandPathOf(before);
  const leaf = COMMANDS.some((entry) => entry.path.join(' ') === path.join(' '));
  // Only a command that is named in full is loaded (for its arguments and options).
  const program = await buildProgram(leaf ? path : [], () => undefined);
  let node = program;
  for (const word of path) {
    const child = node.commands.find((c) => c.name() === word);
    if (!child) break;
    node = child;
  }
  const options = node === program ? [...program.options] : [...node.options, ...program.options];
  const starting = (list: Candidate[]) => list.filter((c) => c.value.startsWith(current));

  const previous = before[before.length - 1];
  const valueFor = previous !== undefined && previous.startsWith('-') && !previous.includes('=') ? optionNamed(options, previous) : undefined;
  if (valueFor && takesValue(valueFor)) return starting(await valuesOf(completesOf(valueFor), valueFor.argChoices, source));

  if (current.startsWith('-')) return starting(longFlags(options));
  if (node.commands.length > 0) return starting(visible(node).map((c) => ({ value: c.name(), description: c.description() })));
  const given = positionalWords(before, path, options);
  const argument = argumentAt(node, given.length);
  // Every argument given: what is left to say are the command's own options (`--tenant` of `ext enable x`).
  if (!argument) return starting(longFlags(node.options));
  // A list (`tenant deploy acme …`) offers each value once.
  const values = await valuesOf(completesOf(argument), argument.argChoices, source);
  return starting(argument.variadic ? values.filter((c) => !given.includes(c.value)) : values);
}
