/**
 * A small AvaTax REST v2 client: HTTP Basic auth (`accountId:licenseKey`), retries on 429 and
 * 5xx honouring `Retry-After`, and AvaTax's error envelope turned into `AvaTaxError`.
 * Credentials are passed in by the caller; this module never reads secrets or logs them.
 */
import type { CreateTransactionModel, PingResult, TransactionResult } from '../models/transaction.js';

export interface AvaTaxClientOptions {
  baseUrl: string;
  accountId: string;
  licenseKey: string;
  /** Sent as `X-Avalara-Client` (`app; version; adapter; adapterVersion; machine`). */
  appName?: string;
  appVersion?: string;
  /** Retries on 429 / 5xx / network errors (default 6). */
  maxRetries?: number;
  /** Longest wait between two tries, in ms (default 30 s). */
  maxDelayMs?: number;
  /** Per-request timeout in ms (default 30 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

/** One entry of AvaTax's `error.details`. */
export interface AvaTaxErrorDetail {
  code?: string;
  message?: string;
  description?: string;
  faultCode?: string;
  helpLink?: string;
  severity?: string;
}

/** An AvaTax error answer (or a transport failure, with `status` 0). */
export class AvaTaxError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: AvaTaxErrorDetail[];
  readonly retryAfterSeconds: number | undefined;

  constructor(
    message: string,
    options: { status: number; code: string; details?: AvaTaxErrorDetail[]; retryAfterSeconds?: number; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AvaTaxError';
    this.status = options.status;
    this.code = options.code;
    this.details = options.details ?? [];
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

async function readError(response: Response): Promise<AvaTaxError> {
  const retryAfter = retryAfterMs(response.headers.get('retry-after'));
  const retryAfterSeconds = retryAfter === undefined ? undefined : Math.ceil(retryAfter / 1000);
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (error && typeof error === 'object') {
    return new AvaTaxError(typeof error.message === 'string' ? error.message : `AvaTax answered ${response.status}`, {
      status: response.status,
      code: typeof error.code === 'string' ? error.code : `Http${response.status}`,
      details: Array.isArray(error.details) ? (error.details as AvaTaxErrorDetail[]) : [],
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    });
  }
  return new AvaTaxError(`AvaTax answered ${response.status} ${response.statusText}`.trim(), {
    status: response.status,
    code: `Http${response.status}`,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  });
}

export interface AvaTaxClient {
  ping(): Promise<PingResult>;
  createTransaction(model: CreateTransactionModel): Promise<TransactionResult>;
}

export function createAvaTaxClient(options: AvaTaxClientOptions): AvaTaxClient {
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? defaultSleep;
  const maxRetries = options.maxRetries ?? 6;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const base = options.baseUrl.replace(/\/+$/, '');
  const authorization = `Basic ${Buffer.from(`${options.accountId}:${options.licenseKey}`).toString('base64')}`;
  const clientHeader = `${options.appName ?? 'sovereign-avalara'}; ${options.appVersion ?? '1.0.0'}; sovereign; 1.0.0; lambda`;

  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      let response: Response;
      try {
        response = await doFetch(`${base}${path}`, {
          method,
          headers: {
            authorization,
            accept: 'application/json',
            'x-avalara-client': clientHeader,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (cause) {
        if (attempt >= maxRetries) {
          throw new AvaTaxError(`AvaTax could not be reached at ${base}`, { status: 0, code: 'NetworkError', cause });
        }
        await sleep(Math.min(maxDelayMs, 100 * 2 ** attempt));
        continue;
      }
      if (response.ok) return (await response.json()) as T;
      const retryable = response.status === 429 || response.status >= 500;
      if (!retryable || attempt >= maxRetries) throw await readError(response);
      const wait = retryAfterMs(response.headers.get('retry-after')) ?? 100 * 2 ** attempt;
      await response.body?.cancel();
      await sleep(Math.min(maxDelayMs, wait));
    }
  }

  return {
    ping: () => call<PingResult>('GET', '/api/v2/utilities/ping'),
    createTransaction: (model) => call<TransactionResult>('POST', '/api/v2/transactions/create', model),
  };
}
