/**
 * The channel between the dev process and one execution environment of a tenant: length-prefixed
 * frames over a pipe the environment inherits at fd 3 (a socket pair only the two of them hold:
 * the environment listens on nothing, so no other process can invoke it).
 *
 * Frame: `u32 length` (of what follows) · `u32 id` · `u8 kind` · `u32 meta` · UTF-8 text.
 * - dev → environment, kind 0: `<awsRequestId>\n<event JSON>` (meta: the invocation's timeout in ms);
 * - environment → dev, kind 0: the handler's result (`null` for undefined); kind 1: a function
 *   error `{ errorType, errorMessage }` (Lambda's `X-Amz-Function-Error: Unhandled`). Meta: the
 *   environment's peak resident memory in KiB (Lambda's `Max Memory Used`).
 *
 * Frames written in one tick go out in one write (cork until the next tick).
 */
import type { Socket } from 'node:net';

/** Events carry bodies up to 6 MB, base64 adds a third; results over 6 MB are refused before they are sent. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
const HEADER_BYTES = 13;

export const FrameKind = { Payload: 0, FunctionError: 1 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export interface Frame {
  id: number;
  kind: FrameKind;
  meta: number;
  json: string;
}

export function encodeFrame(id: number, kind: FrameKind, json: string, meta = 0): Buffer {
  const size = Buffer.byteLength(json);
  const buffer = Buffer.allocUnsafe(HEADER_BYTES + size);
  buffer.writeUInt32BE(size + HEADER_BYTES - 4, 0);
  buffer.writeUInt32BE(id, 4);
  buffer.writeUInt8(kind, 8);
  buffer.writeUInt32BE(Math.max(0, Math.min(0xffff_ffff, Math.round(meta))), 9);
  buffer.write(json, HEADER_BYTES, 'utf8');
  return buffer;
}

/** Cuts a byte stream into frames; throws on a frame over {@link MAX_FRAME_BYTES}. */
export class FrameReader {
  private buffered: Buffer | undefined;

  push(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    const data = this.buffered === undefined ? chunk : Buffer.concat([this.buffered, chunk]);
    this.buffered = undefined;
    let at = 0;
    while (data.length - at >= 4) {
      const length = data.readUInt32BE(at);
      if (length < HEADER_BYTES - 4 || length > MAX_FRAME_BYTES) throw new Error(`invocation frame of ${length} bytes`);
      if (data.length - at - 4 < length) break;
      onFrame({ id: data.readUInt32BE(at + 4), kind: data.readUInt8(at + 8) as FrameKind, meta: data.readUInt32BE(at + 9), json: data.toString('utf8', at + HEADER_BYTES, at + 4 + length) });
      at += 4 + length;
    }
    if (at < data.length) this.buffered = at === 0 ? data : data.subarray(at);
  }
}

/** Writes frames to a socket, one write per tick. */
class CorkedWriter {
  private corked = false;

  constructor(private readonly socket: Socket) {}

  write(frame: Buffer): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(frame);
  }
}

export interface InvocationResult {
  /** The handler threw: `json` is `{ errorType, errorMessage }`. */
  functionError: boolean;
  json: string;
  /** The environment's peak resident memory (KiB) after the invocation; 0 when unknown. */
  maxRssKiB?: number;
}

/** The error an invocation fails with; `code` is `ECONNRESET` (the environment went away) or `EPROTO`. */
export class ChannelError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = 'ChannelError';
  }
}

interface Pending {
  resolve(result: InvocationResult): void;
  reject(error: ChannelError): void;
}

/** The dev process's side of one environment's pipe. */
export class InvokeChannel {
  private readonly writer: CorkedWriter;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly socket: Socket) {
    this.writer = new CorkedWriter(socket);
    const reader = new FrameReader();
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk, (frame) => this.settle(frame));
      } catch (error) {
        socket.destroy(new ChannelError((error as Error).message, 'EPROTO'));
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.failAll(new ChannelError('the environment closed its channel', 'ECONNRESET'));
    });
  }

  /** In-flight invocations. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends one invocation; `timeoutMs` is what the environment's context reports as its deadline. */
  invoke(awsRequestId: string, eventJson: string, timeoutMs: number): Promise<InvocationResult> {
    if (this.closed) return Promise.reject(new ChannelError('the channel is closed', 'ECONNRESET'));
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffff_fff0 ? 1 : this.nextId + 1;
    const frame = encodeFrame(id, FrameKind.Payload, `${awsRequestId}\n${eventJson}`, timeoutMs);
    return new Promise<InvocationResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.writer.write(frame);
    });
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
    this.failAll(new ChannelError('the channel is closed', 'ECONNRESET'));
  }

  private settle(frame: Frame): void {
    const pending = this.pending.get(frame.id);
    if (pending === undefined) return;
    this.pending.delete(frame.id);
    pending.resolve({ functionError: frame.kind === FrameKind.FunctionError, json: frame.json, maxRssKiB: frame.meta });
  }

  private failAll(error: ChannelError): void {
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(error);
    }
  }
}

/** One invocation as the environment receives it. */
export interface IncomingInvocation {
  awsRequestId: string;
  eventJson: string;
  timeoutMs: number;
}

/**
 * The environment's side: answers each invocation frame, one at a time in arrival order (an
 * execution environment serves one invocation at a time, whatever the other side sends).
 */
export function serveInvocations(socket: Socket, invoke: (invocation: IncomingInvocation) => Promise<InvocationResult>): void {
  const reader = new FrameReader();
  const writer = new CorkedWriter(socket);
  let queue: Promise<void> = Promise.resolve();
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    try {
      reader.push(chunk, (frame) => {
        const newline = frame.json.indexOf('\n');
        const invocation = { awsRequestId: frame.json.slice(0, newline), eventJson: frame.json.slice(newline + 1), timeoutMs: frame.meta };
        queue = queue.then(() =>
          invoke(invocation).then(
            (result) => {
              if (!socket.destroyed) writer.write(encodeFrame(frame.id, result.functionError ? FrameKind.FunctionError : FrameKind.Payload, result.json, result.maxRssKiB ?? 0));
            },
            () => {
              socket.destroy();
            },
          ),
        );
      });
    } catch {
      socket.destroy();
    }
  });
}
