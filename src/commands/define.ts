/**
 * One declaration per command: its positional arguments and options, each with its flags,
 * description, default and zod schema. The declaration registers them on commander (which keeps
 * tokenising argv, help and suggestions) and parses commander's values once, so a command's `run`
 * receives a typed input and never reads or casts raw options.
 */
import { Command, CommanderError, Option } from 'commander';
import { z } from 'zod';
import { badInput, UserError } from '../errors.js';
import type { CommandContext, CommandModule } from './types.js';
import { usageError } from './usage-error.js';

/** A positional argument: commander's syntax (`<id>`, `[dir]`, `[id...]`) and the schema of its value. */
export interface ArgumentSpec<S extends z.ZodType = z.ZodType> {
  syntax: string;
  description: string;
  schema: S;
}

/** An option: commander's flags (`--tier <tier>`, `-f, --follow`, `--no-deploy`) and the schema of its value. */
export interface OptionSpec<S extends z.ZodType = z.ZodType> {
  flags: string;
  description: string;
  schema: S;
  /** Commander's default, shown in --help as `(default: …)`; the schema parses it like a given value. */
  default?: string;
  /** Commander refuses the option when it is missing (`required option '--tenant <id>' not specified`). */
  required?: boolean;
  /** Repeatable: every use appends its value (`--wave a --wave b,c` → `['a', 'b,c']`). */
  repeatable?: boolean;
}

type Arguments = Record<string, ArgumentSpec>;
type Options = Record<string, OptionSpec>;
type Parsed<T extends Record<string, { schema: z.ZodType }>> = { [K in keyof T]: z.output<T[K]['schema']> };
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The typed values of a declaration's arguments and options, by the keys they are declared under. */
export type Fields<A extends Arguments, O extends Options> = Simplify<Parsed<A> & Parsed<O>>;

/** What a command declares: everything `sovereign <command> --help` shows, and how to run it. */
export interface CommandDeclaration<A extends Arguments, O extends Options, I> {
  /** Shown under "Examples:" in --help; at least one. */
  examples: string[];
  /** Replaces the registry's one-line summary in this command's own --help. */
  description?: string;
  /** Text after the options in --help. */
  help?: string;
  /** Positional arguments, in order. */
  arguments?: A;
  options?: O;
  /**
   * Commander behaviour a declaration does not cover (an argv policy such as `refuseValuesOnArgv`).
   * Whatever it adds is not part of the input.
   */
  configure?: (command: Command) => void;
  /** Rules across fields (one excludes another): throws `badInput`, returns the input `run` receives. */
  refine?: (fields: Fields<A, O>) => I;
  run(ctx: CommandContext, input: I): Promise<void>;
}

/** A positional argument of `schema` (`<id>` required, `[dir]` optional, `[id...]` a list). */
export function arg<S extends z.ZodType>(syntax: string, description: string, schema: S): ArgumentSpec<S> {
  return { syntax, description, schema };
}

/** An option of `schema`; `extra` adds a default, makes it required or repeatable. */
export function option<S extends z.ZodType>(flags: string, description: string, schema: S, extra: Pick<OptionSpec, 'default' | 'required' | 'repeatable'> = {}): OptionSpec<S> {
  return { flags, description, schema, ...extra };
}

/** A boolean switch (`--all`): false unless given. */
export function flag(flags: string, description: string): OptionSpec<z.ZodDefault<z.ZodBoolean>> {
  return option(flags, description, z.boolean().default(false));
}

/**
 * A schema issue that reads as an `error:` line with its `hint:` line. Custom issues carry the
 * hint in `params`, where `toUserError` finds it.
 */
export function issue(ctx: { issues: z.core.$ZodRawIssue[] }, input: unknown, message: string, hint?: string): void {
  ctx.issues.push({ code: 'custom', message, input, ...(hint === undefined ? {} : { params: { hint } }) });
}

/**
 * Text parsed by a domain parser that throws a `UserError` (`parseWindowMinutes`,
 * `assertTenantId`): its message and hint become the issue, so the parser stays the one place the
 * rule is written.
 */
export function parsedBy<T>(parse: (text: string) => T) {
  return z.string().transform((text, ctx): T => {
    try {
      return parse(text);
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      issue(ctx, text, error.message, error.hint);
      return z.NEVER;
    }
  });
}

/** The choices commander offers and checks, when the schema is an enum (optional or defaulted). */
function choicesOf(schema: z.ZodType): string[] | undefined {
  let inner: z.ZodType = schema;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) inner = inner.unwrap() as z.ZodType;
  return inner instanceof z.ZodEnum ? inner.options.map(String) : undefined;
}

function commanderOption(spec: OptionSpec): Option {
  const option = new Option(spec.flags, spec.description);
  const choices = choicesOf(spec.schema);
  if (choices) option.choices(choices);
  if (spec.default !== undefined) option.default(spec.default);
  if (spec.required) option.makeOptionMandatory();
  if (spec.repeatable) option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
  return option;
}

/** How a field is named in an error: the option's long flag, or the argument's name. */
function labelOf(spec: ArgumentSpec | OptionSpec): string {
  if ('flags' in spec) return new Option(spec.flags).long ?? spec.flags;
  return spec.syntax.replace(/^[<[]|\.\.\.|[>\]]$/g, '');
}

/**
 * The first issue as one `error:` line: the schema's own message (named after the field when it
 * does not say which), with the hint a custom issue carries; zod's own messages get a usage hint.
 */
function toUserError(label: string, error: z.ZodError): UserError {
  const first = error.issues[0];
  const message = first?.message ?? z.prettifyError(error);
  const named = message.includes(label) ? message : `${label}: ${message}`;
  if (first?.code !== 'custom') return badInput(named, 'run with --help to see the usage');
  return badInput(named, typeof first.params?.hint === 'string' ? first.params.hint : undefined);
}

function parseField(spec: ArgumentSpec | OptionSpec, value: unknown): unknown {
  const result = spec.schema.safeParse(value);
  if (!result.success) throw toUserError(labelOf(spec), result.error);
  return result.data;
}

/**
 * Declares a command: `configure` registers its arguments and options on commander, `parse`
 * turns commander's values into the typed input (a `badInput` error, exit 2, when one does not
 * pass its schema), and `run` receives that input.
 */
export function defineCommand<A extends Arguments = {}, O extends Options = {}, I = Fields<A, O>>(declaration: CommandDeclaration<A, O, I>): CommandModule<I> {
  const args: Array<[string, ArgumentSpec]> = Object.entries(declaration.arguments ?? {});
  const options: Array<[string, OptionSpec]> = Object.entries(declaration.options ?? {});
  return {
    examples: declaration.examples,
    configure(command) {
      if (declaration.description !== undefined) command.description(declaration.description);
      for (const [, spec] of args) command.argument(spec.syntax, spec.description);
      for (const [, spec] of options) command.addOption(commanderOption(spec));
      if (declaration.help !== undefined) command.addHelpText('after', declaration.help);
      declaration.configure?.(command);
    },
    parse(command) {
      const values: Record<string, unknown> = {};
      args.forEach(([key, spec], i) => (values[key] = parseField(spec, command.processedArgs[i])));
      const given = command.opts<Record<string, unknown>>();
      for (const [key, spec] of options) values[key] = parseField(spec, given[new Option(spec.flags).attributeName()]);
      // The values passed their schemas, so they are the fields the declaration describes.
      const fields = values as Fields<A, O>;
      return declaration.refine ? declaration.refine(fields) : (fields as I);
    },
    run: (ctx, input) => declaration.run(ctx, input),
  };
}

/**
 * Parses `argv` (the words after the command's name) the way `sovereign` does, without running
 * anything: the typed input, or the `UserError` (exit 2) the CLI would print. For tests.
 */
export async function parseArgv<I>(module: CommandModule<I>, argv: string[]): Promise<I> {
  const command = new Command('command').exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  module.configure(command);
  command.action(() => undefined);
  try {
    await command.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) throw usageError(error);
    throw error;
  }
  return module.parse(command);
}
