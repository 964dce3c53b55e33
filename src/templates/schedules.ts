/**
 * The tenant stack's schedules: one `AWS::Scheduler::Schedule` per schedule that is on for the
 * tenant (the manifest's `enabled`, then the tenant's `_schedules` setting), in a schedule group of
 * the tenant's own, invoking the tenant's function through a role of its own.
 *
 * - **A group per tenant stack** (`sovereign-<stage>-<tenant>`), not the account's default group:
 *   the stack owns it (deleting the stack deletes every schedule of the tenant with it), schedule
 *   names need only be unique within one tenant, and the role's trust policy can name the group, so
 *   no schedule of another tenant — or anyone else's in the account — can use the role.
 * - **The scheduler role** may do one thing: `lambda:InvokeFunction` on the tenant's function. Its
 *   trust policy admits `scheduler.amazonaws.com` only for this account (`aws:SourceAccount`) and
 *   only for the tenant's schedule group (`aws:SourceArn`, which Scheduler sets to the group's
 *   ARN), against the confused deputy.
 * - **No flexible window** (`FlexibleTimeWindow: OFF`): a schedule fires at its time, as `sovereign
 *   dev` fires it.
 * - **Retries, no dead-letter queue**: EventBridge Scheduler retries a delivery Lambda refused
 *   (throttling, a service error) for up to {@link SCHEDULE_RETRY} attempts within its maximum age;
 *   a run older than that is dropped, because the next one does the same work from the handler's
 *   checkpoint. A DLQ would be an SQS queue, policy and key per tenant holding only "run now"
 *   messages that the next run makes stale.
 *
 * Pure data from the manifest schedules and the tenant's settings, like the rest of the template.
 */
import { createHash } from 'node:crypto';
import { parseScheduleExpression } from '../contract/schedule-expression.js';
import { scheduledEvent, scheduleEnabledFor } from '../contract/schedules.js';
import type { ScheduleDefinition } from '../runtime/extension.js';
import { getAtt, ref, sub, tagList, type CfnResource } from './cfn.js';
import { tenantStackName } from './names.js';
import type { PolicyDocument } from './policy.js';

/** A manifest schedule as the tenant stack needs it: no handler. */
export interface StackSchedule {
  name: string;
  expression: string;
  payload?: unknown;
  /** The manifest's default (true when absent); the tenant's `_schedules` setting may override it. */
  enabled?: boolean;
  description?: string;
}

/** The schedules of a manifest as {@link StackSchedule}s. */
export function stackSchedulesOf(schedules: readonly ScheduleDefinition[] | undefined): StackSchedule[] {
  return (schedules ?? []).map((s) => ({
    name: s.name,
    expression: s.expression,
    ...(s.payload === undefined ? {} : { payload: s.payload }),
    ...(s.enabled === undefined ? {} : { enabled: s.enabled }),
    ...(s.description === undefined ? {} : { description: s.description }),
  }));
}

/** EventBridge Scheduler's delivery retries for every schedule of a tenant. */
export const SCHEDULE_RETRY = { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 300 } as const;

/** Schedule names: at most 64 of `[0-9a-zA-Z-_.]`. */
export const MAX_SCHEDULE_NAME_LENGTH = 64;

/** `sovereign-<stage>-<tenant>`: the tenant's schedule group. */
export function tenantScheduleGroupName(stage: string, tenant: string): string {
  return tenantStackName(stage, tenant);
}

/** `sovereign-<stage>-<tenant>-scheduler` (fits IAM's 64 characters for every valid stage and tenant). */
export function tenantSchedulerRoleName(stage: string, tenant: string): string {
  return `${tenantStackName(stage, tenant)}-scheduler`;
}

const shortHash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 8);

/** `<extension>.<schedule>` in the tenant's group; a name over 64 characters keeps 55 and a hash of the whole. */
export function scheduleResourceName(extension: string, schedule: string): string {
  const full = `${extension}.${schedule}`;
  return full.length <= MAX_SCHEDULE_NAME_LENGTH ? full : `${full.slice(0, MAX_SCHEDULE_NAME_LENGTH - 9)}-${shortHash(full)}`;
}

const pascal = (name: string) => name.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');

/** The schedule's logical id: readable, with a hash so `a-b`.`c` and `a`.`b-c` never meet. */
export function scheduleLogicalId(extension: string, schedule: string): string {
  return `Schedule${pascal(extension)}${pascal(schedule)}${shortHash(`${extension}.${schedule}`)}`;
}

/** What the scheduler role may do: invoke the one function, nothing else. */
export function renderSchedulerPolicy(functionArn: unknown): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Sid: 'InvokeTheTenantFunction', Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: [functionArn as string] }],
  } as PolicyDocument;
}

export interface ScheduleStackInputs {
  stage: string;
  tenant: string;
  extensions: ReadonlyArray<{ name: string; schedules?: StackSchedule[] }>;
  /** The tenant's settings per extension (`_schedules` turns schedules on or off). */
  settings: Record<string, unknown>;
  tags: Record<string, string>;
  /** A suspended tenant's schedules are rendered `DISABLED`. */
  suspended?: boolean;
}

/** The schedules that are on for the tenant, in extension then manifest order. */
export function enabledSchedules(inputs: Pick<ScheduleStackInputs, 'extensions' | 'settings'>): Array<{ extension: string; schedule: StackSchedule }> {
  return inputs.extensions.flatMap((extension) =>
    (extension.schedules ?? []).filter((s) => scheduleEnabledFor(s, inputs.settings[extension.name])).map((schedule) => ({ extension: extension.name, schedule })),
  );
}

/** The group, the role and one schedule per schedule that is on; nothing when none is. */
export function tenantScheduleResources(inputs: ScheduleStackInputs): Record<string, CfnResource> {
  const { stage, tenant } = inputs;
  const schedules = enabledSchedules(inputs);
  if (schedules.length === 0) return {};
  const group = tenantScheduleGroupName(stage, tenant);
  const resources: Record<string, CfnResource> = {
    ScheduleGroup: { Type: 'AWS::Scheduler::ScheduleGroup', Properties: { Name: group, Tags: tagList(inputs.tags) } },
    SchedulerRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        RoleName: tenantSchedulerRoleName(stage, tenant),
        Description: `EventBridge Scheduler for sovereign tenant ${tenant} (${stage}): invokes its function only`,
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'scheduler.amazonaws.com' },
              Action: 'sts:AssumeRole',
              Condition: {
                StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
                // EventBridge Scheduler sets aws:SourceArn to the schedule group's ARN (never a schedule's).
                ArnEquals: { 'aws:SourceArn': sub(`arn:\${AWS::Partition}:scheduler:\${AWS::Region}:\${AWS::AccountId}:schedule-group/${group}`) },
              },
            },
          ],
        },
        Policies: [{ PolicyName: 'sovereign-scheduler', PolicyDocument: renderSchedulerPolicy(getAtt('Function', 'Arn')) }],
        Tags: tagList(inputs.tags),
      },
    },
  };
  for (const { extension, schedule } of schedules) {
    const parsed = parseScheduleExpression(schedule.expression);
    // The manifest check refuses these first; a template is never rendered with one.
    if (!parsed.ok) throw new Error(`schedule ${extension}.${schedule.name}: ${parsed.problem}`);
    resources[scheduleLogicalId(extension, schedule.name)] = {
      Type: 'AWS::Scheduler::Schedule',
      Properties: {
        Name: scheduleResourceName(extension, schedule.name),
        GroupName: ref('ScheduleGroup'),
        Description: schedule.description ?? `${extension}.${schedule.name} of sovereign tenant ${tenant} (${stage})`,
        ScheduleExpression: schedule.expression,
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: inputs.suspended ? 'DISABLED' : 'ENABLED',
        Target: {
          Arn: getAtt('Function', 'Arn'),
          RoleArn: getAtt('SchedulerRole', 'Arn'),
          Input: JSON.stringify(scheduledEvent(extension, schedule.name, schedule.payload)),
          RetryPolicy: { ...SCHEDULE_RETRY },
        },
      },
    };
  }
  return resources;
}
