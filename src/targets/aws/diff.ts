/**
 * `tenant diff`: what a deploy would change. On aws, a change set against the deployed stack
 * (deleted afterwards), or "would create" from the template when there is no stack. On local, the
 * would-be artifact and template against the last successful deploy record.
 */
import { createHash } from 'node:crypto';
import type { Change } from '@aws-sdk/client-cloudformation';
import { canonicalJson } from '../../contract/canonical-json.js';
import type { DeployRecord } from '../../state/registry.js';
import { tenantStackName } from '../../templates/names.js';
import { createChangeSet, deleteChangeSet, summarizeChanges, type ChangeSetSummary } from './changeset.js';
import type { AwsSession } from './session.js';
import { describeStack, isInProgress, type StackIo } from './stack.js';
import { conflict } from '../../errors.js';
import { artifactBucket, MAX_TEMPLATE_BODY_BYTES, templateUploader } from './deploy.js';

export type DiffStatus = 'would-create' | 'changes' | 'up-to-date';

export interface TenantDiff {
  tenant: string;
  target: 'local' | 'aws';
  status: DiffStatus;
  changed: boolean;
  /** aws: the change set's summary. */
  summary?: ChangeSetSummary;
  /** local: what differs from the last deploy. */
  differences?: Array<{ what: string; deployed: string | null; next: string }>;
}

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

/** SHA-256 of a template's canonical JSON: the same template always hashes the same. */
export function templateSha256(template: unknown): string {
  return createHash('sha256').update(canonicalJson(template)).digest('hex');
}

/** Pure: the local target's diff, from the last successful deploy record. */
export function diffLocalDeploy(
  tenant: string,
  deploys: DeployRecord[],
  next: { artifact: string; extensions: string[]; templateSha256: string },
): TenantDiff {
  const last = [...deploys].reverse().find((d) => d.outcome === 'success' && d.target === 'local');
  if (!last) return { tenant, target: 'local', status: 'would-create', changed: true, differences: [{ what: 'artifact', deployed: null, next: next.artifact }] };
  const differences: NonNullable<TenantDiff['differences']> = [];
  if (last.artifact !== next.artifact) differences.push({ what: 'artifact', deployed: last.artifact, next: next.artifact });
  const deployedExtensions = [...last.extensions].sort().join(',');
  const nextExtensions = [...next.extensions].sort().join(',');
  if (deployedExtensions !== nextExtensions) differences.push({ what: 'extensions', deployed: deployedExtensions || '(none)', next: nextExtensions || '(none)' });
  const recorded = (last as DeployRecord & { templateSha256?: string }).templateSha256;
  if (recorded !== undefined && recorded !== next.templateSha256) differences.push({ what: 'template', deployed: recorded, next: next.templateSha256 });
  return { tenant, target: 'local', status: differences.length > 0 ? 'changes' : 'up-to-date', changed: differences.length > 0, differences };
}

/** Human text of a diff. */
export function formatTenantDiff(diff: TenantDiff, formatSummary: (s: ChangeSetSummary) => string): string {
  if (diff.summary) return formatSummary(diff.summary);
  if (diff.status === 'up-to-date') return `${diff.tenant}: up to date`;
  const lines = [`${diff.tenant}: ${diff.status === 'would-create' ? 'never deployed; a deploy would build and record' : 'changes since the last deploy'}`];
  for (const d of diff.differences ?? []) lines.push(`  ~ ${d.what}: ${d.deployed ?? '(none)'} → ${d.next}`);
  return lines.join('\n');
}
