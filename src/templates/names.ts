/**
 * AWS names derived from tenant ids and stages. Tenant resources use `sovereign-<stage>-<tenant>`;
 * control-plane tables use `_`, a character tenant ids cannot contain, so no tenant can ever
 * collide with them; the control-plane stack ends in `control-plane`, a reserved tenant id.
 */
import { assertStage, assertTenantId } from '../names.js';

/** IAM role names are limited to 64 characters. */
export const MAX_ROLE_NAME_LENGTH = 64;
/** Lambda function names are limited to 64 characters. */
export const MAX_FUNCTION_NAME_LENGTH = 64;
/** CloudFormation stack names are limited to 128 characters. */
export const MAX_STACK_NAME_LENGTH = 128;

function checked(name: string, max: number, kind: string): string {
  if (name.length > max) {
    throw new Error(`${kind} "${name}" is ${name.length} characters, longer than AWS allows (${max})`);
  }
  return name;
}

/** `sovereign-<stage>-<tenant>`: the tenant's stack, function, table and API name. */
export function tenantStackName(stage: string, tenant: string): string {
  assertStage(stage);
  assertTenantId(tenant);
  return checked(`sovereign-${stage}-${tenant}`, MAX_STACK_NAME_LENGTH, 'stack name');
}

export function tenantFunctionName(stage: string, tenant: string): string {
  return checked(tenantStackName(stage, tenant), MAX_FUNCTION_NAME_LENGTH, 'function name');
}

export function tenantTableName(stage: string, tenant: string): string {
  return tenantStackName(stage, tenant);
}

/** Lambda's default log group for the function, created by the stack so it has a retention. */
export function tenantLogGroupName(stage: string, tenant: string): string {
  return `/aws/lambda/${tenantFunctionName(stage, tenant)}`;
}

/** `sovereign-<stage>-<tenant>-runtime`, asserted to fit IAM's 64 characters. */
export function tenantRoleName(stage: string, tenant: string): string {
  return checked(`${tenantStackName(stage, tenant)}-runtime`, MAX_ROLE_NAME_LENGTH, 'role name');
}

export function controlPlaneStackName(stage: string): string {
  assertStage(stage);
  return `sovereign-${stage}-control-plane`;
}

/** Bucket names are global: account and region make them unique (≤ 63 characters for any stage). */
export function artifactBucketNameSub(stage: string): string {
  assertStage(stage);
  return `sovereign-${stage}-artifacts-\${AWS::AccountId}-\${AWS::Region}`;
}

export function artifactBucketName(stage: string, account: string, region: string): string {
  return checked(
    artifactBucketNameSub(stage).replace('${AWS::AccountId}', account).replace('${AWS::Region}', region),
    63,
    'bucket name',
  );
}

/** The audit anchor bucket (S3 Object Lock on): as long as the artifact bucket's name at most. */
export function auditAnchorBucketNameSub(stage: string): string {
  assertStage(stage);
  return `sovereign-${stage}-audit-\${AWS::AccountId}-\${AWS::Region}`;
}

export function auditAnchorBucketName(stage: string, account: string, region: string): string {
  return checked(auditAnchorBucketNameSub(stage).replace('${AWS::AccountId}', account).replace('${AWS::Region}', region), 63, 'bucket name');
}

/** The KMS asymmetric key that signs audit checkpoints. */
export function auditCheckpointKeyAlias(stage: string): string {
  assertStage(stage);
  return `alias/sovereign-${stage}-audit-checkpoints`;
}

export function tenantRegistryTableName(stage: string): string {
  assertStage(stage);
  return `sovereign_${stage}_tenants`;
}

export function auditTableName(stage: string): string {
  assertStage(stage);
  return `sovereign_${stage}_audit`;
}

export function secretsKeyAlias(stage: string): string {
  assertStage(stage);
  return `alias/sovereign-${stage}`;
}

/** S3 key of an artifact in the artifact bucket. */
export function artifactKey(sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`"${sha256}" is not a SHA-256 hex digest`);
  return `artifacts/${sha256}.zip`;
}

/**
 * `sovereign_<stage>_billing_webhook`: the control plane's billing function and its role. `_`
 * keeps it apart from every tenant's `sovereign-<stage>-<tenant>`.
 */
export function billingWebhookFunctionName(stage: string): string {
  assertStage(stage);
  return checked(`sovereign_${stage}_billing_webhook`, MAX_FUNCTION_NAME_LENGTH, 'function name');
}

export function billingWebhookRoleName(stage: string): string {
  return checked(billingWebhookFunctionName(stage), MAX_ROLE_NAME_LENGTH, 'role name');
}

export function billingWebhookLogGroupName(stage: string): string {
  return `/aws/lambda/${billingWebhookFunctionName(stage)}`;
}

/** Where `sovereign bootstrap` points the billing function for its signing secret unless `billing.webhookSecret` says otherwise. */
export function defaultBillingWebhookSecretReference(stage: string): string {
  assertStage(stage);
  return `ssm:/${stage}/_sovereign/billing/webhook_secret`;
}

/** Every tenant table of a stage, as an IAM resource name pattern (`sovereign-<stage>-*`). */
export function tenantTableNamePattern(stage: string): string {
  assertStage(stage);
  return `sovereign-${stage}-*`;
}

/** Every tenant stack of a stage, and the prefix of its functions, roles and log groups (`sovereign-<stage>-*`). */
export function tenantStackNamePattern(stage: string): string {
  return tenantTableNamePattern(stage);
}

/** `alias/sovereign-<stage>/tenants/<tenant>`: the tenant's own data key (table, log group). */
export function tenantDataKeyAlias(stage: string, tenant: string): string {
  tenantStackName(stage, tenant);
  return `alias/sovereign-${stage}/tenants/${tenant}`;
}

/** `alias/sovereign-<stage>/tenant-data`: the stage's data key, for projects with `aws.tableKey: "stage"`. */
export function stageDataKeyAlias(stage: string): string {
  assertStage(stage);
  return `alias/sovereign-${stage}/tenant-data`;
}

/** The name under which the control-plane stack exports `output`. */
export function controlPlaneExportName(stage: string, output: string): string {
  return `${controlPlaneStackName(stage)}-${output}`;
}

/** Every tenant log group of a stage (`/aws/lambda/sovereign-<stage>-*`). */
export function tenantLogGroupPattern(stage: string): string {
  return `/aws/lambda/${tenantStackNamePattern(stage)}`;
}
