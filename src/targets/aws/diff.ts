/**
 * `tenant diff` on aws: a change set against the deployed stack (deleted afterwards), or "would
 * create" from the template when there is no stack.
 */
import type { Change } from '@aws-sdk/client-cloudformation';
import { templateSha256, type TenantDiff } from '../diff.js';
import { tenantStackName } from '../../templates/names.js';
import { createChangeSet, deleteChangeSet, summarizeChanges, type ChangeSetSummary } from './changeset.js';
import type { AwsSession } from './session.js';
import { describeStack, isInProgress, type StackIo } from './stack.js';
import { conflict } from '../../errors.js';
import { artifactBucket, MAX_TEMPLATE_BODY_BYTES, templateUploader } from './deploy.js';

/** Pure: a template's resources as a summary of additions. */
export function creationSummary(stack: string, template: { Resources?: Record<string, { Type?: string }> }): ChangeSetSummary {
  const changes: Change[] = Object.entries(template.Resources ?? {}).map(([id, resource]) => ({
    Type: 'Resource',
    ResourceChange: { Action: 'Add', LogicalResourceId: id, ResourceType: resource.Type ?? '' },
  }));
  return summarizeChanges(stack, 'CREATE', changes);
}

export async function diffTenantOnAws(options: { session: AwsSession; tenant: string; template: unknown; tags: Record<string, string> }): Promise<TenantDiff> {
  const { session, tenant } = options;
  await session.announce();
  const stackName = tenantStackName(session.stage, tenant);
  const io: StackIo = { cfn: session.clients.cloudformation, sleep: session.sleep, now: session.now };
  const stack = await describeStack(io, stackName);
  const status = stack?.StackStatus;
  if (!stack || status === 'REVIEW_IN_PROGRESS' || status === 'ROLLBACK_COMPLETE' || status === 'ROLLBACK_FAILED' || status === 'DELETE_COMPLETE') {
    const summary = creationSummary(stackName, options.template as { Resources?: Record<string, { Type?: string }> });
    return { tenant, target: 'aws', status: 'would-create', changed: true, summary };
  }
  if (isInProgress(status)) throw conflict(`stack ${stackName} is busy (${status})`, 'wait for the running deploy or delete to finish, then diff again');
  const body = JSON.stringify(options.template);
  const source = Buffer.byteLength(body) <= MAX_TEMPLATE_BODY_BYTES
    ? { templateBody: body }
    : { templateUrl: await templateUploader(session, await artifactBucket(session))(body, templateSha256(options.template)) };
  const created = await createChangeSet(io, { stackName, type: 'UPDATE', ...source, tags: options.tags });
  if (!created.summary) return { tenant, target: 'aws', status: 'up-to-date', changed: false };
  await deleteChangeSet(io, created.id, created.stackId);
  return { tenant, target: 'aws', status: 'changes', changed: true, summary: created.summary };
}

