/**
 * Request bodies read with a limit while they stream. A body is refused as soon as it is known to
 * be too large — from its `Content-Length` before a byte is read, or from the running count of a
 * chunked body — and nothing past the limit is ever held: the gateway's memory does not grow with
 * what a caller sends, signed or not.
 *
 * After a refusal the gateway stops reading (the caller's writes back up in its own socket) and
 * closes the connection {@link LINGER_MS} later. Closing at once, with the caller's bytes unread,
 * would make the kernel reset the connection, and the caller could lose the answer before reading
 * it; keeping the connection open for longer would let a caller hold it for as long as it likes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** How long after a refusal the connection is closed. */
export const LINGER_MS = 1000;
/** Lambda's synchronous payload limit: the most a tenant route or an invocation takes. */
export const LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** The largest result a synchronous invocation may return; Lambda names this number when it refuses one. */
export const LAMBDA_RESPONSE_BYTES = 6_291_556;

export type BodyResult = { ok: true; body: Buffer } | { ok: false; reason: 'too-large' };

/** The declared length when it is more than `limit` (a malformed header is left to the streamed count). */
function declaredTooLarge(req: IncomingMessage, limit: number): boolean {
  const declared = req.headers['content-length'];
  return declared !== undefined && /^\d+$/.test(declared) && Number(declared) > limit;
}

/**
 * Stops reading the rest of the body; the answer says `Connection: close`. Node would destroy the
 * socket as soon as the answer is written (a reset, with the caller's bytes unread): it is only
 * half-closed then, and destroyed {@link LINGER_MS} after the refusal.
 */
function refuseRest(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  req.pause();
  socket.pause();
  res.shouldKeepAlive = false;
  socket.destroySoon = () => socket.end();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/**
 * Reads `req`'s body, at most `limit` bytes, and calls `done` once: with the body, or with
 * `too-large` as soon as the limit is passed (the rest is discarded, see {@link refuseRest}).
 */
export function readLimitedBody(req: IncomingMessage, res: ServerResponse, limit: number, done: (result: BodyResult) => void): void {
  if (declaredTooLarge(req, limit)) {
    refuseRest(req, res);
    done({ ok: false, reason: 'too-large' });
    return;
  }
  let chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size <= limit) {
      chunks.push(chunk);
      return;
    }
    chunks = [];
    req.off('data', onData);
    req.off('end', onEnd);
    refuseRest(req, res);
    done({ ok: false, reason: 'too-large' });
  };
  const onEnd = () => done({ ok: true, body: Buffer.concat(chunks, size) });
  req.on('data', onData);
  req.on('end', onEnd);
}

/**
 * Drops the body of a request answered without it (404, 403, 429, 503…); past `limit` bytes it is
 * refused like any other (the connection closed {@link LINGER_MS} later), so no refusal of the
 * gateway's keeps it reading an endless body.
 */
export function discardBody(req: IncomingMessage, res: ServerResponse, limit: number): void {
  if (declaredTooLarge(req, limit)) {
    refuseRest(req, res);
    return;
  }
  let size = 0;
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size <= limit) return;
    req.off('data', onData);
    refuseRest(req, res);
  };
  req.on('data', onData);
}
