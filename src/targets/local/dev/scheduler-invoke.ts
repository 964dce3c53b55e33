/**
 * `POST /_sovereign/dev/invoke`: the dev gateway's control endpoint that runs one schedule of a
 * running tenant now (`sovereign tenant run` on the local target), with the same event and channel
 * as the dev scheduler and EventBridge Scheduler on aws.
 *
 * Request body: `{ "tenant": "acme", "extension": "sync", "schedule": "every-quarter", "payload"?: … }`.
 * Answer: 200 `{ tenant, functionError, result }` (`result`: the runtime's answer, or Lambda's
 * `{ errorType, errorMessage }` when `functionError`), 400 for a malformed body, 404 for an unknown
 * tenant, 403 for a tenant suspended in the registry (whatever its own marker says), 503 when the
 * tenant's process is not running.
 *
 * Like every `/_sovereign/dev/*` endpoint it answers loopback connections only, and only with the
 * token of `dev.json` (`devEndpointRefusal`), which no tenant process may read.
 */
import type { Project } from '../../../project.js';
import { badInput, notFound, UserError } from '../../../errors.js';
import { isExtensionName, isTenantId } from '../../../contract/names.js';
import { scheduledEvent, SCHEDULE_NAME, type ScheduledEvent } from '../../../contract/schedules.js';
import type { ScheduleRunResult } from '../../../runtime/schedule.js';
import type { ScheduleRunOutcome } from '../../target.js';
import { devEndpointHeaders, runningDevState } from './state-file.js';

export const DEV_INVOKE_PATH = '/_sovereign/dev/invoke';
/** The request body: names and a payload (a manifest payload is at most 8 KiB). */
export const DEV_INVOKE_MAX_BODY = 64 * 1024;

export interface DevInvokeRequest {
  tenant: string;
  event: ScheduledEvent;
}

export interface DevInvokeAnswer {
  tenant: string;
  functionError: boolean;
  result: unknown;
}

/** Whether a socket's remote address is this machine's loopback. */
export function isLoopbackAddress(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

/** The request body as a tenant and a scheduled event, or the problem with it. */
export function parseDevInvokeRequest(body: Buffer): { ok: true; request: DevInvokeRequest } | { ok: false; problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, problem: 'the body is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, problem: 'the body must be a JSON object' };
  const { tenant, extension, schedule, payload, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return { ok: false, problem: `unknown member "${Object.keys(rest)[0]}"` };
  if (typeof tenant !== 'string' || !isTenantId(tenant)) return { ok: false, problem: 'tenant must be a tenant id' };
  if (typeof extension !== 'string' || !isExtensionName(extension)) return { ok: false, problem: 'extension must be an extension name' };
  if (typeof schedule !== 'string' || !SCHEDULE_NAME.test(schedule)) return { ok: false, problem: 'schedule must be a schedule name' };
  return { ok: true, request: { tenant, event: scheduledEvent(extension, schedule, payload) } };
}

/**
 * The local target's `runSchedule`: asks the running `sovereign dev` of the project to invoke the
 * tenant, or says how to start one.
 */
export async function runScheduleThroughDev(project: Project, tenant: string, event: ScheduledEvent, timeoutMs = 60_000): Promise<ScheduleRunOutcome> {
  const dev = runningDevState(project.paths.devState);
  if (dev === undefined) {
    throw new UserError(`sovereign dev is not running for this project, so tenant "${tenant}" has no running process`, { hint: `start it in another terminal (\`sovereign dev\`), then run this again` });
  }
  const via = `sovereign dev on port ${dev.port}`;
  let answer: Response;
  try {
    answer = await fetch(`http://127.0.0.1:${dev.port}${DEV_INVOKE_PATH}`, {
      method: 'POST',
      // dev's own endpoints take the token of dev.json (which no tenant process can read).
      headers: { 'content-type': 'application/json', ...devEndpointHeaders(dev) },
      body: JSON.stringify({ tenant, extension: event.extension, schedule: event.schedule, ...(event.payload === undefined ? {} : { payload: event.payload }) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new UserError(`could not reach ${via}: ${(error as Error).message}`, { hint: 'check that `sovereign dev` is still running' });
  }
  const text = await answer.text();
  if (answer.status === 404) throw notFound(`${via} does not serve tenant "${tenant}"`, 'start dev for it (`sovereign dev`, or `sovereign dev --tenant <id>`)');
  if (answer.status === 403) throw new UserError(`tenant "${tenant}" is suspended: its schedules do not run`, { hint: `resume it first: sovereign tenant resume ${tenant}` });
  if (answer.status === 503) throw new UserError(`tenant "${tenant}" is not running under ${via}`, { hint: 'see its state in the dev output; it may be building or restarting' });
  if (answer.status === 400) throw badInput(`${via} refused the run: ${detailOf(text)}`);
  if (answer.status !== 200) throw new UserError(`${via} answered ${answer.status}: ${detailOf(text)}`);
  const body = JSON.parse(text) as DevInvokeAnswer;
  if (body.functionError) {
    const message = (body.result as { errorMessage?: string } | null)?.errorMessage ?? 'the function failed';
    return { via, run: { status: 'failed', extension: event.extension, schedule: event.schedule, requestId: '', durationMs: 0, error: message } };
  }
  return { via, run: body.result as ScheduleRunResult };
}

function detailOf(text: string): string {
  try {
    const parsed = JSON.parse(text) as { detail?: unknown };
    if (typeof parsed.detail === 'string') return parsed.detail;
  } catch {
    // not JSON
  }
  return text.slice(0, 200);
}
