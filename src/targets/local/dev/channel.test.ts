import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, FrameKind, FrameReader, InvokeChannel, serveInvocations, type IncomingInvocation, type InvocationResult } from './channel.js';

const servers: Server[] = [];
const channels: InvokeChannel[] = [];
afterEach(() => {
  for (const channel of channels.splice(0)) channel.close();
  for (const server of servers.splice(0)) server.close();
});

/** Two connected sockets (the pipe's two ends); loopback TCP stands in for the socket pair here. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve) => client.once('connect', resolve));
  return [client, await accepted];
}

async function serve(invoke: (invocation: IncomingInvocation) => Promise<InvocationResult>): Promise<InvokeChannel> {
  const [near, far] = await socketPair();
  serveInvocations(far, invoke);
  const channel = new InvokeChannel(near);
  channels.push(channel);
  return channel;
}

describe('invocation channel', () => {
  it('cuts frames out of a stream split at every byte, and several frames in one chunk', () => {
    const frames = [encodeFrame(1, FrameKind.Payload, '{"a":"é"}', 7), encodeFrame(2, FrameKind.FunctionError, '{"errorType":"E"}')];
    const bytes = Buffer.concat(frames);
    const seen: unknown[] = [];
    const reader = new FrameReader();
    for (let i = 0; i < bytes.length; i++) reader.push(bytes.subarray(i, i + 1), (f) => seen.push(f));
    new FrameReader().push(bytes, (f) => seen.push(f));
    const expected = [
      { id: 1, kind: FrameKind.Payload, meta: 7, json: '{"a":"é"}' },
      { id: 2, kind: FrameKind.FunctionError, meta: 0, json: '{"errorType":"E"}' },
    ];
    expect(seen).toEqual([...expected, ...expected]);
  });

  it('refuses a frame longer than the limit', () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(64 * 1024 * 1024, 0);
    expect(() => new FrameReader().push(header, () => undefined)).toThrow(/frame/);
  });

  it('hands the environment the request id, the event and the timeout; returns the result with its memory figure', async () => {
    const seen: IncomingInvocation[] = [];
    const channel = await serve(async (invocation) => {
      seen.push(invocation);
      return { functionError: false, json: '{"ok":true}', maxRssKiB: 65_536 };
    });
    const result = await channel.invoke('req-1', '{"rawPath":"/x"}', 3000);
    expect(seen).toEqual([{ awsRequestId: 'req-1', eventJson: '{"rawPath":"/x"}', timeoutMs: 3000 }]);
    expect(result).toEqual({ functionError: false, json: '{"ok":true}', maxRssKiB: 65_536 });
  });

  it('serves one invocation at a time, in arrival order, however many are sent', async () => {
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const channel = await serve(async ({ eventJson }) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 2));
      order.push(Number(eventJson));
      running -= 1;
      return { functionError: Number(eventJson) === 3, json: eventJson };
    });
    const results = await Promise.all(Array.from({ length: 10 }, (_, n) => channel.invoke(`r${n}`, String(n), 1000)));
    expect(most).toBe(1);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    results.forEach((result, n) => expect(result).toMatchObject({ json: String(n), functionError: n === 3 }));
    expect(channel.inFlight).toBe(0);
  });

  it('carries a 7 MB event and its answer', async () => {
    const channel = await serve(async ({ eventJson }) => ({ functionError: false, json: JSON.stringify({ length: eventJson.length }) }));
    const event = JSON.stringify({ body: 'x'.repeat(7 * 1024 * 1024) });
    expect(JSON.parse((await channel.invoke('big', event, 10_000)).json)).toEqual({ length: event.length });
  });

  it('fails every in-flight invocation when the environment goes away, and refuses new ones', async () => {
    const [near, far] = await socketPair();
    const reader = new FrameReader();
    let received = 0;
    far.on('data', (chunk: Buffer) => reader.push(chunk, () => {
      if (++received === 2) far.destroy();
    }));
    const channel = new InvokeChannel(near);
    channels.push(channel);
    const pending = [channel.invoke('a', '1', 5000), channel.invoke('b', '2', 5000)];
    for (const p of pending) await expect(p).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(channel.inFlight).toBe(0);
    await expect(channel.invoke('c', '3', 5000)).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  it('closes on a frame over the limit from the environment (it cannot make the dev process buffer more)', async () => {
    const [near, far] = await socketPair();
    const channel = new InvokeChannel(near);
    channels.push(channel);
    const pending = channel.invoke('a', '1', 5000);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(64 * 1024 * 1024, 0);
    far.write(header);
    await expect(pending).rejects.toMatchObject({ code: 'ECONNRESET' });
  });
});
