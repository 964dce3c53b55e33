/**
 * Bodies read with a limit, on a real loopback server: a declared length over the limit is refused
 * before the body is read, a chunked one at the limit, the caller reads the 413 before the
 * connection closes, and a refused body is not read on.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { discardBody, LINGER_MS, readLimitedBody, type BodyResult } from './body.js';

const LIMIT = 64 * 1024;
let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A server that answers 200 with the body's length, or 413; `seen` counts the bytes it read. */
async function limitedServer(discard = false): Promise<{ port: number; results: BodyResult[]; seen: () => number }> {
  const results: BodyResult[] = [];
  let seen = 0;
  server = createServer((req, res) => {
    req.socket.on('data', (chunk: Buffer) => (seen += chunk.length));
    if (discard) {
      discardBody(req, res, LIMIT);
      res.writeHead(404, { 'content-length': '0' });
      res.end();
      return;
    }
    readLimitedBody(req, res, LIMIT, (result) => {
      results.push(result);
      const body = result.ok ? String(result.body.length) : 'too large';
      res.writeHead(result.ok ? 200 : 413, { 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server!.address() as AddressInfo).port, results, seen: () => seen };
}

/** POSTs up to `total` bytes (chunked unless `declared`), stopping at the answer. */
function post(port: number, total: number, declared = false): Promise<{ status: number; body: string; sent: number; connection: string | undefined }> {
  const chunk = Buffer.alloc(16 * 1024, 120);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: declared ? { 'content-length': String(total) } : {} }, (res) => {
      answered = true;
      let body = '';
      res.on('data', (part: Buffer) => (body += part.toString()));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body, sent, connection: res.headers.connection });
        req.destroy();
      });
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const pump = () => {
      while (!answered && sent < total) {
        const part = chunk.subarray(0, Math.min(chunk.length, total - sent));
        sent += part.length;
        if (!req.write(part)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    pump();
  });
}

/** POSTs 400 MB chunked and keeps writing after the answer, until the server closes the connection. */
function relentlessPost(port: number): Promise<{ status: number; sent: number }> {
  const chunk = Buffer.alloc(16 * 1024, 120);
  return new Promise((resolve) => {
    let sent = 0;
    let status = 0;
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/' }, (res) => {
      status = res.statusCode ?? 0;
      res.resume();
    });
    req.on('error', () => undefined);
    req.on('close', () => resolve({ status, sent }));
    const pump = () => {
      while (sent < 400 * 1024 * 1024) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

describe('readLimitedBody', () => {
  it('passes a body at the limit whole', async () => {
    const { port, results } = await limitedServer();
    expect(await post(port, LIMIT)).toMatchObject({ status: 200, body: String(LIMIT) });
    expect(await post(port, LIMIT, true)).toMatchObject({ status: 200, body: String(LIMIT) });
    expect(results.every((r) => r.ok)).toBe(true);
  });

  it('refuses a declared length over the limit before reading the body, and closes the connection', async () => {
    const { port, seen } = await limitedServer();
    const answer = await post(port, 400 * 1024 * 1024, true);
    expect(answer).toMatchObject({ status: 413, connection: 'close' });
    // Only what the kernel buffers before the answer; never the 400 MB.
    expect(answer.sent).toBeLessThan(64 * 1024 * 1024);
    expect(seen()).toBeLessThan(8 * 1024 * 1024);
  });

  it('refuses a chunked body one byte over the limit, keeping nothing of it', async () => {
    const { port, results } = await limitedServer();
    expect((await post(port, LIMIT + 1)).status).toBe(413);
    expect(results).toEqual([{ ok: false, reason: 'too-large' }]);
  });

  it('stops reading at the limit from a caller that keeps sending, and closes the connection after the linger', async () => {
    const { port, seen } = await limitedServer();
    const started = Date.now();
    const answer = await relentlessPost(port);
    expect(answer.status).toBe(413);
    expect(answer.sent).toBeLessThan(64 * 1024 * 1024);
    expect(seen()).toBeLessThan(8 * 1024 * 1024);
    expect(Date.now() - started).toBeGreaterThanOrEqual(LINGER_MS - 50);
    expect(Date.now() - started).toBeLessThan(LINGER_MS + 5000);
  });
});

describe('discardBody', () => {
  it('drops a small body and keeps the connection usable', async () => {
    const { port } = await limitedServer(true);
    expect((await post(port, 1000)).status).toBe(404);
  });

  it('stops reading a body it drops once it passes the limit', async () => {
    const { port, seen } = await limitedServer(true);
    const answer = await relentlessPost(port);
    expect(answer.status).toBe(404);
    expect(answer.sent).toBeLessThan(64 * 1024 * 1024);
    expect(seen()).toBeLessThan(8 * 1024 * 1024);
  });
});
