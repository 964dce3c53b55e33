import type { Command } from 'commander';
import type { ExitCodeValue } from '../errors.js';
import type { Output } from '../output/output.js';
import type { Project } from '../project.js';
import type { StateStore } from '../state/store.js';
import type { Target, TargetName } from '../targets/target.js';

/** Global options of SPEC.md, resolved: default < config file < environment < flag. */
export interface GlobalOptions {
  json: boolean;
  target: TargetName;
  stage: string;
  profile: string | undefined;
  region: string | undefined;
  endpointUrl: string | undefined;
  yes: boolean;
  color: boolean;
  verbose: boolean;
  cwd: string;
}

/** What every command's `run` receives: resolved options, output, and lazy project access. */
export interface CommandContext {
  globals: GlobalOptions;
  out: Output;
  /** The project around `--cwd` (loaded once; throws exit 3 when there is none). */
  project(): Project;
  /** The project's target (`local` or `aws`), chosen once from config, environment and flags. */
  target(): Target;
  /** The target's state: tenant registry, audit log, lock (`target().state()`). */
  state(): StateStore;
  /**
   * Asks before a destructive step: true with --yes; a prompt on a TTY; without a TTY fails with
   * exit 2 naming the flag.
   */
  confirm(question: string): Promise<boolean>;
  /** Whether {@link confirm} can get an answer (--yes, or a terminal to ask on). */
  canConfirm(): boolean;
}

/**
 * One command, as `defineCommand` builds it from the command file's declaration: `configure`
 * registers its arguments and options on commander, `parse` reads commander's values into the
 * typed input (exit 2 when one is invalid), `run` receives that input.
 */
export interface CommandModule<Input = unknown> {
  /** Shown under "Examples:" in --help; at least one. */
  examples: string[];
  /** Declares arguments and options on the (already named and described) command. */
  configure(command: Command): void;
  /** The typed input from the values commander parsed; throws `badInput` (exit 2). */
  parse(command: Command): Promise<Input>;
  /** Resolves with the exit code when a result is not success (`diff --exit-code`: 6); else 0. */
  run(ctx: CommandContext, input: Input): Promise<ExitCodeValue | void>;
  /**
   * Runs on a project whose config does not load (`doctor` reports it): the global options then
   * fall back to their defaults, environment and flags, and `project()` throws the config's error.
   */
  readonly diagnoses?: boolean;
}

/** Options every AWS-touching command shares, for a deep link between flags and env. */
export const GLOBAL_ENV = {
  json: 'SOVEREIGN_JSON',
  target: 'SOVEREIGN_TARGET',
  stage: 'SOVEREIGN_STAGE',
  profile: 'SOVEREIGN_PROFILE',
  region: 'SOVEREIGN_REGION',
  endpointUrl: 'SOVEREIGN_ENDPOINT_URL',
  yes: 'SOVEREIGN_YES',
  verbose: 'SOVEREIGN_VERBOSE',
  cwd: 'SOVEREIGN_CWD',
} as const;
