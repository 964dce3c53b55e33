/**
 * One tenant's process under `sovereign dev`: its fault domain on this machine. It loads the
 * tenant's built artifact and serves invocations on a loopback port the way the Lambda Runtime
 * Interface Emulator does (its DynamoDB is the dev process's data plane, signed with the
 * tenant's own credentials, as a function reaches DynamoDB):
 *
 *   POST /2015-03-31/functions/function/invocations   body: the event → 200 with the handler's result
 *
 * A handler that throws answers 200 with `{ errorMessage, errorType }` and
 * `X-Amz-Function-Error: Unhandled`, as Lambda does. The gateway itself invokes over a second
 * loopback port, the framed channel of `channel.ts` (the same invocation, no HTTP per request).
 * The process exits when its parent goes away
 * (the IPC channel closes), on SIGTERM (SIGINT is left to the supervisor), or on a `{ type: 'shutdown' }` message.
 *
 * Started by the supervisor with `SOVEREIGN_DEV_ENTRY` (the artifact's `index.mjs`) and
 * `SOVEREIGN_DEV_DATA` (the tenant's data folder) besides the runtime's own variables.
 */
import { createServer, type ServerResponse } from 'node:http';
import { discardBody, LAMBDA_PAYLOAD_BYTES, readLimitedBody } from './body.js';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import { serveInvocations, type InvocationResult } from './channel.js';
import { INVOKE_PATH, type HostMessage } from './protocol.js';


type Handler = (event: unknown, context: unknown) => Promise<unknown>;

function listen(server: NetServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function send(message: HostMessage): void {
  if (process.send) process.send(message);
}

function reply(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** `requestContext.requestId` of a payload 2.0 event. */
function requestIdOf(event: unknown): string | undefined {
  const id = (event as { requestContext?: { requestId?: unknown } } | null)?.requestContext?.requestId;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** The Lambda context object handed to the handler. */
function lambdaContext(requestId: string, deadline: number): Record<string, unknown> {
  const name = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'function';
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION ?? 'us-east-1'}:000000000000:function:${name}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: `local/${process.pid}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

async function main(): Promise<void> {
  const entry = process.env.SOVEREIGN_DEV_ENTRY;
  const dataDir = process.env.SOVEREIGN_DEV_DATA;
  const table = process.env.SOVEREIGN_TABLE;
  const timeoutMs = Number(process.env.SOVEREIGN_DEV_TIMEOUT_MS ?? 29_000);
  if (!entry || !dataDir || !table) throw new Error('SOVEREIGN_DEV_ENTRY, SOVEREIGN_DEV_DATA and SOVEREIGN_TABLE must be set');

  const module = (await import(pathToFileURL(entry).href)) as { handler?: Handler };
  const handler = module.handler;
  if (typeof handler !== 'function') throw new Error(`${entry} exports no handler function`);

  /** One invocation, as Lambda runs it: the result, or a function error with the message only. */
  const invoke = async (eventJson: string, requestId?: string): Promise<InvocationResult & { invalidEvent?: true }> => {
    let event: unknown;
    try {
      event = JSON.parse(eventJson);
    } catch {
      return { functionError: true, invalidEvent: true, json: JSON.stringify({ errorType: 'InvalidRequestContentException', errorMessage: 'the event is not JSON' }) };
    }
    const id = requestId ?? requestIdOf(event) ?? randomUUID();
    try {
      const result = await handler(event, lambdaContext(id, Date.now() + timeoutMs));
      return { functionError: false, json: result === undefined ? 'null' : JSON.stringify(result) };
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      // The message only: a stack may quote code near a secret; the runtime logs its own errors.
      return { functionError: true, json: JSON.stringify({ errorType: e.name, errorMessage: e.message }) };
    }
  };

  const server = createServer({ noDelay: true }, (req, res) => {
    if (req.method !== 'POST' || req.url !== INVOKE_PATH) {
      discardBody(req, res, LAMBDA_PAYLOAD_BYTES);
      reply(res, 404, JSON.stringify({ errorType: 'ResourceNotFoundException', errorMessage: `no route ${req.method} ${req.url}` }));
      return;
    }
    // Lambda's Invoke API refuses a payload over its limit the same way.
    readLimitedBody(req, res, LAMBDA_PAYLOAD_BYTES, (read) => {
      if (!read.ok) {
        reply(res, 413, JSON.stringify({ errorType: 'RequestEntityTooLargeException', errorMessage: `the payload is larger than ${LAMBDA_PAYLOAD_BYTES} bytes` }));
        return;
      }
      invoke(read.body.toString('utf8'), req.headers['x-amz-request-id'] as string | undefined).then(
        (result) => {
          if (result.invalidEvent) reply(res, 400, result.json);
          else reply(res, 200, result.json, result.functionError ? { 'x-amz-function-error': 'Unhandled' } : {});
        },
        () => {
          if (!res.headersSent) reply(res, 500, JSON.stringify({ errorType: 'ServiceException', errorMessage: 'invocation failed' }));
          else res.destroy();
        },
      );
    });
    req.on('error', () => res.destroy());
  });
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  const port = await listen(server);
  const channel = serveInvocations((eventJson) => invoke(eventJson));
  const channelPort = await listen(channel);

  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    const done = () => process.exit(code);
    setTimeout(done, 2000).unref();
    server.closeAllConnections();
    channel.close();
    server.close(done);
  };
  process.on('SIGTERM', () => stop(0));
  // Ctrl-C reaches the whole process group; the supervisor decides when a tenant stops.
  process.on('SIGINT', () => undefined);
  process.on('disconnect', () => stop(0));
  process.on('message', (message: { type?: string }) => {
    if (message?.type === 'shutdown') stop(0);
  });
  send({ type: 'ready', port, channelPort, dynamoPort: null });
}

main().catch((error: unknown) => {
  const e = error as Error & { code?: string; permission?: string; resource?: string };
  let message = e instanceof Error ? e.message : String(error);
  // A path outside the tenant's confinement: name it (paths, never contents).
  if (e?.code === 'ERR_ACCESS_DENIED') message += ` (${e.permission ?? 'access'} ${e.resource ?? ''})`;
  send({ type: 'fatal', message });
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', tenant: process.env.SOVEREIGN_TENANT ?? null, message: `tenant process failed to start: ${message}` })}\n`);
  setTimeout(() => process.exit(1), 50);
});
