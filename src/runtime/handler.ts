/**
 * `createLambdaHandler`: the tenant's Lambda entry, the module a tenant artifact's entry imports.
 * At cold start it reads the environment contract and starts the runtime (`cold-start.ts`); each
 * invocation then goes to the runtime's request handling (`request.ts`).
 */
import type { RuntimeConfig } from './config.js';
import { deferredFetcher, readRuntimeConfig, selectFetcher, type BundledExtension, type LambdaHandlerOptions } from './cold-start.js';
import { describeError } from './errors.js';
import { normaliseEvent, problem, type HttpEventV2, type HttpResultV2, type IncomingRequest, type LambdaContextLike } from './http.js';
import { stdoutWriter } from './log.js';
import { TenantRuntime } from './request.js';
import { asScheduledEvent, SCHEDULE_EVENT_SOURCE, type ScheduledEvent } from '../contract/schedules.js';
import type { ScheduleRunResult } from './schedule.js';

// The entry's signature types, importable from the entry itself.
export type { BundledExtension, LambdaHandlerOptions } from './cold-start.js';

/**
 * The function Lambda invokes: one HTTP API or Function URL event in, its HTTP result out; or a
 * scheduled event (`contract/schedules.ts`) in, the run's outcome out.
 */
export interface LambdaHandler {
  (event: HttpEventV2, context?: LambdaContextLike): Promise<HttpResultV2>;
  (event: ScheduledEvent, context?: LambdaContextLike): Promise<ScheduleRunResult>;
}

/** A handler with its runtime exposed (tests, the test kit and benchmarks inspect it). */
export interface RuntimeHandler extends LambdaHandler {
  runtime: Promise<TenantRuntime | undefined>;
}

/**
 * The tenant's Lambda handler for API Gateway HTTP API (payload 2.0) and Function URL events.
 * Cold start happens when this is called (module initialisation of the artifact); a bad
 * configuration is logged once and every request then answers 500 `runtime-misconfigured`.
 */
export function createLambdaHandler(extensions: BundledExtension[], options: LambdaHandlerOptions = {}): RuntimeHandler {
  const write = options.write ?? stdoutWriter;
  const { config, failure } = readRuntimeConfig(options.env ?? process.env, write);

  const runtime: Promise<TenantRuntime | undefined> = config === undefined
    ? Promise.resolve(undefined)
    : (async () => {
        const cfg = config as RuntimeConfig;
        // The backend's module loads while the extensions do; the runtime serves once both are ready.
        const backend = options.secretBackend === undefined ? selectFetcher(cfg, options) : Promise.resolve(options.secretBackend);
        const instance = new TenantRuntime(cfg, deferredFetcher(backend), options);
        await Promise.all([backend, instance.init(extensions)]);
        instance.log('info', 'cold start complete', {
          artifact: cfg.artifact,
          extensions: [...instance.extensions.values()].map((e) => `${e.name}:${e.status}`),
        });
        return instance;
      })();
  // Never an unhandled rejection at init: the first request reports it.
  runtime.catch(() => undefined);

  let ready: TenantRuntime | undefined;
  const serve = (instance: TenantRuntime, request: IncomingRequest): Promise<HttpResultV2> => {
    let result: Promise<HttpResultV2> | HttpResultV2;
    try {
      result = instance.handle(request);
    } catch (error) {
      result = instance.internalError(error, request);
    }
    return result instanceof Promise ? result : Promise.resolve(result);
  };
  const start = async (request: IncomingRequest): Promise<HttpResultV2> => {
    let instance: TenantRuntime | undefined;
    try {
      instance = await runtime;
    } catch (error) {
      write(JSON.stringify({ time: new Date().toISOString(), level: 'error', message: 'runtime failed to start', requestId: request.requestId, fields: { error: describeError(error) } }));
      return problem(500, 'runtime-failed', request, 'the tenant runtime failed to start');
    }
    if (instance === undefined) return problem(500, 'runtime-misconfigured', request, 'the tenant runtime is misconfigured');
    ready = instance;
    return serve(instance, request);
  };
  const scheduled = async (event: ScheduledEvent, context: LambdaContextLike | undefined): Promise<ScheduleRunResult | HttpResultV2> => {
    const requestId = context?.awsRequestId || requestIdFallback();
    let instance: TenantRuntime | undefined;
    try {
      instance = await runtime;
    } catch {
      instance = undefined;
    }
    if (instance === undefined) {
      write(JSON.stringify({ time: new Date().toISOString(), level: 'error', message: 'scheduled event refused: the runtime did not start', requestId, fields: { extension: event.extension, schedule: event.schedule } }));
      return { status: 'refused', extension: event.extension, schedule: event.schedule, requestId, reason: 'extension-unavailable', message: 'the tenant runtime failed to start or is misconfigured' };
    }
    return instance.runSchedule(event, requestId);
  };
  // Not `async`: a warm request's promise is the route's own, handed back without another hop.
  const handler = ((event: HttpEventV2, context?: LambdaContextLike) => {
    // Only a direct invocation sets a top-level `source`: API Gateway's events have none.
    if ((event as { source?: unknown } | null)?.source === SCHEDULE_EVENT_SOURCE) {
      const run = asScheduledEvent(event);
      if (run !== undefined) return scheduled(run, context);
    }
    const request = normaliseEvent(event, context, requestIdFallback);
    if (ready !== undefined) return serve(ready, request);
    if (failure) return Promise.resolve(problem(500, 'runtime-misconfigured', request, 'the tenant runtime is misconfigured; see the cold-start log line'));
    return start(request);
  }) as RuntimeHandler;
  handler.runtime = runtime;
  return handler;
}

/**
 * A request id when neither the event nor the Lambda context carries one (both always do on AWS).
 * The global Web Crypto loads on first use; importing node:crypto would cost every cold start.
 */
function requestIdFallback(): string {
  return globalThis.crypto.randomUUID();
}
