/**
 * Deploys through change sets: create → describe (a readable summary; an IAM-broadening change
 * needs approval) → execute → follow stack events to a terminal status. A create that ended in
 * ROLLBACK_COMPLETE is deleted first, so the next deploy after a failure recovers by itself.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ExecuteChangeSetCommand } from '@aws-sdk/client-cloudformation';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ExitCode, UserError, conflict } from '../../errors.js';
import type { LiveView } from '../../output/live.js';
import { artifactBucketName, artifactKey, controlPlaneStackName, tenantStackName } from '../../templates/names.js';
import { createChangeSet, deleteChangeSet, formatChangeSummary, MAX_TEMPLATE_BODY_BYTES, type ChangeSetSummary } from './changeset.js';
import { awsFailure, realSleep, withBackoff } from './errors.js';
import type { AwsSession } from './session.js';
import { cfnCall, deleteStackAndWait, describeStack, followStack, isInProgress, latestEventId, stackOutputs, type StackIo } from './stack.js';

export { MAX_TEMPLATE_BODY_BYTES } from './changeset.js';

export type DeployOutcome = 'created' | 'updated' | 'unchanged';

export interface DeployStackOptions extends StackIo {
  stackName: string;
  template: unknown;
  tags: Record<string, string>;
  parameters?: Record<string, string>;
  /**
   * Asked when the change set adds or modifies IAM resources; true goes on. (`ctx.confirm`: true
   * with --yes, a prompt on a TTY, exit 2 naming --yes otherwise.)
   */
  approve: (question: string) => Promise<boolean>;
  /** Where the change summary and notes go (stderr). */
  log?: (line: string) => void;
  /** Uploads a template too big to send inline and returns its URL. */
  uploadTemplate?: (body: string, sha256: string) => Promise<string>;
}

export interface DeployStackResult {
  stackName: string;
  stackId: string | undefined;
  outcome: DeployOutcome;
  summary: ChangeSetSummary | undefined;
  outputs: Record<string, string>;
  /** A stack left by a failed create was deleted first. */
  recovered: boolean;
}

const BUSY = (stackName: string, status: string) =>
  conflict(`stack ${stackName} is busy (${status})`, 'another deploy or delete is running on it; wait for it to finish and try again');

/** Where the stack is and what the next change set must be. */
async function prepareStack(io: DeployStackOptions): Promise<{ type: 'CREATE' | 'UPDATE'; recovered: boolean }> {
  const stack = await describeStack(io, io.stackName);
  const status = stack?.StackStatus;
  if (!stack || status === 'DELETE_COMPLETE') return { type: 'CREATE', recovered: false };
  if (status === 'REVIEW_IN_PROGRESS') return { type: 'CREATE', recovered: false };
  if (isInProgress(status)) throw BUSY(io.stackName, status!);
  if (status === 'ROLLBACK_COMPLETE' || status === 'ROLLBACK_FAILED' || status === 'CREATE_FAILED') {
    io.log?.(`stack ${io.stackName} is in ${status} after a failed create; deleting it before creating it again`);
    await deleteStackAndWait(io, stack);
    return { type: 'CREATE', recovered: true };
  }
  if (status === 'UPDATE_ROLLBACK_FAILED') {
    throw new UserError(`stack ${io.stackName} is in UPDATE_ROLLBACK_FAILED and cannot be updated`, {
      exitCode: ExitCode.failed,
      hint: `fix the resource that blocked the rollback, then run \`aws cloudformation continue-update-rollback --stack-name ${io.stackName}\` and deploy again`,
    });
  }
  if (status === 'DELETE_FAILED') {
    throw new UserError(`stack ${io.stackName} is in DELETE_FAILED`, { exitCode: ExitCode.failed, hint: 'finish deleting it (destroy the tenant again) before deploying' });
  }
  return { type: 'UPDATE', recovered: false };
}

async function templateSource(options: DeployStackOptions): Promise<{ templateBody?: string; templateUrl?: string }> {
  const body = JSON.stringify(options.template);
  if (Buffer.byteLength(body) <= MAX_TEMPLATE_BODY_BYTES) return { templateBody: body };
  if (!options.uploadTemplate) {
    throw new UserError(`the template of ${options.stackName} is ${Buffer.byteLength(body)} bytes; CloudFormation takes ${MAX_TEMPLATE_BODY_BYTES} inline`, {
      exitCode: ExitCode.failed,
      hint: 'run `sovereign bootstrap` so large templates can go through the artifact bucket',
    });
  }
  return { templateUrl: await options.uploadTemplate(body, createHash('sha256').update(body).digest('hex')) };
}

/** Deploys one stack through a change set. Throws a UserError (exit 1) naming the first failed resource. */
export async function deployStack(options: DeployStackOptions): Promise<DeployStackResult> {
  const now = options.now ?? Date.now;
  const { type, recovered } = await prepareStack(options);
  const created = await createChangeSet(options, {
    stackName: options.stackName,
    type,
    ...(await templateSource(options)),
    tags: options.tags,
    ...(options.parameters ? { parameters: options.parameters } : {}),
  });
  if (!created.summary) {
    options.log?.(`${options.stackName} is up to date`);
    const stack = await describeStack(options, options.stackName);
    return { stackName: options.stackName, stackId: stack?.StackId, outcome: 'unchanged', summary: undefined, outputs: stackOutputs(stack), recovered };
  }
  const summary = created.summary;
  options.log?.(formatChangeSummary(summary));
  if (summary.iamBroadening) {
    let approved = false;
    try {
      approved = await options.approve(`the deploy of ${options.stackName} changes IAM (the tenant may gain permissions); go on?`);
    } catch (error) {
      // Fleet reports keep one line per tenant: the way out (--yes) must be in the message itself.
      if (error instanceof UserError && error.hint && !error.message.includes(error.hint)) {
        throw new UserError(`${error.message} — ${error.hint}`, { exitCode: error.exitCode, hint: error.hint, cause: error });
      }
      throw error;
    } finally {
      if (!approved) await discard(options, created.id, created.stackId, type);
    }
    if (!approved) {
      throw new UserError(`deploy of ${options.stackName} cancelled: its IAM change was not approved; nothing was changed`, { exitCode: ExitCode.failed });
    }
  }
  const after = type === 'UPDATE' ? await latestEventId(options, created.stackId) : await latestEventId(options, created.stackId).catch(() => undefined);
  const startedAt = now();
  await cfnCall(options, `executing the change set of ${options.stackName}`, () =>
    options.cfn.send(new ExecuteChangeSetCommand({ ChangeSetName: created.id, StackName: created.stackId })),
  );
  const result = await followStack(options, created.stackId, after, startedAt);
  const success = type === 'CREATE' ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE';
  if (result.status !== success) {
    const failure = result.firstFailure;
    const what = failure ? `${failure.logicalId} (${failure.type}) ${failure.status}: ${failure.reason}` : `the stack ended in ${result.status}`;
    const hint =
      type === 'CREATE'
        ? 'the stack was rolled back; the next deploy deletes it and creates it again'
        : result.status === 'UPDATE_ROLLBACK_COMPLETE'
          ? 'the stack is back at its previous version; fix the cause and deploy again'
          : `look at the stack's events in the CloudFormation console (status ${result.status})`;
    throw new UserError(`deploy of ${options.stackName} failed: ${what}`, { exitCode: ExitCode.failed, hint });
  }
  const stack = await describeStack(options, created.stackId);
  return { stackName: options.stackName, stackId: created.stackId, outcome: type === 'CREATE' ? 'created' : 'updated', summary, outputs: stackOutputs(stack), recovered };
}

/** Drops an unapproved change set; a stack that only existed for it (REVIEW_IN_PROGRESS) goes too. */
async function discard(io: StackIo, id: string, stackId: string, type: 'CREATE' | 'UPDATE'): Promise<void> {
  await deleteChangeSet(io, id, stackId).catch(() => undefined);
  if (type === 'CREATE') {
    const stack = await describeStack(io, stackId).catch(() => undefined);
    if (stack?.StackStatus === 'REVIEW_IN_PROGRESS') await deleteStackAndWait(io, stack).catch(() => undefined);
  }
}

/** The stage's artifact bucket: the control plane's output, or the derived name. */
export async function artifactBucket(session: AwsSession): Promise<string> {
  const io: StackIo = { cfn: session.clients.cloudformation, sleep: session.sleep };
  const control = await describeStack(io, controlPlaneStackName(session.stage));
  if (!control || !['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE'].includes(control.StackStatus ?? '')) {
    throw new UserError(`the control plane of stage "${session.stage}" is not deployed in this account and region`, {
      exitCode: ExitCode.notFound,
      hint: 'run `sovereign bootstrap` once per stage, account and region',
    });
  }
  const fromOutput = stackOutputs(control).ArtifactBucketName;
  if (fromOutput) return fromOutput;
  const { identity, region } = await session.announce();
  return artifactBucketName(session.stage, identity.account, region);
}

export interface UploadResult {
  bucket: string;
  key: string;
  uploaded: boolean;
}

/** Uploads `artifacts/<sha256>.zip` only when it is not there yet (HeadObject → PutObject). */
export async function uploadArtifact(session: AwsSession, bucket: string, artifact: { sha256: string; path: string }): Promise<UploadResult> {
  const key = artifactKey(artifact.sha256);
  const s3 = session.clients.s3;
  const retry = { sleep: session.sleep };
  try {
    await withBackoff(() => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })), retry);
    return { bucket, key, uploaded: false };
  } catch (error) {
    const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (!(e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404)) throw awsFailure(error, `checking s3://${bucket}/${key}`);
  }
  const body = readFileSync(artifact.path);
  const actual = createHash('sha256').update(body).digest('hex');
  if (actual !== artifact.sha256) throw new Error(`artifact ${artifact.path} has SHA-256 ${actual}, not ${artifact.sha256}`);
  try {
    await withBackoff(
      () =>
        s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentType: 'application/zip',
            ChecksumSHA256: Buffer.from(artifact.sha256, 'hex').toString('base64'),
          }),
        ),
      retry,
    );
  } catch (error) {
    throw awsFailure(error, `uploading ${key} to s3://${bucket}`);
  }
  return { bucket, key, uploaded: true };
}

/** A template upload into the artifact bucket, content-addressed, for templates over 51,200 bytes. */
export function templateUploader(session: AwsSession, bucket: string): (body: string, sha256: string) => Promise<string> {
  return async (body, sha256) => {
    const key = `templates/${sha256}.json`;
    try {
      await withBackoff(() => session.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' })), { sleep: session.sleep });
    } catch (error) {
      throw awsFailure(error, `uploading ${key} to s3://${bucket}`);
    }
    const custom = (session.clients.s3.config as { endpoint?: () => Promise<{ protocol: string; hostname: string; port?: number; path: string }> }).endpoint;
    if (custom) {
      // An AWS-compatible endpoint serves buckets path-style.
      const endpoint = await custom();
      const base = `${endpoint.protocol}//${endpoint.hostname}${endpoint.port ? `:${endpoint.port}` : ''}${endpoint.path.replace(/\/$/, '')}`;
      return `${base}/${bucket}/${key}`;
    }
    const region = await session.region();
    return `https://${bucket}.s3.${region}.amazonaws.com/${key}`;
  };
}

export interface DeployTenantToAwsOptions {
  session: AwsSession;
  tenant: string;
  /** `renderTenantStack(...)` for the tenant, naming `artifact.sha256`. */
  template: unknown;
  /** The packed artifact (`packArtifact`). */
  artifact: { sha256: string; path: string };
  /** `tenantTags(...)`. */
  tags: Record<string, string>;
  approve: (question: string) => Promise<boolean>;
  view?: LiveView;
  log?: (line: string) => void;
  pollMs?: number;
}

export interface TenantDeployResult extends DeployStackResult {
  artifact: UploadResult;
}

/**
 * Deploys one tenant on aws: prints the target, uploads the artifact when absent, then deploys
 * `sovereign-<stage>-<tenant>` through a change set. It does not touch the registry: the caller
 * records the deploy (success or failure) in its own state mutation.
 */
export async function deployTenantToAws(options: DeployTenantToAwsOptions): Promise<TenantDeployResult> {
  const { session } = options;
  await session.announce();
  const bucket = await artifactBucket(session);
  const artifact = await uploadArtifact(session, bucket, options.artifact);
  if (artifact.uploaded) options.log?.(`uploaded ${artifact.key} to s3://${bucket}`);
  const result = await deployStack({
    cfn: session.clients.cloudformation,
    sleep: session.sleep ?? realSleep,
    now: session.now,
    ...(options.view ? { view: options.view } : {}),
    ...(options.log ? { log: options.log, onThrottled: options.log } : {}),
    ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
    stackName: tenantStackName(session.stage, options.tenant),
    template: options.template,
    tags: options.tags,
    approve: options.approve,
    uploadTemplate: templateUploader(session, bucket),
  });
  return { ...result, artifact };
}
