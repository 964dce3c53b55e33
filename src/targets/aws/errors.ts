/**
 * AWS errors as the user sees them: missing or expired credentials and AccessDenied become exit 5
 * with a hint; throttling is recognised for backoff. Messages carry the AWS error text only —
 * never request parameters, which could hold data.
 */
import { AWS_CREDENTIALS_HINT, environmentError, ExitCode, UserError } from '../../errors.js';

export interface AwsErrorShape {
  name?: string;
  message?: string;
  Code?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
}

function codeOf(error: unknown): string {
  const e = (error ?? {}) as AwsErrorShape;
  return String(e.name ?? e.Code ?? e.code ?? '');
}

/** The error's AWS code (`AccessDeniedException`, `ThrottlingException`…), `Error` when it has none. */
export function awsErrorCode(error: unknown): string {
  return codeOf(error) || 'Error';
}

const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'TokenRefreshRequired',
  'InvalidAccessKeyId',
  'MissingAuthenticationToken',
]);

const DENIED_ERRORS = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError', 'Forbidden']);

const THROTTLING_ERRORS = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
  'LimitExceededException',
]);

export function isCredentialsError(error: unknown): boolean {
  return CREDENTIAL_ERRORS.has(codeOf(error)) || /could not load credentials|Unable to locate credentials/i.test((error as Error | undefined)?.message ?? '');
}

export function isAccessDenied(error: unknown): boolean {
  return DENIED_ERRORS.has(codeOf(error)) || (error as AwsErrorShape | undefined)?.$metadata?.httpStatusCode === 403;
}

/**
 * Throttling, including CloudFormation's `Throttling` and the "Rate exceeded" 400s some services
 * answer with. `LimitExceededException` of CloudFormation is a quota, not a rate: not retried.
 */
export function isThrottling(error: unknown): boolean {
  const code = codeOf(error);
  if (code === 'LimitExceededException') return /rate exceeded/i.test((error as Error).message ?? '');
  return THROTTLING_ERRORS.has(code) || /rate exceeded/i.test((error as Error | undefined)?.message ?? '');
}

/** CloudFormation's "Stack with id X does not exist". */
export function isStackMissing(error: unknown): boolean {
  return codeOf(error) === 'ValidationError' && /does not exist/i.test((error as Error).message ?? '');
}

/**
 * Turns credential and permission failures into exit 5 with a hint; anything else is returned
 * unchanged for the caller to wrap or rethrow.
 */
export function explainAwsError(error: unknown, doing: string): unknown {
  if (error instanceof UserError) return error;
  const message = (error as Error | undefined)?.message ?? String(error);
  const environment = environmentError(error);
  if (environment?.exitCode === ExitCode.badInput) return new UserError(`${environment.message} for ${doing}`, { exitCode: environment.exitCode, hint: environment.hint, cause: error });
  if (isCredentialsError(error)) {
    return new UserError(`no usable AWS credentials while ${doing}: ${message}`, {
      exitCode: ExitCode.denied,
      hint: AWS_CREDENTIALS_HINT,
      cause: error,
    });
  }
  if (isAccessDenied(error)) {
    return new UserError(`AWS denied ${doing}: ${message}`, {
      exitCode: ExitCode.denied,
      hint: 'check that the role you act as may do this (see docs/aws.md for the permissions sovereign needs)',
      cause: error,
    });
  }
  return error;
}

/** A backend failure the user cannot fix by changing input: exit 1, the AWS message kept. */
export function awsFailure(error: unknown, doing: string): UserError {
  const explained = explainAwsError(error, doing);
  if (explained instanceof UserError) return explained;
  const message = (error as Error | undefined)?.message ?? String(error);
  return new UserError(`${doing} failed: ${message}`, { exitCode: ExitCode.failed, cause: error });
}

export type Sleep = (ms: number) => Promise<void>;
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export interface BackoffOptions {
  /** Attempts in total (default 8). */
  attempts?: number;
  /** First delay (default 500 ms), doubled each time up to `maxDelayMs`, with full jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: Sleep;
  random?: () => number;
  /** Told before each wait, for a progress line. */
  onRetry?: (attempt: number, delayMs: number, error: unknown) => void;
}

/**
 * Calls `fn` again after a jittered, growing delay while it fails with throttling. On top of the
 * SDK's adaptive retry: a fleet deploy of many stacks can exhaust that and still be fine a
 * minute later.
 */
export async function withBackoff<T>(fn: () => Promise<T>, options: BackoffOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 8;
  const base = options.baseDelayMs ?? 500;
  const max = options.maxDelayMs ?? 20_000;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn();
    } catch (error) {
      if (!isThrottling(error) || attempt >= attempts) throw error;
      const delay = Math.round(random() * Math.min(max, base * 2 ** (attempt - 1)));
      options.onRetry?.(attempt, delay, error);
      await sleep(delay);
    }
  }
}
