/**
 * `ctx.paginate()`: walks a cursor, offset or Link-header paginated HTTP API one page at a time,
 * so memory stays constant whatever the total. After each page it reports a checkpoint that
 * resumes right after it; 429 and 5xx answers are retried honouring `Retry-After`.
 */
import { PaginationError } from './errors.js';
import type { PageCheckpoint, PaginateOptions } from './extension.js';

export interface PaginateDeps {
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** Upper bound on one wait (default 60 s). */
  maxRetryDelayMs?: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Milliseconds to wait from a Retry-After header (seconds or HTTP date), or undefined. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The `rel="next"` target of an RFC 8288 Link header, resolved against `base`. */
export function nextLink(header: string | null, base: string): string | null {
  if (!header) return null;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (!match) continue;
    const rels = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(match[2] ?? '');
    const rel = (rels?.[1] ?? rels?.[2] ?? '').toLowerCase().split(/\s+/);
    if (rel.includes('next')) return new URL(match[1] ?? '', base).toString();
  }
  return null;
}

function defaultNextCursor(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const b = body as Record<string, unknown>;
  const value = b.nextCursor ?? b.next_cursor ?? b.cursor ?? null;
  return typeof value === 'string' && value !== '' ? value : null;
}

export async function* paginate<T>(options: PaginateOptions<T>, deps: PaginateDeps = {}): AsyncGenerator<T> {
  const doFetch = deps.fetch ?? fetch;
  const sleep = deps.sleep ?? defaultSleep;
  const maxRetries = options.maxRetries ?? 8;
  const maxDelay = deps.maxRetryDelayMs ?? 60_000;
  const pageSize = options.pageSize;
  const nextCursor = options.nextCursor ?? defaultNextCursor;

  let checkpoint: PageCheckpoint =
    options.from ??
    (options.style === 'cursor'
      ? { kind: 'cursor', cursor: null }
      : options.style === 'offset'
        ? { kind: 'offset', offset: 0 }
        : { kind: 'link', url: options.url });
  if (checkpoint.kind !== options.style) {
    throw new TypeError(`paginate: checkpoint of kind "${checkpoint.kind}" cannot resume a "${options.style}" walk`);
  }

  for (;;) {
    const url = pageUrl(options, checkpoint, pageSize);
    if (url === null) return;
    const response = await fetchWithRetry(doFetch, url, options.headers, maxRetries, sleep, maxDelay);
    const body: unknown = await response.json().catch((error: unknown) => {
      throw new PaginationError(`paginate: page ${redactUrl(url)} is not JSON`, response.status, { cause: error });
    });
    const items = options.items(body);
    for (const item of items) yield item;

    let next: PageCheckpoint | null;
    if (checkpoint.kind === 'cursor') {
      const cursor = nextCursor(body) ?? null;
      next = cursor === null || items.length === 0 ? null : { kind: 'cursor', cursor };
    } else if (checkpoint.kind === 'offset') {
      const size = pageSize ?? 100;
      next = items.length < size ? null : { kind: 'offset', offset: checkpoint.offset + items.length };
    } else {
      const link = nextLink(response.headers.get('link'), url);
      next = link === null ? null : { kind: 'link', url: link };
    }
    const done: PageCheckpoint =
      next ?? (checkpoint.kind === 'cursor' ? { kind: 'cursor', cursor: null } : checkpoint.kind === 'link' ? { kind: 'link', url: null } : { kind: 'offset', offset: checkpoint.offset + items.length });
    await options.onCheckpoint?.(done);
    if (next === null) return;
    checkpoint = next;
  }
}

function pageUrl(options: PaginateOptions<unknown>, checkpoint: PageCheckpoint, pageSize: number | undefined): string | null {
  if (checkpoint.kind === 'link') {
    if (checkpoint.url === null) return null;
    const url = new URL(checkpoint.url);
    if (pageSize !== undefined && checkpoint.url === options.url) url.searchParams.set(options.limitParam ?? 'limit', String(pageSize));
    return url.toString();
  }
  const url = new URL(options.url);
  if (checkpoint.kind === 'cursor') {
    if (checkpoint.cursor !== null) url.searchParams.set(options.cursorParam ?? 'cursor', checkpoint.cursor);
    if (pageSize !== undefined) url.searchParams.set(options.limitParam ?? 'limit', String(pageSize));
  } else {
    url.searchParams.set(options.offsetParam ?? 'offset', String(checkpoint.offset));
    url.searchParams.set(options.limitParam ?? 'limit', String(pageSize ?? 100));
  }
  return url.toString();
}

async function fetchWithRetry(
  doFetch: typeof fetch,
  url: string,
  headers: Record<string, string> | undefined,
  maxRetries: number,
  sleep: (ms: number) => Promise<void>,
  maxDelay: number,
): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    let response: Response | undefined;
    let failure: unknown;
    try {
      response = await doFetch(url, { headers: { accept: 'application/json', ...headers } });
    } catch (error) {
      failure = error;
    }
    if (response?.ok) return response;
    const retryable = response === undefined || response.status === 429 || response.status >= 500;
    if (!retryable || attempt >= maxRetries) {
      await response?.body?.cancel().catch(() => undefined);
      throw new PaginationError(
        response === undefined
          ? `paginate: ${redactUrl(url)} failed after ${attempt + 1} attempt(s)`
          : `paginate: ${redactUrl(url)} answered ${response.status}${retryable ? ` after ${attempt + 1} attempt(s)` : ''}`,
        response?.status,
        { cause: failure },
      );
    }
    const hinted = response ? retryAfterMs(response.headers.get('retry-after')) : undefined;
    await response?.body?.cancel().catch(() => undefined);
    const backoff = Math.min(100 * 2 ** attempt, 10_000) * (0.5 + Math.random() / 2);
    await sleep(Math.min(hinted ?? backoff, maxDelay));
  }
}

/** Query strings may carry tokens: errors show origin and path only. */
function redactUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}
