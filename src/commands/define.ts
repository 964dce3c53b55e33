/**
 * One declaration per command: its positional arguments and options, each with its flags,
 * description, default and zod schema. The declaration registers them on commander (which keeps
 * tokenising argv, help and suggestions) and parses commander's values once, so a command's `run`
 * receives a typed input and never reads or casts raw options.
 *
 * A schema is declared as a function of zod (`(z) => z.string().optional()`) and built on the
 * first parse, so a declaration loads no zod: `--help` never does, and neither does a command whose
 * values are all plain text or switches (`text`, `optionalText`, `flag`), which are checked here
 * directly. zod is ~95 modules (its locales), a fifth of a read-only command's start.
 */
import { Argument, Command, CommanderError, Option } from 'commander';
import type { z } from 'zod';
import { badInput, UserError, type ExitCodeValue } from '../errors.js';
import type { CommandContext, CommandModule } from './types.js';
import { usageError } from './usage-error.js';

type Zod = typeof z;

/**
 * A field's zod schema, built from zod when first needed. `choices` are the values commander
 * offers and checks (see `oneOf`). `plain` checks a value without zod: it returns the value zod
 * would return, throws the `UserError` zod's issue would carry, or returns undefined to leave the
 * value to zod.
 */
export type Schema<S extends z.ZodType = z.ZodType> = ((zod: Zod) => S) & {
  readonly choices?: readonly string[];
  readonly plain?: (value: unknown) => { value: unknown } | undefined;
};

/**
 * What a shell completion offers for a value (`sovereign completion`): the project's existing
 * tenant ids or extension names. A value without it (a new tenant's id, a file) offers nothing.
 */
export type Completes = 'tenant' | 'extension';

/** A positional argument: commander's syntax (`<id>`, `[dir]`, `[id...]`) and the schema of its value. */
export interface ArgumentSpec<S extends z.ZodType = z.ZodType> {
  syntax: string;
  description: string;
  schema: Schema<S>;
  completes?: Completes;
}

/** An option: commander's flags (`--tier <tier>`, `-f, --follow`, `--no-deploy`) and the schema of its value. */
export interface OptionSpec<S extends z.ZodType = z.ZodType> {
  flags: string;
  description: string;
  schema: Schema<S>;
  /** Commander's default, shown in --help as `(default: …)`; the schema parses it like a given value. */
  default?: string;
  /** Commander refuses the option when it is missing (`required option '--tenant <id>' not specified`). */
  required?: boolean;
  /** Repeatable: every use appends its value (`--wave a --wave b,c` → `['a', 'b,c']`). */
  repeatable?: boolean;
  completes?: Completes;
}

type Arguments = Record<string, ArgumentSpec>;
type Options = Record<string, OptionSpec>;
type Parsed<T extends Record<string, { schema: Schema }>> = { [K in keyof T]: z.output<ReturnType<T[K]['schema']>> };
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
  /** Resolves with the exit code when the result is not success (`diff --exit-code`: 6). */
  run(ctx: CommandContext, input: I): Promise<ExitCodeValue | void>;
  /** Runs on a project whose config does not load (see `CommandModule.diagnoses`). */
  diagnoses?: boolean;
}

/** A schema of zod, declared without loading zod (see the module's comment). */
export function schema<S extends z.ZodType>(build: (zod: Zod) => S): Schema<S> {
  return build;
}

/** Any text: `z.string()`. */
export const text: Schema<z.ZodString> = Object.assign((zod: Zod) => zod.string(), {
  plain: (value: unknown) => (typeof value === 'string' ? { value } : undefined),
});

/** `inner`, or nothing: `inner.optional()`. */
export function optional<S extends z.ZodType>(inner: Schema<S>): Schema<z.ZodOptional<S>> {
  const plain = inner.plain;
  return Object.assign((zod: Zod) => inner(zod).optional(), {
    ...(inner.choices ? { choices: inner.choices } : {}),
    plain: (value: unknown) => (value === undefined ? { value } : plain?.(value)),
  });
}

/** Text or nothing: `z.string().optional()`. */
export const optionalText = optional(text);

/** One of `values`, which commander offers in --help and checks: `z.enum(values)`. */
export function oneOf<const V extends readonly [string, ...string[]]>(values: V): Schema<z.ZodEnum<{ [K in V[number]]: K }>> {
  return Object.assign((zod: Zod) => zod.enum(values), { choices: values });
}

/** A positional argument of `schema` (`<id>` required, `[dir]` optional, `[id...]` a list). */
export function arg<S extends z.ZodType>(syntax: string, description: string, schema: Schema<S>, completes?: Completes): ArgumentSpec<S> {
  return { syntax, description, schema, ...(completes ? { completes } : {}) };
}

/** An option of `schema`; `extra` adds a default, makes it required or repeatable. */
export function option<S extends z.ZodType>(flags: string, description: string, schema: Schema<S>, extra: Pick<OptionSpec, 'default' | 'required' | 'repeatable' | 'completes'> = {}): OptionSpec<S> {
  return { flags, description, schema, ...extra };
}

const booleanSwitch: Schema<z.ZodDefault<z.ZodBoolean>> = Object.assign((zod: Zod) => zod.boolean().default(false), {
  plain: (value: unknown) => (typeof value === 'boolean' ? { value } : value === undefined ? { value: false } : undefined),
});

/** A boolean commander always sets, such as `--no-deploy`'s (true unless given): `z.boolean()`. */
export const bool: Schema<z.ZodBoolean> = Object.assign((zod: Zod) => zod.boolean(), {
  plain: (value: unknown) => (typeof value === 'boolean' ? { value } : undefined),
});

/** A boolean switch (`--all`): false unless given. */
export function flag(flags: string, description: string): OptionSpec<z.ZodDefault<z.ZodBoolean>> {
  return option(flags, description, booleanSwitch);
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
 * rule is written. Checked without zod: the parser is the whole schema.
 */
export function parsedBy<T>(parse: (text: string) => T): Schema<z.ZodPipe<z.ZodString, z.ZodTransform<Awaited<T>, string>>> {
  return Object.assign(
    (zod: Zod) =>
      zod.string().transform((text, ctx): T => {
        try {
          return parse(text);
        } catch (error) {
          if (!(error instanceof UserError)) throw error;
          issue(ctx, text, error.message, error.hint);
          return zod.NEVER;
        }
      }),
    { plain: (value: unknown) => (typeof value === 'string' ? { value: parse(value) } : undefined) },
  );
}

/** What each registered argument and option completes to, for `sovereign completion`. */
const completions = new WeakMap<Argument | Option, Completes>();

/** What a shell completion offers for this argument's or option's value, if anything. */
export function completesOf(item: Argument | Option): Completes | undefined {
  return completions.get(item);
}

function commanderOption(spec: OptionSpec): Option {
  const option = new Option(spec.flags, spec.description);
  if (spec.completes) completions.set(option, spec.completes);
  if (spec.schema.choices) option.choices(spec.schema.choices);
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

/** An `error:` line that names the field when the message does not say which. */
function named(label: string, message: string, hint: string | undefined): UserError {
  return badInput(message.includes(label) ? message : `${label}: ${message}`, hint);
}

/**
 * The first issue as one `error:` line: the schema's own message (named after the field), with
 * the hint a custom issue carries; zod's own messages get a usage hint.
 */
function toUserError(zod: Zod, label: string, error: z.ZodError): UserError {
  const first = error.issues[0];
  const message = first?.message ?? zod.prettifyError(error);
  if (first?.code !== 'custom') return named(label, message, 'run with --help to see the usage');
  return named(label, message, typeof first.params?.hint === 'string' ? first.params.hint : undefined);
}

/** zod, imported on the first parse that needs it, and each schema built once. */
let loadedZod: Zod | undefined;
const built = new WeakMap<Schema, z.ZodType>();

async function parseField(spec: ArgumentSpec | OptionSpec, value: unknown): Promise<unknown> {
  const label = labelOf(spec);
  let plain: { value: unknown } | undefined;
  try {
    plain = spec.schema.plain?.(value);
  } catch (error) {
    if (error instanceof UserError) throw named(label, error.message, error.hint);
    throw error;
  }
  if (plain) return plain.value;
  loadedZod ??= (await import('zod')).z;
  const zod = loadedZod;
  let schema = built.get(spec.schema);
  if (!schema) built.set(spec.schema, (schema = spec.schema(zod)));
  const result = schema.safeParse(value);
  if (!result.success) throw toUserError(zod, label, result.error);
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
      for (const [, spec] of args) {
        const argument = new Argument(spec.syntax, spec.description);
        if (spec.completes) completions.set(argument, spec.completes);
        command.addArgument(argument);
      }
      for (const [, spec] of options) command.addOption(commanderOption(spec));
      if (declaration.help !== undefined) command.addHelpText('after', declaration.help);
      declaration.configure?.(command);
    },
    async parse(command) {
      const values: Record<string, unknown> = {};
      for (const [i, [key, spec]] of args.entries()) values[key] = await parseField(spec, command.processedArgs[i]);
      const given = command.opts<Record<string, unknown>>();
      for (const [key, spec] of options) values[key] = await parseField(spec, given[new Option(spec.flags).attributeName()]);
      // The values passed their schemas, so they are the fields the declaration describes.
      const fields = values as Fields<A, O>;
      return declaration.refine ? declaration.refine(fields) : (fields as I);
    },
    run: (ctx, input) => declaration.run(ctx, input),
    ...(declaration.diagnoses ? { diagnoses: true } : {}),
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
  return await module.parse(command);
}
