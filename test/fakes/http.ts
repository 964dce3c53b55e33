/** Small pieces shared by the fake API servers: a loopback server that can crash and come back. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>;

export interface LoopbackServer {
  /** `http://127.0.0.1:<port>`; stays the same across `crash()` and `restart()`. */
  readonly url: string;
  readonly port: number;
  /** Drops every open connection and stops listening, like a process that died. */
  crash(): Promise<void>;
  /** Listens again on the same port after a crash. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Starts `handler` on 127.0.0.1, port 0 (or the given port). */
export async function startLoopbackServer(handler: Handler, port = 0): Promise<LoopbackServer> {
  const sockets = new Set<Socket>();
  const make = (): Server => {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        Promise.resolve(handler(req, res, Buffer.concat(chunks).toString('utf8'))).catch((error: unknown) => {
          if (!res.headersSent) sendJson(res, 500, { error: String(error) });
          else res.destroy();
        });
      });
    });
    server.keepAliveTimeout = 30_000;
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    return server;
  };
  let server: Server | undefined = make();
  const actualPort = await listen(server, port);
  const stop = async (): Promise<void> => {
    const current = server;
    server = undefined;
    if (!current) return;
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => current.close(() => resolve()));
  };
  return {
    url: `http://127.0.0.1:${actualPort}`,
    port: actualPort,
    crash: stop,
    async restart() {
      if (server) return;
      server = make();
      await listen(server, actualPort);
    },
    close: stop,
  };
}

/** Deterministic pseudo-random numbers in [0, 1) from a 32-bit seed (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * 429 fault injection shared by both fakes: the next `count` requests (or every `everyNth`
 * request while `count` lasts) answer 429 with `Retry-After`.
 */
export class RateLimitFault {
  private remaining = 0;
  private everyNth = 1;
  private seen = 0;
  retryAfterSeconds = 0;
  /** How many 429s were sent in total. */
  sent = 0;

  storm(count: number, options: { retryAfterSeconds?: number; everyNth?: number } = {}): void {
    this.remaining = count;
    this.everyNth = Math.max(1, options.everyNth ?? 1);
    this.retryAfterSeconds = options.retryAfterSeconds ?? 0;
    this.seen = 0;
  }

  /** True when this request should be refused with 429. */
  take(): boolean {
    if (this.remaining <= 0) return false;
    this.seen += 1;
    if (this.seen % this.everyNth !== 0) return false;
    this.remaining -= 1;
    this.sent += 1;
    return true;
  }
}
