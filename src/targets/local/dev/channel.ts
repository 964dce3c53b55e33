/**
 * The gateway's invocation channel to a tenant process: length-prefixed frames over one loopback
 * TCP connection per tenant, many invocations in flight, answered in any order by id. It does
 * what the Lambda Runtime Interface Emulator's HTTP endpoint does (each tenant process serves that
 * too, for direct use), without an HTTP request and response per invocation on either side.
 *
 * Frame: `u32 length` (of what follows) · `u32 id` · `u8 kind` · UTF-8 JSON.
 * - gateway → tenant, kind 0: the event;
 * - tenant → gateway, kind 0: the handler's result (`null` for undefined); kind 1: a function
 *   error `{ errorType, errorMessage }` (Lambda's `X-Amz-Function-Error: Unhandled`).
 *
 * Frames written in one tick go out in one write (cork until the next tick).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** Events carry bodies up to 6 MB, base64 adds a third; results are limited to 6 MB by Lambda. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
const HEADER_BYTES = 9;

export const FrameKind = { Payload: 0, FunctionError: 1 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export interface Frame {
  id: number;
  kind: FrameKind;
  json: string;
}

export function encodeFrame(id: number, kind: FrameKind, json: string): Buffer {
  const size = Buffer.byteLength(json);
  const buffer = Buffer.allocUnsafe(HEADER_BYTES + size);
  buffer.writeUInt32BE(size + 5, 0);
  buffer.writeUInt32BE(id, 4);
  buffer.writeUInt8(kind, 8);
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
      if (length < 5 || length > MAX_FRAME_BYTES) throw new Error(`invocation frame of ${length} bytes`);
      if (data.length - at - 4 < length) break;
      onFrame({ id: data.readUInt32BE(at + 4), kind: data.readUInt8(at + 8) as FrameKind, json: data.toString('utf8', at + HEADER_BYTES, at + 4 + length) });
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
}

/** The error an invocation fails with; `code` is `ETIMEDOUT`, `ECONNREFUSED`, `ECONNRESET` or `EPROTO`. */
export class ChannelError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = 'ChannelError';
  }
}

interface Pending {
  resolve(result: InvocationResult): void;
  reject(error: ChannelError): void;
  timer: NodeJS.Timeout;
}

/** The gateway's side: one connection to one tenant process, opened on first use. */
export class InvokeChannel {
  private socket: Socket | undefined;
  private writer: CorkedWriter | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(readonly port: number) {}

  /** In-flight invocations. */
  get inFlight(): number {
    return this.pending.size;
  }

  invoke(eventJson: string, timeoutMs: number): Promise<InvocationResult> {
    if (this.closed) return Promise.reject(new ChannelError('the channel is closed', 'ECONNRESET'));
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffff_fff0 ? 1 : this.nextId + 1;
    const frame = encodeFrame(id, FrameKind.Payload, eventJson);
    return new Promise<InvocationResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) reject(new ChannelError(`no answer within ${timeoutMs} ms`, 'ETIMEDOUT'));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.connection().write(frame);
    });
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
    this.failAll(new ChannelError('the channel is closed', 'ECONNRESET'));
  }

  private connection(): CorkedWriter {
    if (this.writer !== undefined) return this.writer;
    const socket = connect({ host: '127.0.0.1', port: this.port, noDelay: true });
    const reader = new FrameReader();
    let connected = false;
    socket.on('connect', () => (connected = true));
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk, (frame) => this.settle(frame));
      } catch (error) {
        socket.destroy(new ChannelError((error as Error).message, 'EPROTO'));
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.socket === socket) {
        this.socket = undefined;
        this.writer = undefined;
      }
      this.failAll(new ChannelError(connected ? 'the tenant process closed the connection' : 'the tenant process refused the connection', connected ? 'ECONNRESET' : 'ECONNREFUSED'));
    });
    this.socket = socket;
    this.writer = new CorkedWriter(socket);
    return this.writer;
  }

  private settle(frame: Frame): void {
    const pending = this.pending.get(frame.id);
    if (pending === undefined) return; // timed out meanwhile
    this.pending.delete(frame.id);
    clearTimeout(pending.timer);
    pending.resolve({ functionError: frame.kind === FrameKind.FunctionError, json: frame.json });
  }

  private failAll(error: ChannelError): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(id);
      pending.reject(error);
    }
  }
}

/** The tenant process's side: answers each event frame with the invocation's outcome. */
export function serveInvocations(invoke: (eventJson: string) => Promise<InvocationResult>): Server {
  return createServer({ noDelay: true }, (socket) => {
    const reader = new FrameReader();
    const writer = new CorkedWriter(socket);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk, (frame) => {
          invoke(frame.json).then(
            (result) => {
              if (!socket.destroyed) writer.write(encodeFrame(frame.id, result.functionError ? FrameKind.FunctionError : FrameKind.Payload, result.json));
            },
            () => socket.destroy(),
          );
        });
      } catch {
        socket.destroy();
      }
    });
  });
}
