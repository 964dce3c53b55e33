/**
 * `sovereign tenant run` on aws: one synchronous Lambda `Invoke` of the tenant's function with the
 * event its EventBridge Scheduler schedule sends (`contract/schedules.ts`), so a run now takes the
 * same path through the runtime as a scheduled one. The Lambda client is injected (tests hand in
 * one aws-sdk-client-mock replaces) and honours `--endpoint-url` / `AWS_ENDPOINT_URL` like every
 * client of the session.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { denied, notFound, UserError } from '../../errors.js';
import type { ScheduledEvent } from '../../contract/schedules.js';
import type { ScheduleRunResult } from '../../runtime/schedule.js';
import type { TenantRecord } from '../../state/registry.js';
import { tenantFunctionName } from '../../templates/names.js';
import type { ScheduleRunOutcome } from '../target.js';

const isRunResult = (value: unknown): value is ScheduleRunResult =>
  typeof value === 'object' && value !== null && ['succeeded', 'failed', 'refused'].includes((value as { status?: unknown }).status as string);

/** Invokes the tenant's function with `event` and reads the run's outcome from its answer. */
export async function runScheduleOnAws(lambda: LambdaClient, tenant: Pick<TenantRecord, 'id' | 'stage'>, event: ScheduledEvent): Promise<ScheduleRunOutcome> {
  const functionName = tenantFunctionName(tenant.stage, tenant.id);
  const via = `Lambda ${functionName}`;
  let answer;
  try {
    answer = await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: new TextEncoder().encode(JSON.stringify(event)) }));
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    if (name === 'ResourceNotFoundException') throw notFound(`tenant "${tenant.id}" has no function ${functionName} on aws`, `deploy it first: sovereign tenant deploy ${tenant.id}`);
    if (name === 'AccessDeniedException') throw denied(`the caller may not invoke ${functionName}`, 'grant lambda:InvokeFunction on the tenant function to the identity the CLI runs as');
    if (name === 'TooManyRequestsException') throw new UserError(`${functionName} was throttled (a suspended tenant has no concurrency)`, { hint: `see \`sovereign tenant show ${tenant.id}\`; resume it or retry later` });
    throw error;
  }
  const text = answer.Payload === undefined ? 'null' : new TextDecoder().decode(answer.Payload);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const requestId = answer.$metadata.requestId ?? '';
  if (answer.FunctionError !== undefined) {
    // Lambda's own error shape: a crash or a timeout, not the runtime's answer.
    const message = typeof (body as { errorMessage?: unknown } | undefined)?.errorMessage === 'string' ? (body as { errorMessage: string }).errorMessage : answer.FunctionError;
    return { via, run: { status: 'failed', extension: event.extension, schedule: event.schedule, requestId, durationMs: 0, error: message } };
  }
  if (!isRunResult(body)) throw new UserError(`${functionName} did not answer a scheduled event as a sovereign runtime does`, { hint: `deploy the tenant with this version: sovereign tenant deploy ${tenant.id}` });
  return { via, run: body };
}
