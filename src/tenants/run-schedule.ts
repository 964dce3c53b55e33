/**
 * `sovereign tenant run <id> <extension>.<schedule>`: one schedule of a tenant run now, through the
 * target (Lambda `Invoke` on aws, the running `sovereign dev` on local) with the event its schedule
 * sends, so the runtime — not the CLI — decides whether the schedule exists and is on.
 *
 * Not an audit event: a run changes no tenant state the CLI records (no registry, secret or stack
 * change), like a request to the tenant's API; the runtime logs it with its request id.
 */
import { badInput, notFound, UserError } from '../errors.js';
import { parseScheduleTarget, scheduledEvent, SCHEDULE_PAYLOAD_MAX } from '../contract/schedules.js';
import type { ScheduleRunResult } from '../runtime/schedule.js';
import type { StateStore } from '../state/store.js';
import type { ScheduleRunOutcome, Target } from '../targets/target.js';
import { requireTenant } from './tenants.js';

export interface RunScheduleRequest {
  tenant: string;
  /** `<extension>.<schedule>`. */
  target: string;
  /** `--payload`: JSON text replacing the manifest's payload. */
  payload?: string;
}

/** `--payload` as a JSON value, or the error that refuses it before anything runs. */
export function parsePayloadOption(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badInput(`--payload is not JSON: ${(error as Error).message}`, `quote it for the shell, e.g. --payload '{"full":true}'`);
  }
  if (text.length > SCHEDULE_PAYLOAD_MAX) throw badInput(`--payload is ${text.length} characters; a schedule payload is at most ${SCHEDULE_PAYLOAD_MAX}`, 'keep large inputs in the tenant\'s table or settings');
  return value;
}

/** Runs the schedule and returns the outcome of a run that succeeded; any other outcome is a `UserError`. */
export async function runTenantSchedule(state: StateStore, target: Pick<Target, 'runSchedule'>, request: RunScheduleRequest): Promise<ScheduleRunOutcome & { tenant: string }> {
  const names = parseScheduleTarget(request.target);
  if (names === undefined) throw badInput(`"${request.target}" is not <extension>.<schedule>`, 'e.g. sovereign tenant run acme avalara-cetec-sync.sync; `sovereign ext validate` lists the schedules');
  const payload = request.payload === undefined ? undefined : parsePayloadOption(request.payload);
  const record = await requireTenant(state, request.tenant);
  if (!record.extensions.includes(names.extension)) {
    throw notFound(`extension "${names.extension}" is not enabled for tenant "${record.id}"`, `enable it with \`sovereign ext enable ${names.extension} --tenant ${record.id}\``);
  }
  const outcome = await target.runSchedule(record, scheduledEvent(names.extension, names.schedule, payload));
  const failure = failureOf(outcome.run, record.id, outcome.via);
  if (failure) throw failure;
  return { tenant: record.id, ...outcome };
}

function failureOf(run: ScheduleRunResult, tenant: string, via: string): UserError | undefined {
  const name = `${run.extension}.${run.schedule}`;
  const logs = `see its log lines: sovereign tenant logs ${tenant}${run.requestId ? ` --request-id ${run.requestId}` : ` --extension ${run.extension}`}`;
  if (run.status === 'succeeded') return undefined;
  if (run.status === 'failed') return new UserError(`schedule ${name} of tenant "${tenant}" failed (${via}): ${run.error}`, { hint: logs });
  switch (run.reason) {
    case 'unknown-extension':
    case 'unknown-schedule':
      return notFound(`tenant "${tenant}" runs no schedule ${name}: ${run.message}`, '`sovereign ext validate` lists each extension\'s schedules; deploy the tenant after adding one');
    case 'schedule-disabled':
      return badInput(`schedule ${name} is disabled for tenant "${tenant}"`, `turn it on in the manifest (enabled) or in the tenant's settings for ${run.extension}: { "_schedules": { "${run.schedule}": true } }`);
    case 'tenant-suspended':
      return new UserError(`tenant "${tenant}" is suspended: its schedules do not run`, { hint: `resume it first: sovereign tenant resume ${tenant}` });
    default:
      return new UserError(`schedule ${name} of tenant "${tenant}" did not run: ${run.message}`, { hint: logs });
  }
}
