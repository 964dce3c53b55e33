/**
 * `sovereign bootstrap`: the stage's control plane (artifact bucket, tenant-registry and audit
 * tables, secrets key, the audit anchor bucket and checkpoint signing key and, for projects with a `billing` section, the billing webhook function)
 * as the stack `sovereign-<stage>-control-plane`, deployed through the same change-set flow as
 * tenants. Running it again is a no-op when nothing changed.
 *
 * The billing function's code lives in the artifact bucket the same stack creates. The first
 * bootstrap therefore deploys in two steps: the stack without the function (so the bucket
 * exists), then the upload of `artifacts/<sha256>.zip`, then the stack with the function naming
 * that hash. Once the stack exists it is one step: upload (when absent), then deploy.
 */
import { ExitCode, UserError } from '../../errors.js';
import type { LiveView } from '../../output/live.js';
import { renderControlPlaneStack, type ControlPlaneBillingInputs } from '../../templates/control-plane.js';
import { controlPlaneStackName } from '../../templates/names.js';
import type { LambdaRuntime } from '../../templates/lambda-runtime.js';
import type { ChangeSetSummary } from './changeset.js';
import { artifactBucket, deployStack, uploadArtifact, type DeployStackResult, type UploadResult } from './deploy.js';
import type { AwsSession } from './session.js';
import { describeStack } from './stack.js';

export interface BootstrapBillingOptions {
  /** Builds (or returns) the function's packed artifact; called before anything is deployed. */
  artifact: () => Promise<{ sha256: string; path: string }>;
  config: ControlPlaneBillingInputs['config'];
  /** Reference to the signing secret. */
  webhookSecret: string;
}

export interface BootstrapOptions {
  session: AwsSession;
  approve: (question: string) => Promise<boolean>;
  view?: LiveView;
  log?: (line: string) => void;
  pollMs?: number;
  /** The billing webhook function; without it the control plane has none. */
  billing?: BootstrapBillingOptions;
  /** Node.js runtime of the billing function (`aws.lambdaRuntime`); its artifact must be built for it. */
  lambdaRuntime?: LambdaRuntime;
  /** `audit.checkpointRetentionDays`: the Object Lock retention of the audit anchor bucket. */
  checkpointRetentionDays?: number;
}

export interface BootstrapResult extends DeployStackResult {
  account: string;
  region: string;
  stage: string;
  /** The billing function's artifact, where it was uploaded (absent without billing). */
  billingWebhook?: UploadResult & { sha256: string };
}

/** Stack states a deploy can update in place (and whose bucket exists). */
const SETTLED = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE']);

export async function bootstrapControlPlane(options: BootstrapOptions): Promise<BootstrapResult> {
  const { session } = options;
  const { identity, region } = await session.announce();
  const stackName = controlPlaneStackName(session.stage);
  const base = {
    project: session.project,
    stage: session.stage,
    ...(options.lambdaRuntime ? { lambdaRuntime: options.lambdaRuntime } : {}),
    ...(options.checkpointRetentionDays === undefined ? {} : { checkpointRetentionDays: options.checkpointRetentionDays }),
  };
  const deploy = (template: unknown, approve = options.approve) =>
    deployStack({
      cfn: session.clients.cloudformation,
      sleep: session.sleep,
      now: session.now,
      ...(options.view ? { view: options.view } : {}),
      ...(options.log ? { log: options.log, onThrottled: options.log } : {}),
      ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
      stackName,
      template,
      tags: { 'sovereign:project': session.project, 'sovereign:stage': session.stage, 'sovereign:component': 'control-plane' },
      approve,
    });
  const where = { account: identity.account, region, stage: session.stage };
  if (!options.billing) return { ...(await deploy(renderControlPlaneStack(base))), ...where };

  // Built before anything is deployed: a build failure changes nothing.
  const artifact = await options.billing.artifact();
  const existing = await describeStack({ cfn: session.clients.cloudformation, sleep: session.sleep }, stackName);
  let first: DeployStackResult | undefined;
  let approveFunction = options.approve;
  if (!existing || !SETTLED.has(existing.StackStatus ?? '')) {
    // The function's role is certain to be added: asked before the first step, so a refusal changes nothing.
    if (!(await options.approve(`the control plane of stage ${session.stage} adds the billing webhook function and its IAM role; go on?`))) {
      throw new UserError(`bootstrap of ${stackName} cancelled: the billing webhook's IAM role was not approved; nothing was changed`, { exitCode: ExitCode.failed });
    }
    approveFunction = async () => true;
    options.log?.(`creating the control plane's artifact bucket first; the billing webhook function follows once its code is uploaded`);
    first = await deploy(renderControlPlaneStack(base));
  }
  const bucket = await artifactBucket(session);
  const upload = await uploadArtifact(session, bucket, artifact);
  if (upload.uploaded) options.log?.(`uploaded ${upload.key} to s3://${bucket}`);
  const billing: ControlPlaneBillingInputs = { artifactSha256: artifact.sha256, config: options.billing.config, webhookSecret: options.billing.webhookSecret };
  const second = await deploy(renderControlPlaneStack({ ...base, billing }), approveFunction);
  return { ...combine(first, second), ...where, billingWebhook: { ...upload, sha256: artifact.sha256 } };
}

/** One result for a bootstrap that took two deploys: created if the first created the stack, every change listed. */
function combine(first: DeployStackResult | undefined, second: DeployStackResult): DeployStackResult {
  if (!first) return second;
  const summaries = [first.summary, second.summary].filter((s): s is ChangeSetSummary => s !== undefined);
  const summary: ChangeSetSummary | undefined =
    summaries.length === 0
      ? undefined
      : {
          stack: second.stackName,
          type: summaries[0]!.type,
          changes: summaries.flatMap((s) => s.changes),
          counts: {
            add: summaries.reduce((n, s) => n + s.counts.add, 0),
            modify: summaries.reduce((n, s) => n + s.counts.modify, 0),
            remove: summaries.reduce((n, s) => n + s.counts.remove, 0),
            other: summaries.reduce((n, s) => n + s.counts.other, 0),
          },
          iamBroadening: summaries.some((s) => s.iamBroadening),
        };
  return {
    ...second,
    outcome: first.outcome === 'created' ? 'created' : second.outcome === 'unchanged' ? first.outcome : second.outcome,
    summary,
    recovered: first.recovered || second.recovered,
  };
}
