import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PageCheckpoint } from '../src/runtime/extension.js';
import { nextLink, paginate, retryAfterMs } from '../src/runtime/paginate.js';
import { createTestContext } from '../src/testing/index.js';

const TOTAL = 60_000;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Rec {
  id: number;
  name: string;
  note: string;
}
const record = (id: number): Rec => ({ id, name: `customer-${id}`, note: `record ${id} `.padEnd(160, '.') });

let server: Server;
let base: string;
const requests: string[] = [];
const faults = new Map<string, Array<{ status: number; retryAfter?: string }>>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(url.pathname + url.search);
    const fault = faults.get(url.pathname + url.search)?.shift();
    if (fault) {
      res.writeHead(fault.status, fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter });
      res.end('{"error":"slow down"}');
      return;
    }
    const limit = Number(url.searchParams.get('limit') ?? '500');
    let start = 0;
    if (url.pathname === '/cursor') start = Number(url.searchParams.get('cursor') ?? '0');
    if (url.pathname === '/offset') start = Number(url.searchParams.get('offset') ?? '0');
    if (url.pathname === '/link') start = Number(url.searchParams.get('page') ?? '0') * limit;
    const end = Math.min(start + limit, TOTAL);
    const data: Rec[] = [];
    for (let id = start; id < end; id++) data.push(record(id));
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (url.pathname === '/link' && end < TOTAL) {
      headers.link = `</link?page=${start / limit + 1}&limit=${limit}>; rel="next", </link?page=0&limit=${limit}>; rel="first"`;
    }
    res.writeHead(200, headers);
    res.end(JSON.stringify(url.pathname === '/cursor' ? { data, next_cursor: end < TOTAL ? String(end) : null } : { data }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const items = (body: unknown) => (body as { data: Rec[] }).data;

describe('ctx.paginate', () => {
  it.each(['cursor', 'offset', 'link'] as const)('walks 60,000 %s-paginated records in constant memory', async (style) => {
    const t = await createTestContext({ extension: 'sync' });
    try {
      gc();
      const before = process.memoryUsage().heapUsed;
      let peak = 0;
      let count = 0;
      let sum = 0;
      let previous = -1;
      for await (const rec of t.ctx.paginate<Rec>({ url: `${base}/${style}`, style, items, pageSize: 500 })) {
        if (rec.id !== previous + 1) throw new Error(`gap after ${previous}`);
        previous = rec.id;
        count++;
        sum += rec.id;
        if (count % 5000 === 0) {
          gc();
          peak = Math.max(peak, process.memoryUsage().heapUsed - before);
        }
      }
      expect(count).toBe(TOTAL);
      expect(sum).toBe((TOTAL * (TOTAL - 1)) / 2);

      // What holding every record would cost, measured the same way.
      gc();
      const heldBefore = process.memoryUsage().heapUsed;
      const held: Rec[] = [];
      for (let id = 0; id < TOTAL; id++) held.push(record(id));
      gc();
      const holding = process.memoryUsage().heapUsed - heldBefore;
      expect(held.length).toBe(TOTAL);
      expect(holding).toBeGreaterThan(15 * 1024 * 1024);
      if (process.env.PAGINATE_VERBOSE) console.log(style, { peakMiB: peak / 2 ** 20, holdingMiB: holding / 2 ** 20 });
      expect(peak).toBeLessThan(holding / 4);
      expect(peak).toBeLessThan(6 * 1024 * 1024);
    } finally {
      await t.close();
    }
  });

  it('resumes from a checkpoint without losing a record', async () => {
    const checkpoints: PageCheckpoint[] = [];
    const seen = new Set<number>();
    for await (const rec of paginate<Rec>({ url: `${base}/cursor`, style: 'cursor', items, pageSize: 1000, nextCursor: (b) => (b as { next_cursor: string | null }).next_cursor, onCheckpoint: (c) => void checkpoints.push(c) })) {
      seen.add(rec.id);
      if (rec.id === 25_499) break; // mid-page crash
    }
    expect(checkpoints.at(-1)).toEqual({ kind: 'cursor', cursor: '25000' });
    let duplicates = 0;
    const resumed: PageCheckpoint[] = [];
    for await (const rec of paginate<Rec>({ url: `${base}/cursor`, style: 'cursor', items, pageSize: 1000, from: checkpoints.at(-1), onCheckpoint: (c) => void resumed.push(c) })) {
      if (seen.has(rec.id)) duplicates++;
      seen.add(rec.id);
    }
    expect(seen.size).toBe(TOTAL);
    expect(duplicates).toBe(500);
    expect(resumed.at(-1)).toEqual({ kind: 'cursor', cursor: null });

    const offsetStart: PageCheckpoint = { kind: 'offset', offset: 59_000 };
    let count = 0;
    for await (const _ of paginate<Rec>({ url: `${base}/offset`, style: 'offset', items, pageSize: 500, from: offsetStart })) count++;
    expect(count).toBe(1000);
  });

  it('retries 429 and 5xx honouring Retry-After, then gives up with a named error', async () => {
    const waits: number[] = [];
    const sleep = async (ms: number) => void waits.push(ms);
    // The clock stands still on a whole second, so an HTTP-date Retry-After gives an exact wait
    // however long the pages take to fetch.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2026-06-01T12:00:00.000Z') });
    faults.set('/offset?offset=1000&limit=500', [{ status: 429, retryAfter: '2' }, { status: 503 }]);
    faults.set('/offset?offset=2000&limit=500', [{ status: 500, retryAfter: new Date(Date.now() + 3000).toUTCString() }]);
    let count = 0;
    try {
      for await (const _ of paginate<Rec>({ url: `${base}/offset`, style: 'offset', items, pageSize: 500 }, { sleep })) count++;
    } finally {
      vi.useRealTimers();
    }
    expect(count).toBe(TOTAL);
    expect(waits).toHaveLength(3);
    expect(waits[0]).toBe(2000);
    // Exponential backoff without a hint: the second attempt waits 200 ms less up to half of it as jitter.
    expect(waits[1]).toBeGreaterThanOrEqual(100);
    expect(waits[1]).toBeLessThanOrEqual(200);
    expect(waits[2]).toBe(3000);

    faults.set('/offset?offset=0&limit=500', Array.from({ length: 5 }, () => ({ status: 503, retryAfter: '0' })));
    const failing = (async () => {
      for await (const _ of paginate<Rec>({ url: `${base}/offset`, style: 'offset', items, pageSize: 500, maxRetries: 2 }, { sleep })) void _;
    })();
    await expect(failing).rejects.toMatchObject({ name: 'PaginationError', upstreamStatus: 503 });
    faults.clear();
    faults.set('/offset?offset=0&limit=500', [{ status: 404 }]);
    const notFound = (async () => {
      for await (const _ of paginate<Rec>({ url: `${base}/offset`, style: 'offset', items, pageSize: 500 }, { sleep })) void _;
    })();
    await expect(notFound).rejects.toMatchObject({ name: 'PaginationError', upstreamStatus: 404 });
    faults.clear();
  });

  it('parses Link and Retry-After headers', () => {
    expect(nextLink('<https://api.example.com/items?page=2>; rel="next", <https://api.example.com/items?page=9>; rel="last"', 'https://api.example.com/items')).toBe('https://api.example.com/items?page=2');
    expect(nextLink('</items?page=3>; rel=next', 'https://api.example.com/items?page=2')).toBe('https://api.example.com/items?page=3');
    expect(nextLink('<https://a/x>; rel="prev"', 'https://a/')).toBeNull();
    expect(retryAfterMs('7')).toBe(7000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});
