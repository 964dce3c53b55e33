/**
 * Change sets: create one, wait for it, read every page of its changes, summarise them (and flag
 * IAM-broadening ones), delete it. The summary is pure and rendered the same for deploy and diff.
 */
import {
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  type Change,
  type DescribeChangeSetCommandOutput,
} from '@aws-sdk/client-cloudformation';
import { ExitCode, UserError } from '../../errors.js';
import { realSleep } from './errors.js';
import { cfnCall, type StackIo } from './stack.js';

export { formatChangeSummary, isIamBroadening, summarizeChanges, type ChangeSetSummary, type ChangeSetType, type ResourceChangeSummary } from './change-summary.js';
import { summarizeChanges, type ChangeSetSummary, type ChangeSetType } from './change-summary.js';

export interface CreatedChangeSet {
  id: string;
  stackId: string;
  /** undefined when CloudFormation found nothing to change. */
  summary: ChangeSetSummary | undefined;
}

/** CloudFormation takes at most 51,200 bytes of template inline; more goes through S3. */
export const MAX_TEMPLATE_BODY_BYTES = 51_200;

const NO_CHANGES = /didn't contain changes|No updates are to be performed/i;

export interface CreateChangeSetInput {
  stackName: string;
  type: ChangeSetType;
  templateBody?: string;
  templateUrl?: string;
  parameters?: Record<string, string>;
  /** Parameters that keep the value the stack has (`UsePreviousValue`). */
  previousParameters?: string[];
  /** The stack's tags; absent, the change set sends none and the stack keeps its own. */
  tags?: Record<string, string>;
  description?: string;
  /** Epoch ms: a change set not computed by then is given up (`ChangeSetTimeoutError`). */
  deadline?: number;
}

/** CloudFormation could not compute the change set; `reason` is its StatusReason (AWS text). */
export class ChangeSetFailedError extends UserError {
  constructor(
    stackName: string,
    readonly reason: string,
  ) {
    super(`CloudFormation could not compute the changes to ${stackName}: ${reason}`, {
      exitCode: ExitCode.failed,
      hint: 'the template or a resource it names is not valid for this account and region',
    });
    this.name = 'ChangeSetFailedError';
  }
}

/** The change set was still being computed at the caller's deadline. */
export class ChangeSetTimeoutError extends UserError {
  constructor(
    stackName: string,
    readonly id: string,
  ) {
    super(`CloudFormation was still computing the change set of ${stackName} when time ran out`, { exitCode: ExitCode.failed });
    this.name = 'ChangeSetTimeoutError';
  }
}

/** A change set name CloudFormation accepts: starts with a letter, letters, digits and '-'. */
export function changeSetName(now: number, random: () => number = Math.random): string {
  return `sovereign-${now.toString(36)}-${Math.floor(random() * 36 ** 4).toString(36).padStart(4, '0')}`;
}

/**
 * Creates a change set and waits until CloudFormation has computed it; reads every page of its
 * changes. A change set with no changes is deleted and reported as `summary: undefined`.
 */
export async function createChangeSet(io: StackIo, input: CreateChangeSetInput): Promise<CreatedChangeSet> {
  const sleep = io.sleep ?? realSleep;
  const now = io.now ?? Date.now;
  const created = await cfnCall(io, `creating a change set for ${input.stackName}`, () =>
    io.cfn.send(
      new CreateChangeSetCommand({
        StackName: input.stackName,
        ChangeSetName: changeSetName(now()),
        ChangeSetType: input.type,
        ...(input.templateUrl ? { TemplateURL: input.templateUrl } : { TemplateBody: input.templateBody }),
        Capabilities: ['CAPABILITY_NAMED_IAM'],
        Parameters: [
          ...Object.entries(input.parameters ?? {}).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
          ...(input.previousParameters ?? []).map((ParameterKey) => ({ ParameterKey, UsePreviousValue: true })),
        ],
        ...(input.tags
          ? {
              Tags: Object.keys(input.tags)
                .sort()
                .map((Key) => ({ Key, Value: input.tags![Key]! })),
            }
          : {}),
        ...(input.description ? { Description: input.description } : {}),
      }),
    ),
  );
  const id = created.Id!;
  const stackId = created.StackId ?? input.stackName;
  let answer: DescribeChangeSetCommandOutput;
  for (let poll = 0; ; poll += 1) {
    answer = await cfnCall(io, `reading change set of ${input.stackName}`, () =>
      io.cfn.send(new DescribeChangeSetCommand({ ChangeSetName: id, StackName: stackId })),
    );
    if (answer.Status === 'CREATE_COMPLETE' || answer.Status === 'FAILED') break;
    if (input.deadline !== undefined && now() >= input.deadline) {
      await deleteChangeSet(io, id, stackId).catch(() => undefined);
      throw new ChangeSetTimeoutError(input.stackName, id);
    }
    // Change sets are usually ready within seconds: poll each second at first, then every 5 s.
    await sleep(poll < 10 ? 1000 : 5000);
  }
  if (answer.Status === 'FAILED') {
    if (NO_CHANGES.test(answer.StatusReason ?? '')) {
      await deleteChangeSet(io, id, stackId);
      return { id, stackId, summary: undefined };
    }
    await deleteChangeSet(io, id, stackId).catch(() => undefined);
    throw new ChangeSetFailedError(input.stackName, answer.StatusReason ?? 'no reason given');
  }
  const changes: Change[] = [...(answer.Changes ?? [])];
  let token = answer.NextToken;
  while (token) {
    const page = await cfnCall(io, `reading change set of ${input.stackName}`, () =>
      io.cfn.send(new DescribeChangeSetCommand({ ChangeSetName: id, StackName: stackId, NextToken: token })),
    );
    changes.push(...(page.Changes ?? []));
    token = page.NextToken;
  }
  return { id, stackId, summary: summarizeChanges(input.stackName, input.type, changes) };
}

export async function deleteChangeSet(io: StackIo, id: string, stackId: string): Promise<void> {
  await cfnCall(io, 'deleting a change set', () => io.cfn.send(new DeleteChangeSetCommand({ ChangeSetName: id, StackName: stackId })));
}
