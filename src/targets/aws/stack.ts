/**
 * CloudFormation stacks: their status, following their events to a terminal status, deleting
 * them. Every call backs off on throttling.
 */
import {
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type CloudFormationClient,
  type Stack,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { ExitCode, UserError } from '../../errors.js';
import type { LiveView } from '../../output/live.js';
import { awsFailure, isStackMissing, realSleep, withBackoff, type Sleep } from './errors.js';

/** What a stack operation needs besides the client: time, and where progress goes. */
export interface StackIo {
  cfn: CloudFormationClient;
  sleep?: Sleep;
  now?: () => number;
  /** Resource rows (resource, status, elapsed) and log lines. */
  view?: LiveView;
  /** Delay between polls (default 5 s; the first polls are quicker). */
  pollMs?: number;
  /** Give up following after this long (default 2 h). */
  timeoutMs?: number;
  /** At the timeout, answer the stack's status with `timedOut: true` instead of throwing. */
  returnAtTimeout?: boolean;
  /** A line about a throttled call being retried. */
  onThrottled?: (message: string) => void;
}

export async function cfnCall<T>(io: StackIo, doing: string, call: () => Promise<T>): Promise<T> {
  try {
    return await withBackoff(call, {
      sleep: io.sleep ?? realSleep,
      onRetry: (attempt, delay) => io.onThrottled?.(`CloudFormation throttled ${doing}; retrying in ${delay} ms (attempt ${attempt + 1})`),
    });
  } catch (error) {
    throw awsFailure(error, doing);
  }
}

/** The stack, or undefined when there is none by that name. */
export async function describeStack(io: StackIo, stackName: string): Promise<Stack | undefined> {
  try {
    const answer = await withBackoff(() => io.cfn.send(new DescribeStacksCommand({ StackName: stackName })), { sleep: io.sleep ?? realSleep });
    return answer.Stacks?.[0];
  } catch (error) {
    if (isStackMissing(error)) return undefined;
    throw awsFailure(error, `describing stack ${stackName}`);
  }
}

export const TERMINAL_STACK_STATUSES = new Set([
  'CREATE_COMPLETE',
  'CREATE_FAILED',
  'DELETE_COMPLETE',
  'DELETE_FAILED',
  'IMPORT_COMPLETE',
  'IMPORT_ROLLBACK_COMPLETE',
  'IMPORT_ROLLBACK_FAILED',
  'ROLLBACK_COMPLETE',
  'ROLLBACK_FAILED',
  'UPDATE_COMPLETE',
  'UPDATE_FAILED',
  'UPDATE_ROLLBACK_COMPLETE',
  'UPDATE_ROLLBACK_FAILED',
]);

export function isInProgress(status: string | undefined): boolean {
  return status !== undefined && status.endsWith('_IN_PROGRESS') && status !== 'REVIEW_IN_PROGRESS';
}

/** The stack's own events (not a resource's): those mark where an operation ends. */
function isStackEvent(event: StackEvent): boolean {
  return event.ResourceType === 'AWS::CloudFormation::Stack' && event.PhysicalResourceId === event.StackId;
}

/** The newest event's id, so following starts after it. */
export async function latestEventId(io: StackIo, stackId: string): Promise<string | undefined> {
  const answer = await cfnCall(io, `reading events of ${stackId}`, () => io.cfn.send(new DescribeStackEventsCommand({ StackName: stackId })));
  return answer.StackEvents?.[0]?.EventId;
}

/**
 * Events newer than `after`, oldest first. DescribeStackEvents pages newest first, so pages are read
 * until the known event appears (or the history ends).
 */
export async function newEvents(io: StackIo, stackId: string, after: string | undefined, seen: Set<string>): Promise<StackEvent[]> {
  const fresh: StackEvent[] = [];
  let token: string | undefined;
  let reachedKnown = false;
  do {
    const answer = await cfnCall(io, `reading events of ${stackId}`, () =>
      io.cfn.send(new DescribeStackEventsCommand({ StackName: stackId, ...(token ? { NextToken: token } : {}) })),
    );
    for (const event of answer.StackEvents ?? []) {
      if ((after !== undefined && event.EventId === after) || (event.EventId !== undefined && seen.has(event.EventId))) {
        reachedKnown = true;
        break;
      }
      fresh.push(event);
    }
    token = reachedKnown ? undefined : answer.NextToken;
  } while (token);
  fresh.reverse();
  for (const event of fresh) if (event.EventId) seen.add(event.EventId);
  return fresh;
}

export interface FollowResult {
  status: string;
  /** The first resource that failed, with CloudFormation's reason. */
  firstFailure?: { logicalId: string; type: string; status: string; reason: string };
  events: number;
  /** Still in progress when `timeoutMs` ran out (only with `returnAtTimeout`). */
  timedOut?: true;
}

function tone(status: string): 'ok' | 'fail' | 'busy' | 'idle' {
  if (status.includes('FAILED') || status.includes('ROLLBACK')) return 'fail';
  if (status.endsWith('_IN_PROGRESS')) return 'busy';
  if (status.endsWith('_COMPLETE')) return 'ok';
  return 'idle';
}

/**
 * Follows a stack's events from `after` until the stack reaches a terminal status: each new event
 * updates its resource's row (status, elapsed since the operation started). Ends with the stack
 * status and the first failed resource, if any.
 */
export async function followStack(io: StackIo, stackId: string, after: string | undefined, startedAt: number): Promise<FollowResult> {
  const sleep = io.sleep ?? realSleep;
  const now = io.now ?? Date.now;
  const pollMs = io.pollMs ?? 5000;
  const deadline = startedAt + (io.timeoutMs ?? 2 * 60 * 60 * 1000);
  const seen = new Set<string>();
  let firstFailure: FollowResult['firstFailure'];
  let count = 0;
  let quietPolls = 0;
  for (let poll = 0; ; poll += 1) {
    const events = await newEvents(io, stackId, after, seen);
    count += events.length;
    let terminal: string | undefined;
    for (const event of events) {
      const status = event.ResourceStatus ?? 'UNKNOWN';
      const logicalId = event.LogicalResourceId ?? '?';
      const at = event.Timestamp ? new Date(event.Timestamp).getTime() : now();
      const elapsed = `${Math.max(0, Math.round((at - startedAt) / 1000))}s`;
      const reason = event.ResourceStatusReason;
      if (status.endsWith('_FAILED') && !isStackEvent(event) && firstFailure === undefined && !/cancel/i.test(reason ?? '')) {
        firstFailure = { logicalId, type: event.ResourceType ?? '', status, reason: reason ?? 'no reason given' };
      }
      io.view?.update({
        key: logicalId,
        status,
        tone: tone(status),
        detail: [event.ResourceType, elapsed, status.endsWith('_FAILED') ? reason : undefined].filter(Boolean).join('  '),
      });
      if (isStackEvent(event) && TERMINAL_STACK_STATUSES.has(status)) terminal = status;
    }
    if (terminal) return { status: terminal, ...(firstFailure ? { firstFailure } : {}), events: count };
    quietPolls = events.length === 0 ? quietPolls + 1 : 0;
    if (quietPolls >= 6) {
      // Events are the record, but a stack's own status settles the question when they go quiet.
      const stack = await describeStack(io, stackId);
      const status = stack?.StackStatus ?? 'DELETE_COMPLETE';
      if (TERMINAL_STACK_STATUSES.has(status)) return { status, ...(firstFailure ? { firstFailure } : {}), events: count };
      quietPolls = 0;
    }
    if (now() > deadline) {
      if (io.returnAtTimeout) {
        const status = (await describeStack(io, stackId))?.StackStatus ?? 'UNKNOWN';
        return { status, ...(firstFailure ? { firstFailure } : {}), events: count, timedOut: true };
      }
      throw new UserError(`stopped following ${stackId} after ${Math.round((now() - startedAt) / 60000)} minutes; it is still in progress`, {
        exitCode: ExitCode.failed,
        hint: 'CloudFormation carries on; look at the stack in the console, then deploy again once it has finished',
      });
    }
    await sleep(poll < 3 ? Math.min(1000, pollMs) : pollMs);
  }
}

/** Deletes a stack and follows it until it is gone; DELETE_FAILED is an error naming the resource. */
export async function deleteStackAndWait(io: StackIo, stack: Pick<Stack, 'StackId' | 'StackName'>): Promise<FollowResult> {
  const stackId = stack.StackId ?? stack.StackName!;
  const after = await latestEventId(io, stackId);
  const startedAt = (io.now ?? Date.now)();
  await cfnCall(io, `deleting stack ${stack.StackName}`, () => io.cfn.send(new DeleteStackCommand({ StackName: stackId })));
  const result = await followStack(io, stackId, after, startedAt);
  if (result.status !== 'DELETE_COMPLETE') {
    const failure = result.firstFailure;
    throw new UserError(
      `deleting stack ${stack.StackName} ended in ${result.status}${failure ? `: ${failure.logicalId} (${failure.type}) ${failure.status}: ${failure.reason}` : ''}`,
      { exitCode: ExitCode.failed, hint: 'fix what blocks the resource (see the reason), then run the command again' },
    );
  }
  return result;
}

/** Stack outputs as a map. */
export function stackOutputs(stack: Stack | undefined): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const output of stack?.Outputs ?? []) if (output.OutputKey) outputs[output.OutputKey] = output.OutputValue ?? '';
  return outputs;
}
