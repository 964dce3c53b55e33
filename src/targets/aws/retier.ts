/**
 * Applies a tier change to a deployed tenant stack without sources or a build, as the billing
 * function does after a plan change: read the stack's template as deployed (GetTemplate,
 * Original), rewrite only the tier's limits (`retierTenantTemplate`, which refuses any template
 * that is not this tenant's), and update the stack through the deploy's change-set flow with the
 * stack's own tags and parameters.
 *
 * Time: the caller is a webhook sender waiting for an answer, so the whole re-tiering has a
 * budget (`waitMs`). A change set not computed within it is deleted and the change declined; an
 * executed update still running at the end is reported `redeploy: 'in-progress'` with its change
 * set, and CloudFormation finishes it (or rolls it back) on its own.
 *
 * Safety: the change set is executed only when every change is an in-place modification of the
 * re-tiered resources (function, API stages, log group). Anything else — a replacement, an
 * IAM resource, a resource that differs from its template — is left for `sovereign tenant deploy`.
 *
 * Answers never carry AWS error text (it can quote request values): they name the step and the
 * error code.
 */
import { ExecuteChangeSetCommand, GetTemplateCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { UserError } from '../../errors.js';
import { tenantStackName } from '../../templates/names.js';
import { NotATenantTemplateError, RETIERED_RESOURCES, retierTenantTemplate } from '../../templates/tenant-stack.js';
import type { Tier } from '../../templates/tiers.js';
import { ChangeSetFailedError, ChangeSetTimeoutError, createChangeSet, deleteChangeSet, MAX_TEMPLATE_BODY_BYTES } from './changeset.js';
import { awsErrorCode, isAccessDenied } from './errors.js';
import { cfnCall, describeStack, followStack, latestEventId, type StackIo } from './stack.js';

/** Default budget of a re-tiering: the billing function answers within its 30 s timeout. */
export const RETIER_WAIT_MS = 12_000;

/** Stack statuses an update may start from. */
const UPDATABLE = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE', 'IMPORT_ROLLBACK_COMPLETE']);

export type RetierOutcome =
  | {
      redeployed: true;
      /** `complete`: the stack is at the new tier; `unchanged`: it already was; `in-progress`: CloudFormation is applying it. */
      redeploy: 'complete' | 'unchanged' | 'in-progress';
      stack: string;
      changeSet?: string;
      stackStatus?: string;
    }
  | { redeployed: false; reason: string };

export interface RetierTenantStackOptions extends StackIo {
  project: string;
  stage: string;
  tenant: string;
  tier: Tier;
  /** The tenant is suspended (or offboarding): its function keeps a reserved concurrency of 0. */
  suspended?: boolean;
  /** Budget in ms (default `RETIER_WAIT_MS`). */
  waitMs?: number;
  log?: (line: string) => void;
}

function stackTags(stack: Stack): Record<string, string> | undefined {
  const tags = (stack.Tags ?? []).filter((t) => t.Key !== undefined);
  return tags.length === 0 ? undefined : Object.fromEntries(tags.map((t) => [t.Key!, t.Value ?? '']));
}

/** The AWS code behind an error (a `UserError` from `cfnCall` carries the SDK's error as its cause). */
function errorCode(error: unknown): string {
  return awsErrorCode(error instanceof UserError && error.cause !== undefined ? error.cause : error);
}

/** Updates the tenant's stack to `tier`'s limits; expected failures are answers, not throws. */
export async function retierTenantStack(options: RetierTenantStackOptions): Promise<RetierOutcome> {
  const now = options.now ?? Date.now;
  const deadline = now() + (options.waitMs ?? RETIER_WAIT_MS);
  const { tenant, tier } = options;
  const stackName = tenantStackName(options.stage, tenant);
  const decline = (why: string): RetierOutcome => {
    options.log?.(`tier ${tier} not applied to ${stackName}: ${why}`);
    return { redeployed: false, reason: `${why}; the tier is recorded and \`sovereign tenant deploy ${tenant}\` applies its limits` };
  };
  let doing = `describing stack ${stackName}`;
  let created: { id: string; stackId: string } | undefined;
  try {
    const stack = await describeStack(options, stackName);
    const status = stack?.StackStatus;
    if (!stack || status === 'DELETE_COMPLETE') return decline(`stack ${stackName} does not exist in this account and region`);
    if (!UPDATABLE.has(status ?? '')) return decline(`stack ${stackName} is ${status}, not ready for an update`);
    const stackId = stack.StackId ?? stackName;

    doing = `reading the template of ${stackName}`;
    const original = await cfnCall(options, doing, () => options.cfn.send(new GetTemplateCommand({ StackName: stackId, TemplateStage: 'Original' })));
    let deployed: unknown;
    try {
      deployed = JSON.parse(original.TemplateBody ?? '');
    } catch {
      return decline(`the template of ${stackName} is not JSON, so sovereign did not write it; it was left alone`);
    }
    const template = retierTenantTemplate(deployed, tier, { project: options.project, stage: options.stage, tenant }, options.suspended === undefined ? {} : { suspended: options.suspended });
    const body = JSON.stringify(template);
    if (Buffer.byteLength(body) > MAX_TEMPLATE_BODY_BYTES) {
      return decline(`the template of ${stackName} is over ${MAX_TEMPLATE_BODY_BYTES} bytes and the billing function does not upload templates`);
    }

    doing = `creating a change set for ${stackName}`;
    const tags = stackTags(stack);
    const parameters = (stack.Parameters ?? []).map((p) => p.ParameterKey).filter((key): key is string => key !== undefined);
    const changeSet = await createChangeSet(options, {
      stackName,
      type: 'UPDATE',
      templateBody: body,
      ...(tags ? { tags } : {}),
      ...(parameters.length > 0 ? { previousParameters: parameters } : {}),
      description: `sovereign: tier ${tier}`,
      deadline,
    });
    if (!changeSet.summary) {
      options.log?.(`${stackName} is already at tier ${tier}`);
      return { redeployed: true, redeploy: 'unchanged', stack: stackName };
    }
    created = changeSet;
    const unexpected = changeSet.summary.changes.filter(
      (c) => !(c.action === 'Modify' && RETIERED_RESOURCES.includes(c.logicalId) && (c.replacement ?? 'False') === 'False'),
    );
    if (unexpected.length > 0) {
      await deleteChangeSet(options, changeSet.id, changeSet.stackId).catch(() => undefined);
      const what = unexpected.map((c) => `${c.action} ${c.logicalId}${c.replacement === 'True' ? ' (replacement)' : ''}`).join(', ');
      return decline(`the change set of ${stackName} would also ${what}: the stack is not what a tier change expects, so it was not executed`);
    }

    doing = `executing the change set of ${stackName}`;
    const after = await latestEventId(options, changeSet.stackId);
    const startedAt = now();
    await cfnCall(options, doing, () => options.cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: changeSet.id, StackName: changeSet.stackId })));
    doing = `following the update of ${stackName}`;
    const result = await followStack({ ...options, timeoutMs: Math.max(0, deadline - startedAt), returnAtTimeout: true }, changeSet.stackId, after, startedAt);
    if (result.timedOut) {
      options.log?.(`${stackName} is being updated to tier ${tier} (change set ${changeSet.id}); CloudFormation finishes it`);
      return { redeployed: true, redeploy: 'in-progress', stack: stackName, changeSet: changeSet.id, stackStatus: result.status };
    }
    if (result.status !== 'UPDATE_COMPLETE') {
      const failure = result.firstFailure;
      return decline(`the update of ${stackName} ended in ${result.status}${failure ? ` (${failure.logicalId}, ${failure.type}, ${failure.status})` : ''}`);
    }
    options.log?.(`${stackName} updated to tier ${tier}`);
    return { redeployed: true, redeploy: 'complete', stack: stackName, changeSet: changeSet.id, stackStatus: result.status };
  } catch (error) {
    if (error instanceof NotATenantTemplateError) return decline(`the template of stack ${stackName} is ${error.message}; it was left alone`);
    if (error instanceof ChangeSetTimeoutError) return decline(`CloudFormation did not compute the change set of ${stackName} in time; it was deleted`);
    if (error instanceof ChangeSetFailedError) {
      // StatusReason is AWS text that can quote template values: `sovereign tenant diff` shows it to an operator.
      return decline(`CloudFormation could not compute the change set of ${stackName} (run \`sovereign tenant diff ${tenant}\` to see why)`);
    }
    if (created && doing.startsWith('executing')) await deleteChangeSet(options, created.id, created.stackId).catch(() => undefined);
    if (isAccessDenied(error instanceof UserError ? error.cause : error)) {
      return decline(`AWS denied ${doing} (${errorCode(error)}): the billing function's role lacks a re-tiering permission; run \`sovereign bootstrap\``);
    }
    return decline(`${doing} failed (${errorCode(error)})`);
  }
}
