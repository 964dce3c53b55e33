import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, FrameKind, FrameReader, InvokeChannel, serveInvocations, type InvocationResult } from './channel.js';

const servers: Server[] = [];
const channels: InvokeChannel[] = [];
afterEach(() => {
  for (const channel of channels.splice(0)) channel.close();
  for (const server of servers.splice(0)) server.close();
});

async function serve(invoke: (json: string) => Promise<InvocationResult>): Promise<InvokeChannel> {
  const server = serveInvocations(invoke);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const channel = new InvokeChannel((server.address() as AddressInfo).port);
  channels.push(channel);
  return channel;
}

describe('framed invocation channel', () => {
  it('cuts frames out of a stream split at every byte, and several frames in one chunk', () => {
    const frames = [encodeFrame(1, FrameKind.Payload, '{"a":"é"}'), encodeFrame(2, FrameKind.FunctionError, '{"errorType":"E"}')];
    const bytes = Buffer.concat(frames);
    const seen: unknown[] = [];
    const reader = new FrameReader();
    for (let i = 0; i < bytes.length; i++) reader.push(bytes.subarray(i, i + 1), (f) => seen.push(f));
    new FrameReader().push(bytes, (f) => seen.push(f));
    const expected = [
      { id: 1, kind: FrameKind.Payload, json: '{"a":"é"}' },
      { id: 2, kind: FrameKind.FunctionError, json: '{"errorType":"E"}' },
    ];
    expect(seen).toEqual([...expected, ...expected]);
  });

  it('refuses a frame longer than the limit', () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(64 * 1024 * 1024, 0);
    expect(() => new FrameReader().push(header, () => undefined)).toThrow(/frame/);
  });

  it('answers concurrent invocations by id, in whatever order they finish', async () => {
    // Every invocation is held until all 20 have arrived; then they finish last to first.
    const held: Array<{ n: number; finish: () => void }> = [];
    const answered: number[] = [];
    const channel = await serve(async (json) => {
      const { n } = JSON.parse(json) as { n: number };
      await new Promise<void>((finish) => {
        held.push({ n, finish });
        if (held.length === 20) queueMicrotask(() => [...held].sort((a, b) => b.n - a.n).forEach((h) => h.finish()));
      });
      answered.push(n);
      return { functionError: n === 7, json: JSON.stringify({ n, twice: n * 2 }) };
    });
    const results = await Promise.all(Array.from({ length: 20 }, (_, n) => channel.invoke(JSON.stringify({ n }), 5000)));
    expect(answered).toEqual(Array.from({ length: 20 }, (_, n) => 19 - n));
    results.forEach((result, n) => {
      expect(JSON.parse(result.json)).toEqual({ n, twice: n * 2 });
      expect(result.functionError).toBe(n === 7);
    });
    expect(channel.inFlight).toBe(0);
  });

  it('carries a 7 MB event and its answer', async () => {
    const channel = await serve(async (json) => ({ functionError: false, json: JSON.stringify({ length: json.length }) }));
    const event = JSON.stringify({ body: 'x'.repeat(7 * 1024 * 1024) });
    expect(JSON.parse((await channel.invoke(event, 10_000)).json)).toEqual({ length: event.length });
  });

  it('times an invocation out without disturbing the others', async () => {
    let answerSlow!: () => void;
    const slowHeld = new Promise<void>((resolve) => (answerSlow = resolve));
    let slowAnswered!: () => void;
    const slowDone = new Promise<void>((resolve) => (slowAnswered = resolve));
    const channel = await serve(async (json) => {
      if (json === '"slow"') {
        await slowHeld;
        slowAnswered();
      }
      return { functionError: false, json };
    });
    const slow = channel.invoke('"slow"', 50);
    const fast = channel.invoke('"fast"', 5000);
    await expect(slow).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect((await fast).json).toBe('"fast"');
    // The late answer goes out ahead of the next invocation's on the same connection, and is dropped.
    answerSlow();
    await slowDone;
    expect((await channel.invoke('"again"', 5000)).json).toBe('"again"');
    expect(channel.inFlight).toBe(0);
  });

  it('fails every in-flight invocation when the process goes away, and reconnects for the next', async () => {
    let connections = 0;
    const server = createServer((socket) => {
      connections += 1;
      const first = connections === 1;
      const reader = new FrameReader();
      let received = 0;
      socket.on('data', (chunk: Buffer) => {
        reader.push(chunk, (frame) => {
          // The first connection's process dies once both invocations are in flight; later ones answer.
          if (first && ++received === 2) socket.destroy();
          else if (!first) socket.write(encodeFrame(frame.id, FrameKind.Payload, frame.json));
        });
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const channel = new InvokeChannel((server.address() as AddressInfo).port);
    channels.push(channel);
    const pending = [channel.invoke('1', 5000), channel.invoke('2', 5000)];
    for (const p of pending) await expect(p).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(channel.inFlight).toBe(0);
    expect((await channel.invoke('"next"', 5000)).json).toBe('"next"');
    expect(connections).toBe(2);
  });

  it('reports a refused connection as ECONNREFUSED', async () => {
    const server = serveInvocations(async () => ({ functionError: false, json: '1' }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const channel = new InvokeChannel(port);
    channels.push(channel);
    await expect(channel.invoke('1', 5000)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
