/**
 * A small AvaTax REST v2 client: HTTP Basic auth (`accountId:licenseKey`), retries on 429 and
 * 5xx honouring `Retry-After`, and AvaTax's error envelope turned into `AvaTaxError`.
 * Credentials are passed in by the caller; this module never reads secrets or logs them.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { CreateTransactionModel, PingResult, TransactionResult } from '../models/transaction.js';

/** What one HTTP exchange returns; injectable so tests can stub the network. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}
export type HttpTransport = (
  method: string,
  url: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
) => Promise<HttpAnswer>;

// Connections are reused across requests (and across invocations of a warm Lambda).
const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 64 });

// A client calls the same two URLs over and over: parse each once.
const parsedUrls = new Map<string, { protocol: string; hostname: string; port: string; path: string }>();
function requestTarget(url: string) {
  let target = parsedUrls.get(url);
  if (target === undefined) {
    const u = new URL(url);
    target = { protocol: u.protocol, hostname: u.hostname.replace(/^\[|\]$/g, ''), port: u.port, path: `${u.pathname}${u.search}` };
    if (parsedUrls.size >= 256) parsedUrls.clear();
    parsedUrls.set(url, target);
  }
  return target;
}

/** node:http(s) with keep-alive: markedly cheaper per call than fetch when syncing thousands of documents. */
export const nodeTransport: HttpTransport = (method, url, headers, body, timeoutMs) =>
  new Promise((resolve, reject) => {
    const target = requestTarget(url);
    const secure = target.protocol === 'https:';
    const send = secure ? httpsRequest : httpRequest;
    const req = send(
      {
        ...target,
        method,
        agent: secure ? httpsAgent : httpAgent,
        headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });

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
  transport?: HttpTransport;
  sleep?: (ms: number) => Promise<void>;
  /** Source of jitter in [0, 1) (default Math.random). */
  random?: () => number;
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

function header(answer: HttpAnswer, name: string): string | null {
  const value = answer.headers[name];
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}

function readError(answer: HttpAnswer): AvaTaxError {
  const retryAfter = retryAfterMs(header(answer, 'retry-after'));
  const retryAfterSeconds = retryAfter === undefined ? undefined : Math.ceil(retryAfter / 1000);
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    body = undefined;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (error && typeof error === 'object') {
    return new AvaTaxError(typeof error.message === 'string' ? error.message : `AvaTax answered ${answer.status}`, {
      status: answer.status,
      code: typeof error.code === 'string' ? error.code : `Http${answer.status}`,
      details: Array.isArray(error.details) ? (error.details as AvaTaxErrorDetail[]) : [],
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    });
  }
  return new AvaTaxError(`AvaTax answered ${answer.status}`, {
    status: answer.status,
    code: `Http${answer.status}`,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  });
}

export interface AvaTaxClient {
  ping(): Promise<PingResult>;
  createTransaction(model: CreateTransactionModel): Promise<TransactionResult>;
}

export function createAvaTaxClient(options: AvaTaxClientOptions): AvaTaxClient {
  const transport = options.transport ?? nodeTransport;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const maxRetries = options.maxRetries ?? 6;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const base = options.baseUrl.replace(/\/+$/, '');
  const authorization = `Basic ${Buffer.from(`${options.accountId}:${options.licenseKey}`).toString('base64')}`;
  const clientHeader = `${options.appName ?? 'sovereign-avalara'}; ${options.appVersion ?? '1.0.0'}; sovereign; 1.0.0; lambda`;

  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      let answer: HttpAnswer;
      try {
        answer = await transport(
          method,
          `${base}${path}`,
          {
            authorization,
            accept: 'application/json',
            'x-avalara-client': clientHeader,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body === undefined ? undefined : JSON.stringify(body),
          timeoutMs,
        );
      } catch (cause) {
        if (attempt >= maxRetries) {
          throw new AvaTaxError(`AvaTax could not be reached at ${base}`, { status: 0, code: 'NetworkError', cause });
        }
        await sleep(Math.min(maxDelayMs, 100 * 2 ** attempt));
        continue;
      }
      if (answer.status >= 200 && answer.status < 300) {
        try {
          return JSON.parse(answer.text) as T;
        } catch (cause) {
          throw new AvaTaxError(`AvaTax answered ${answer.status} with a body that is not JSON`, { status: 502, code: 'InvalidResponse', cause });
        }
      }
      const retryable = answer.status === 429 || answer.status >= 500;
      if (!retryable || attempt >= maxRetries) throw readError(answer);
      // Retry-After is a floor; the jitter keeps concurrent callers from retrying in lock-step.
      const backoff = Math.min(100 * 2 ** attempt, 5_000);
      const hinted = retryAfterMs(header(answer, 'retry-after'));
      const wait = hinted === undefined ? backoff * (0.5 + random() / 2) : hinted + Math.floor(random() * Math.min(backoff, 1_000));
      await sleep(Math.min(maxDelayMs, wait));
    }
  }

  return {
    ping: () => call<PingResult>('GET', '/api/v2/utilities/ping'),
    createTransaction: (model) => call<TransactionResult>('POST', '/api/v2/transactions/create', model),
  };
}
