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

export type ChangeSetType = 'CREATE' | 'UPDATE';

export interface ResourceChangeSummary {
  action: string;
  logicalId: string;
  type: string;
  physicalId?: string;
  /** `True`, `False` or `Conditional` for modifications. */
  replacement?: string;
  /** Properties, attributes or tags that change. */
  changed: string[];
  /** An IAM resource is added or modified: the tenant may gain permissions. */
  iamBroadening: boolean;
}

export interface ChangeSetSummary {
  stack: string;
  type: ChangeSetType;
  changes: ResourceChangeSummary[];
  counts: { add: number; modify: number; remove: number; other: number };
  /** Any change that needs approval (`--yes` or a prompt). */
  iamBroadening: boolean;
}

/** An IAM change that may grant more: any IAM resource added or modified. */
export function isIamBroadening(action: string, type: string): boolean {
  return type.startsWith('AWS::IAM::') && action !== 'Remove';
}

/** Pure: CloudFormation's change list as a summary, in a stable order. */
export function summarizeChanges(stack: string, type: ChangeSetType, changes: Change[]): ChangeSetSummary {
  const resources: ResourceChangeSummary[] = [];
  for (const change of changes) {
    const rc = change.ResourceChange;
    if (!rc) continue;
    const action = rc.Action ?? 'Unknown';
    const resourceType = rc.ResourceType ?? '';
    const changed = [
      ...new Set(
        (rc.Details ?? [])
          .map((d) => [d.Target?.Attribute, d.Target?.Name].filter(Boolean).join('.'))
          .filter((text) => text.length > 0),
      ),
    ].sort();
    resources.push({
      action,
      logicalId: rc.LogicalResourceId ?? '?',
      type: resourceType,
      ...(rc.PhysicalResourceId ? { physicalId: rc.PhysicalResourceId } : {}),
      ...(rc.Replacement ? { replacement: rc.Replacement } : {}),
      changed,
      iamBroadening: isIamBroadening(action, resourceType),
    });
  }
  const order: Record<string, number> = { Add: 0, Modify: 1, Remove: 2 };
  resources.sort((a, b) => (order[a.action] ?? 3) - (order[b.action] ?? 3) || a.logicalId.localeCompare(b.logicalId));
  const count = (action: string) => resources.filter((r) => r.action === action).length;
  return {
    stack,
    type,
    changes: resources,
    counts: { add: count('Add'), modify: count('Modify'), remove: count('Remove'), other: resources.filter((r) => !(r.action in order)).length },
    iamBroadening: resources.some((r) => r.iamBroadening),
  };
}

const SIGN: Record<string, string> = { Add: '+', Modify: '~', Remove: '-' };

/** Human text of a summary: one line per resource, replacements and IAM changes called out. */
export function formatChangeSummary(summary: ChangeSetSummary): string {
  if (summary.changes.length === 0) return `${summary.stack}: no changes`;
  const width = Math.max(...summary.changes.map((c) => c.logicalId.length));
  const lines = [
    `${summary.stack}: ${summary.type === 'CREATE' ? 'would create' : 'changes'} — ${summary.counts.add} to add, ${summary.counts.modify} to modify, ${summary.counts.remove} to remove`,
  ];
  for (const change of summary.changes) {
    const notes: string[] = [];
    if (change.replacement === 'True') notes.push('REPLACEMENT');
    else if (change.replacement === 'Conditional') notes.push('may be replaced');
    if (change.iamBroadening) notes.push('IAM: may grant more permissions');
    if (change.changed.length > 0 && change.action === 'Modify') notes.push(`changes ${change.changed.join(', ')}`);
    lines.push(`  ${SIGN[change.action] ?? '?'} ${change.logicalId.padEnd(width)}  ${change.type}${notes.length ? `  (${notes.join('; ')})` : ''}`);
  }
  return lines.join('\n');
}

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
