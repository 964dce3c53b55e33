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

/** How to give sovereign AWS credentials. */
export const AWS_CREDENTIALS_HINT = 'sign in (aws sso login, or set AWS_PROFILE / --profile), or in CI assume a role with aws-actions/configure-aws-credentials';

/** What the machine answered when a system call failed, and what the user can do about it. */
const SYSTEM_ERRORS: Record<string, { exitCode: ExitCodeValue; hint: string }> = {
  EACCES: { exitCode: ExitCode.denied, hint: 'this user may not do that to the file or port named; check its owner and mode' },
  EPERM: { exitCode: ExitCode.denied, hint: 'this user may not do that to the file or process named' },
  EROFS: { exitCode: ExitCode.failed, hint: 'the file system is mounted read-only; run from a writable folder (-C <dir>)' },
  ENOSPC: { exitCode: ExitCode.failed, hint: 'the disk is full; free some space and run the command again (nothing was half-written)' },
  EDQUOT: { exitCode: ExitCode.failed, hint: 'the disk quota is used up; free some space and run the command again' },
  EMFILE: { exitCode: ExitCode.failed, hint: 'this process may open no more files; raise the limit (ulimit -n) and run again' },
  ENFILE: { exitCode: ExitCode.failed, hint: 'the machine may open no more files; close other programs or raise fs.file-max' },
  EADDRINUSE: { exitCode: ExitCode.conflict, hint: 'another process holds that address; stop it, or pick another port (--port)' },
  ENOTFOUND: { exitCode: ExitCode.failed, hint: 'that host name does not resolve here; check the endpoint (--endpoint-url) and the network' },
  ECONNREFUSED: { exitCode: ExitCode.failed, hint: 'nothing listens at that address; check the endpoint (--endpoint-url) or start the service' },
  ETIMEDOUT: { exitCode: ExitCode.failed, hint: 'the network did not answer in time; check the connection and the endpoint' },
};

/**
 * An error that comes from the user's environment rather than from sovereign: no AWS region, no
 * AWS credentials, or a system call the machine refused. Undefined for anything else (a bug).
 */
export function environmentError(error: unknown): UserError | undefined {
  if (error instanceof UserError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/^(Region is missing|no AWS region)$/.test(message)) {
    return new UserError('no AWS region is set', { exitCode: ExitCode.badInput, hint: 'pass --region <name>, set AWS_REGION, or set "region" in sovereign.config.json (a profile\'s region counts too)', cause: error });
  }
  if (/could not load credentials|Unable to locate credentials/i.test(message)) {
    return new UserError(`no usable AWS credentials: ${message}`, { exitCode: ExitCode.denied, hint: AWS_CREDENTIALS_HINT, cause: error });
  }
  const known = SYSTEM_ERRORS[(error as NodeJS.ErrnoException | undefined)?.code ?? ''];
  if (known) return new UserError(message, { exitCode: known.exitCode, hint: known.hint, cause: error });
  return undefined;
}
