/** Exit codes of SPEC.md; only `src/cli.ts` turns them into a process exit. */
export const ExitCode = {
  ok: 0,
  failed: 1,
  badInput: 2,
  notFound: 3,
  conflict: 4,
  denied: 5,
  changes: 6,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface UserErrorOptions {
  hint?: string;
  exitCode?: ExitCodeValue;
  cause?: unknown;
}

/** Something the user can fix: printed as `error: …` and `hint: …`, never with a stack. */
export class UserError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: ExitCodeValue;

  constructor(message: string, options: UserErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCode.failed;
  }
}

export const badInput = (message: string, hint?: string): UserError =>
  new UserError(message, { hint, exitCode: ExitCode.badInput });
export const notFound = (message: string, hint?: string): UserError =>
  new UserError(message, { hint, exitCode: ExitCode.notFound });
export const conflict = (message: string, hint?: string): UserError =>
  new UserError(message, { hint, exitCode: ExitCode.conflict });
export const denied = (message: string, hint?: string): UserError =>
  new UserError(message, { hint, exitCode: ExitCode.denied });

/** The first line of an error's message (or of the thrown value as text), for one-line reports. */
export const firstLine = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
