/**
 * Errors of the runtime. Each carries the HTTP status it maps to when it escapes a request, and
 * none ever holds a secret value in its message.
 */

/** Base class: `status` is the HTTP status the runtime answers with when this error escapes. */
export class RuntimeError extends Error {
  readonly status: number;
  constructor(message: string, status: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RuntimeError';
    this.status = status;
  }
}

/** The runtime's environment or tenant configuration is unusable; every request answers 500. */
export class RuntimeConfigError extends RuntimeError {
  readonly problems: string[];
  constructor(problems: string[], options?: { cause?: unknown }) {
    super(`runtime misconfigured: ${problems.join('; ')}`, 500, options);
    this.name = 'RuntimeConfigError';
    this.problems = problems;
  }
}

/** `ctx.secrets.get(key)` for a key the extension's manifest does not declare. */
export class UndeclaredSecretError extends RuntimeError {
  constructor(extension: string, key: string) {
    super(`extension "${extension}" does not declare the secret key "${key}"`, 500);
    this.name = 'UndeclaredSecretError';
  }
}

/** A declared key the tenant has no reference for. */
export class SecretNotConfiguredError extends RuntimeError {
  constructor(extension: string, key: string) {
    super(`tenant has no reference for secret "${extension}.${key}"`, 503);
    this.name = 'SecretNotConfiguredError';
  }
}

/** The reference's target (or its JSON key) does not exist. */
export class SecretNotFoundError extends RuntimeError {
  constructor(reference: string, options?: { cause?: unknown; detail?: string }) {
    super(`secret ${reference} not found${options?.detail ? ` (${options.detail})` : ''}`, 503, options);
    this.name = 'SecretNotFoundError';
  }
}

/** The runtime's role may not read the reference's target. */
export class SecretAccessDeniedError extends RuntimeError {
  constructor(reference: string, options?: { cause?: unknown }) {
    super(`access to secret ${reference} denied`, 503, options);
    this.name = 'SecretAccessDeniedError';
  }
}

/**
 * No usable value: the backend failed and there is no cached value, or the cached one is older
 * than the maximum staleness allowed.
 */
export class SecretUnavailableError extends RuntimeError {
  constructor(key: string, options?: { cause?: unknown; staleMs?: number }) {
    super(
      options?.staleMs === undefined
        ? `secret ${key} is unavailable`
        : `secret ${key} is unavailable (cached value ${Math.round(options.staleMs / 1000)} s past its TTL, beyond the allowed staleness)`,
      503,
      options,
    );
    this.name = 'SecretUnavailableError';
  }
}

/** An HTTP API walked by `ctx.paginate()` kept failing or answered an unexpected status. */
export class PaginationError extends RuntimeError {
  readonly upstreamStatus: number | undefined;
  constructor(message: string, upstreamStatus?: number, options?: { cause?: unknown }) {
    super(message, 502, options);
    this.name = 'PaginationError';
    this.upstreamStatus = upstreamStatus;
  }
}

/** An error as one log field: its name and message, never its stack. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
