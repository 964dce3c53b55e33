/**
 * One execution environment of a tenant's function under `sovereign dev`: a process that loads the
 * tenant's built artifact and runs one invocation at a time, as a Lambda execution environment does.
 *
 * It listens on nothing. Invocations arrive on the pipe it inherits at fd 3 (`channel.ts`), which
 * only the dev process holds the other end of; its table is reached through the endpoint in
 * `AWS_ENDPOINT_URL_DYNAMODB`, served by the dev process. A handler that throws is a function
 * error `{ errorType, errorMessage }`; a result over Lambda's response limit is refused the way
 * Lambda refuses it. The process exits when its parent goes away (the IPC channel closes), on
 * SIGTERM (SIGINT is left to the dev process), or on a `{ type: 'shutdown' }` message.
 *
 * Started by `supervisor.ts` with `SOVEREIGN_DEV_ENTRY` (the artifact's `index.mjs`) besides the
 * runtime's own variables, and the heap limits Lambda's Node bootstrap derives from MemorySize.
 */
import { Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { LAMBDA_RESPONSE_BYTES } from './body.js';
import { serveInvocations, type IncomingInvocation, type InvocationResult } from './channel.js';
import type { HostMessage } from './protocol.js';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

/** The fd of the invocation pipe (`stdio[3]` of the fork). */
export const CHANNEL_FD = 3;

function send(message: HostMessage): void {
  if (process.send) process.send(message);
}

/** The Lambda context object handed to the handler. */
function lambdaContext(requestId: string, deadline: number): Record<string, unknown> {
  const name = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'function';
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION ?? 'us-east-1'}:000000000000:function:${name}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '1024',
    awsRequestId: requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME ?? `/aws/lambda/${name}`,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? `local/${process.pid}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Peak resident memory of this environment so far, in KiB (Lambda's `Max Memory Used`). */
function maxRssKiB(): number {
  return process.resourceUsage().maxRSS;
}

async function main(): Promise<void> {
  const entry = process.env.SOVEREIGN_DEV_ENTRY;
  if (!entry) throw new Error('SOVEREIGN_DEV_ENTRY must be set');
  // Before any extension code runs: the pipe is this environment's only way in.
  const channel = new Socket({ fd: CHANNEL_FD, readable: true, writable: true });

  const module = (await import(pathToFileURL(entry).href)) as { handler?: Handler };
  const handler = module.handler;
  if (typeof handler !== 'function') throw new Error(`${entry} exports no handler function`);

  /** One invocation, as Lambda runs it: the result, or a function error with the message only. */
  const invoke = async ({ awsRequestId, eventJson, timeoutMs }: IncomingInvocation): Promise<InvocationResult> => {
    let event: unknown;
    try {
      event = JSON.parse(eventJson);
    } catch {
      return { functionError: true, json: JSON.stringify({ errorType: 'InvalidRequestContentException', errorMessage: 'the event is not JSON' }), maxRssKiB: maxRssKiB() };
    }
    try {
      const result = await handler(event, lambdaContext(awsRequestId, Date.now() + timeoutMs));
      const json = result === undefined ? 'null' : JSON.stringify(result);
      if (json.length > LAMBDA_RESPONSE_BYTES / 3 && Buffer.byteLength(json) > LAMBDA_RESPONSE_BYTES) {
        // Lambda's own refusal (the runtime API answers 413 to the runtime client).
        return { functionError: true, json: JSON.stringify({ errorType: 'RequestEntityTooLarge', errorMessage: `Exceeded maximum allowed payload size (${LAMBDA_RESPONSE_BYTES} bytes).` }), maxRssKiB: maxRssKiB() };
      }
      return { functionError: false, json, maxRssKiB: maxRssKiB() };
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      // The message only: a stack may quote code near a secret; the runtime logs its own errors.
      return { functionError: true, json: JSON.stringify({ errorType: e.name, errorMessage: e.message }), maxRssKiB: maxRssKiB() };
    }
  };
  serveInvocations(channel, invoke);

  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    channel.destroy();
    setTimeout(() => process.exit(code), 50).unref();
  };
  process.on('SIGTERM', () => stop(0));
  // Ctrl-C reaches the whole process group; the dev process decides when an environment stops.
  process.on('SIGINT', () => undefined);
  process.on('disconnect', () => stop(0));
  process.on('message', (message: { type?: string }) => {
    if (message?.type === 'shutdown') stop(0);
  });
  channel.on('close', () => stop(0));
  send({ type: 'ready' });
}

main().catch((error: unknown) => {
  const e = error as Error & { code?: string; permission?: string; resource?: string };
  let message = e instanceof Error ? e.message : String(error);
  // A path outside the tenant's confinement: name it (paths, never contents).
  if (e?.code === 'ERR_ACCESS_DENIED') message += ` (${e.permission ?? 'access'} ${e.resource ?? ''})`;
  send({ type: 'fatal', message });
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', tenant: process.env.SOVEREIGN_TENANT ?? null, message: `tenant environment failed to start: ${message}` })}\n`);
  setTimeout(() => process.exit(1), 50);
});
