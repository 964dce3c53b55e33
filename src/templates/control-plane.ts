/**
 * The control plane `sovereign bootstrap` creates once per stage and region: the artifact bucket,
 * the tenant registry and audit-event tables, the stage's KMS key for secrets and, for projects
 * with a `billing` section, the billing webhook function behind a public Function URL.
 */
import { badInput } from '../errors.js';
import type { Tier } from '../config.js';
import { parseReference } from '../contract/reference.js';
import { DEFAULT_CHECKPOINT_RETENTION_DAYS } from '../audit/checkpoint.js';
import { TENANT_TABLE_KEY_SCHEMA } from '../runtime/table.js';
import { getAtt, ref, sub, tagList, withPseudoParameters, type CfnResource, type CfnTemplate } from './cfn.js';
import { accountAllows, logsMayUseKey, symmetricKey } from './kms.js';
import { DEFAULT_LAMBDA_RUNTIME, LAMBDA_ARCHITECTURE, type LambdaRuntime } from './lambda-runtime.js';
import {
  artifactBucketNameSub,
  artifactKey,
  auditAnchorBucketNameSub,
  auditCheckpointKeyAlias,
  auditTableName,
  billingWebhookFunctionName,
  billingWebhookLogGroupName,
  billingWebhookRoleName,
  controlPlaneExportName,
  controlPlaneStackName,
  secretsKeyAlias,
  stageDataKeyAlias,
  tenantLogGroupPattern,
  tenantRegistryTableName,
  tenantStackNamePattern,
  tenantTableNamePattern,
} from './names.js';

export const CONTROL_PLANE_TEMPLATE_VERSION = 1;

export interface ControlPlaneInputs {
  project: string;
  stage: string;
  /** The billing webhook function; absent, the stack has none. */
  billing?: ControlPlaneBillingInputs;
  /** Node.js runtime of the billing function (default {@link DEFAULT_LAMBDA_RUNTIME}). */
  lambdaRuntime?: LambdaRuntime;
  /** Days each audit checkpoint stays under Object Lock (`audit.checkpointRetentionDays`, default 400). */
  checkpointRetentionDays?: number;
}

export { DEFAULT_CHECKPOINT_RETENTION_DAYS };

/** What every control-plane bucket has: SSE, no public access, owner-enforced objects. */
const PRIVATE_BUCKET = {
  BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
  PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
  OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
};

/** Refuses plain-HTTP access to the bucket `logicalId` and its objects. */
function denyInsecureTransport(logicalId: string): Record<string, unknown> {
  return {
    Sid: 'DenyInsecureTransport',
    Effect: 'Deny',
    Principal: '*',
    Action: 's3:*',
    Resource: [getAtt(logicalId, 'Arn'), sub(`\${${logicalId}.Arn}/*`)],
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  };
}

/**
 * The audit anchor: a bucket with S3 Object Lock (it can only be turned on when the bucket is
 * created, hence a bucket of its own) whose default retention locks every checkpoint in
 * compliance mode, and the KMS asymmetric key that signs them. KMS never exports an asymmetric
 * private key; the key policy gives the account's principals `kms:Sign` and `kms:GetPublicKey`
 * (through IAM) and no statement can make the private half readable.
 */
function auditAnchorResources(stage: string, retentionDays: number, tags: Record<string, string>): Record<string, CfnResource> {
  return {
    AuditAnchorBucket: {
      Type: 'AWS::S3::Bucket',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BucketName: sub(auditAnchorBucketNameSub(stage)),
        ObjectLockEnabled: true,
        ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: retentionDays } } },
        VersioningConfiguration: { Status: 'Enabled' },
        ...PRIVATE_BUCKET,
        Tags: tagList(tags),
      },
    },
    AuditAnchorBucketPolicy: {
      Type: 'AWS::S3::BucketPolicy',
      Properties: {
        Bucket: ref('AuditAnchorBucket'),
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            denyInsecureTransport('AuditAnchorBucket'),
            {
              Sid: 'DenyUnlockedCheckpoints',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:PutObject',
              Resource: sub('${AuditAnchorBucket.Arn}/*'),
              Condition: { StringNotEquals: { 's3:object-lock-mode': 'COMPLIANCE' } },
            },
          ],
        },
      },
    },
    AuditCheckpointKey: {
      Type: 'AWS::KMS::Key',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        Description: `sovereign audit checkpoints (stage ${stage}): signs {seq, headHash, count, time}; the private key never leaves KMS`,
        KeySpec: 'ECC_NIST_P256',
        KeyUsage: 'SIGN_VERIFY',
        PendingWindowInDays: 30,
        KeyPolicy: {
          Version: '2012-10-17',
          Statement: [
            accountAllows('AccountAdministers', ['kms:Describe*', 'kms:List*', 'kms:Get*', 'kms:Put*', 'kms:Create*', 'kms:Update*', 'kms:Enable*', 'kms:TagResource', 'kms:UntagResource', 'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion']),
            accountAllows('CliSignsAndReadsPublicKey', ['kms:Sign', 'kms:GetPublicKey', 'kms:DescribeKey']),
          ],
        },
        Tags: tagList(tags),
      },
    },
    AuditCheckpointKeyAlias: {
      Type: 'AWS::KMS::Alias',
      Properties: { AliasName: auditCheckpointKeyAlias(stage), TargetKeyId: ref('AuditCheckpointKey') },
    },
  };
}

/**
 * Concurrent executions reserved for the billing function: a cap, so a flood of (unsigned)
 * requests to its public URL cannot take the account's unreserved concurrency from tenants, and
 * a floor, so billing events are processed while tenants are busy. Providers retry throttled
 * deliveries.
 */
export const BILLING_RESERVED_CONCURRENCY = 5;

export interface ControlPlaneBillingInputs {
  /** SHA-256 of the function's zip (`artifacts/<sha256>.zip` in the artifact bucket). */
  artifactSha256: string;
  /** The validated `billing` config, handed to the function as JSON (it validates it again at cold start). */
  config: { suspendAfterFailures: number; offboardGracePeriod: string; plans: Record<string, Tier> };
  /** Reference (`ssm:…` or `secretsmanager:…`) to the signing secret; never the value. */
  webhookSecret: string;
}

/** The billing function's environment contract (read by `src/billing/lambda.ts`). */
export const BILLING_FUNCTION_ENV = {
  project: 'SOVEREIGN_PROJECT',
  stage: 'SOVEREIGN_STAGE',
  config: 'SOVEREIGN_BILLING_CONFIG',
  secretReference: 'SOVEREIGN_BILLING_WEBHOOK_SECRET_REF',
} as const;

/** Attribute the registry table's TTL reads (epoch seconds): processed billing event ids expire. */
export const CONTROL_PLANE_TTL_ATTRIBUTE = 'purgeAt';

/** Days the billing function's logs are kept. */
export const BILLING_LOG_RETENTION_DAYS = 90;

/** Key schema of both control-plane tables: the tenant tables' `pk` (S) hash, `sk` (S) range. */
export const CONTROL_PLANE_KEY_SCHEMA = TENANT_TABLE_KEY_SCHEMA;

function controlPlaneTable(name: string, tags: Record<string, string>, ttlAttribute?: string) {
  return {
    Type: 'AWS::DynamoDB::Table',
    DeletionPolicy: 'Retain' as const,
    UpdateReplacePolicy: 'Retain' as const,
    Properties: {
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: CONTROL_PLANE_KEY_SCHEMA.AttributeDefinitions.map((d) => ({ ...d })),
      KeySchema: CONTROL_PLANE_KEY_SCHEMA.KeySchema.map((k) => ({ ...k })),
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      DeletionProtectionEnabled: true,
      ...(ttlAttribute ? { TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true } } : {}),
      Tags: tagList(tags),
    },
  };
}

/** What the billing function may do with its signing secret: read that one parameter or secret, decrypting through the stage key. */
function signingSecretStatements(reference: string) {
  const parsed = parseReference(reference);
  if (!parsed.ok) throw badInput(`billing.webhookSecret is not a secret reference: ${parsed.problem.message}`, 'e.g. ssm:/prod/_sovereign/billing/webhook_secret');
  const target = parsed.reference;
  const read =
    target.service === 'ssm'
      ? { Action: ['ssm:GetParameter'], Resource: [`arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${target.name.startsWith('/') ? '' : '/'}${target.name}`] }
      : { Action: ['secretsmanager:GetSecretValue'], Resource: [`arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${target.name}-??????`] };
  return withPseudoParameters([
    { Sid: 'ReadSigningSecret', Effect: 'Allow', ...read },
    {
      Sid: 'DecryptSigningSecret',
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: [getAtt('SecretsKey', 'Arn')],
      Condition: { StringEquals: { 'kms:ViaService': `${target.service}.\${AWS::Region}.amazonaws.com` } },
    },
  ]);
}

/** What updating a tenant stack's tier needs of CloudFormation (see `targets/aws/retier.ts`). */
export const RETIER_STACK_ACTIONS = [
  'cloudformation:DescribeStacks',
  'cloudformation:DescribeStackEvents',
  'cloudformation:GetTemplate',
  'cloudformation:CreateChangeSet',
  'cloudformation:DescribeChangeSet',
  'cloudformation:ExecuteChangeSet',
  'cloudformation:DeleteChangeSet',
] as const;

/**
 * Re-tiering a tenant stack: the CloudFormation calls on the stage's tenant stacks, and the calls
 * CloudFormation then makes with the function's own credentials to update exactly the re-tiered
 * resources (the update handlers' permissions of AWS::Lambda::Function, AWS::Logs::LogGroup and
 * AWS::ApiGatewayV2::Stage), each on the stage's tenant names only:
 * - Lambda: configuration (memory, environment) and reserved concurrency, with the reads the
 *   handler makes before and after; tags never change with a tier, so no tagging rights. The
 *   handler sends the function's role with the configuration, which needs iam:PassRole — on the
 *   stage's tenant runtime roles, to Lambda only.
 * - Logs: the retention. DescribeLogGroups authorizes on `log-group:*` only (it lists names and
 *   settings, never log content), so it has a statement of its own.
 * - API Gateway: GET and PATCH of the `$default` stage. API ids are generated by API Gateway when a
 *   tenant stack is created, after this template is rendered, and HTTP API ARNs hold no name, so
 *   the id cannot be narrowed: any HTTP API's `$default` stage in this account and region.
 * The control-plane stack matches the tenant stack pattern's shape only by its reserved name and
 * is denied explicitly.
 */
function retierStatements(stage: string) {
  const stacks = tenantStackNamePattern(stage);
  const account = 'arn:${AWS::Partition}:%s:${AWS::Region}:${AWS::AccountId}';
  const arn = (service: string, rest: string) => `${account.replace('%s', service)}:${rest}`;
  return withPseudoParameters([
    { Sid: 'RetierTenantStacks', Effect: 'Allow', Action: [...RETIER_STACK_ACTIONS], Resource: [arn('cloudformation', `stack/${stacks}/*`)] },
    { Sid: 'NeverTheControlPlaneStack', Effect: 'Deny', Action: [...RETIER_STACK_ACTIONS], Resource: [arn('cloudformation', `stack/${controlPlaneStackName(stage)}/*`)] },
    {
      Sid: 'RetierTenantFunctions',
      Effect: 'Allow',
      Action: ['lambda:GetFunction', 'lambda:GetFunctionConfiguration', 'lambda:GetFunctionConcurrency', 'lambda:GetFunctionCodeSigningConfig', 'lambda:GetRuntimeManagementConfig', 'lambda:ListTags', 'lambda:UpdateFunctionConfiguration', 'lambda:PutFunctionConcurrency'],
      Resource: [arn('lambda', `function:${stacks}`)],
    },
    {
      Sid: 'PassTenantRuntimeRolesToTheirFunctions',
      Effect: 'Allow',
      Action: ['iam:PassRole'],
      Resource: [`arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${stacks}-runtime`],
      Condition: { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } },
    },
    { Sid: 'RetierTenantLogGroups', Effect: 'Allow', Action: ['logs:PutRetentionPolicy', 'logs:ListTagsForResource', 'logs:GetDataProtectionPolicy'], Resource: [arn('logs', `log-group:/aws/lambda/${stacks}`)] },
    { Sid: 'DescribeLogGroups', Effect: 'Allow', Action: ['logs:DescribeLogGroups'], Resource: [arn('logs', 'log-group:*')] },
    { Sid: 'RetierTenantApiStages', Effect: 'Allow', Action: ['apigateway:GET', 'apigateway:PATCH'], Resource: ['arn:${AWS::Partition}:apigateway:${AWS::Region}::/apis/*/stages/$default'] },
  ]);
}

/**
 * The billing webhook: function, role, log group, public Function URL. The role may, and only:
 * write its own log group; read and write this project's items (`<project>#…` partition keys) of
 * the registry and audit tables — tenant records, lock, audit events, billing ledger; read and
 * write the `_sovereign` partition (the generation marker) of the stage's tenant tables, to
 * publish a suspension; read its signing secret; update the tier-dependent settings of the
 * stage's tenant stacks (`retierStatements`). It has no S3 rights and no IAM rights beyond passing
 * tenant runtime roles to Lambda: it never builds or deploys code, and an offboarding that falls
 * due is reported for `sovereign tenant offboard` to perform.
 */
function billingResources(inputs: ControlPlaneInputs & { billing: ControlPlaneBillingInputs }, tags: Record<string, string>): Record<string, CfnResource> {
  const { stage, project, billing } = inputs;
  const name = billingWebhookFunctionName(stage);
  const logGroupArn = `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${billingWebhookLogGroupName(stage)}:*`;
  const tenantTables = `arn:\${AWS::Partition}:dynamodb:\${AWS::Region}:\${AWS::AccountId}:table/${tenantTableNamePattern(stage)}`;
  const policy = {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'WriteOwnLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: [withPseudoParameters(logGroupArn)] },
      {
        Sid: 'ProjectItemsOfControlPlaneTables',
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem', 'dynamodb:Query'],
        Resource: [getAtt('TenantTable', 'Arn'), getAtt('AuditTable', 'Arn')],
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${project}#*`] } },
      },
      {
        Sid: 'TenantGenerationMarkers',
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
        Resource: [withPseudoParameters(tenantTables)],
        Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['_sovereign'] } },
      },
      ...signingSecretStatements(billing.webhookSecret),
      ...retierStatements(stage),
    ],
  };
  return {
    BillingWebhookLogGroup: {
      Type: 'AWS::Logs::LogGroup',
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Retain',
      Properties: { LogGroupName: billingWebhookLogGroupName(stage), RetentionInDays: BILLING_LOG_RETENTION_DAYS, Tags: tagList(tags) },
    },
    BillingWebhookRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        RoleName: billingWebhookRoleName(stage),
        Description: `sovereign billing webhook (${stage})`,
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        },
        Policies: [{ PolicyName: 'sovereign-billing-webhook', PolicyDocument: policy }],
        Tags: tagList(tags),
      },
    },
    BillingWebhookFunction: {
      Type: 'AWS::Lambda::Function',
      // LoggingConfig's Ref orders the function after its log group; no DependsOn.
      Properties: {
        FunctionName: name,
        Description: `sovereign billing webhook (${stage})`,
        Runtime: inputs.lambdaRuntime ?? DEFAULT_LAMBDA_RUNTIME,
        Architectures: [LAMBDA_ARCHITECTURE],
        ReservedConcurrentExecutions: BILLING_RESERVED_CONCURRENCY,
        Handler: 'index.handler',
        Code: { S3Bucket: ref('ArtifactBucket'), S3Key: artifactKey(billing.artifactSha256) },
        Role: getAtt('BillingWebhookRole', 'Arn'),
        MemorySize: 256,
        // Long enough to wait out the project lock of a running CLI command (8 s) and still answer.
        Timeout: 30,
        Environment: {
          Variables: {
            [BILLING_FUNCTION_ENV.project]: project,
            [BILLING_FUNCTION_ENV.stage]: stage,
            [BILLING_FUNCTION_ENV.config]: JSON.stringify({ suspendAfterFailures: billing.config.suspendAfterFailures, offboardGracePeriod: billing.config.offboardGracePeriod, plans: billing.config.plans }),
            [BILLING_FUNCTION_ENV.secretReference]: billing.webhookSecret,
          },
        },
        LoggingConfig: { LogGroup: ref('BillingWebhookLogGroup') },
        Tags: tagList(tags),
      },
    },
    // The Stripe signature is the authentication: the URL is public, the handler refuses what is not signed.
    BillingWebhookUrl: {
      Type: 'AWS::Lambda::Url',
      Properties: { AuthType: 'NONE', InvokeMode: 'BUFFERED', TargetFunctionArn: getAtt('BillingWebhookFunction', 'Arn') },
    },
    BillingWebhookUrlPermission: {
      Type: 'AWS::Lambda::Permission',
      Properties: { Action: 'lambda:InvokeFunctionUrl', FunctionName: ref('BillingWebhookFunction'), Principal: '*', FunctionUrlAuthType: 'NONE' },
    },
    // Function URLs created since October 2025 need lambda:InvokeFunction too, limited to calls through the URL.
    BillingWebhookInvokePermission: {
      Type: 'AWS::Lambda::Permission',
      Properties: { Action: 'lambda:InvokeFunction', FunctionName: ref('BillingWebhookFunction'), Principal: '*', InvokedViaFunctionUrl: true },
    },
  };
}

/**
 * The stage's data key, for tenants whose table and log group use the stage's key
 * (`aws.tableKey: "stage"`). The account administers it and its IAM policies grant it (each
 * tenant's runtime role names it, through DynamoDB and CloudWatch Logs only); CloudWatch Logs may
 * use it for the stage's tenant log groups only. Offboarding
 * cannot shred it (other tenants' data depends on it); the deletion certificate says so.
 */
function stageDataKeyResources(stage: string, tags: Record<string, string>): Record<string, CfnResource> {
  const logGroups = `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${tenantLogGroupPattern(stage)}`;
  return {
    TenantDataKey: symmetricKey({
      description: `sovereign tenant data (stage ${stage}): tables and log groups of tenants without a key of their own`,
      pendingWindowInDays: 30,
      statements: [logsMayUseKey('LogsForTenantLogGroups', { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': sub(logGroups) } })],
      tags,
    }),
    TenantDataKeyAlias: { Type: 'AWS::KMS::Alias', Properties: { AliasName: stageDataKeyAlias(stage), TargetKeyId: ref('TenantDataKey') } },
  };
}

export function renderControlPlaneStack(inputs: ControlPlaneInputs): CfnTemplate {
  const { stage } = inputs;
  const stackName = controlPlaneStackName(stage);
  const tags = { 'sovereign:project': inputs.project, 'sovereign:stage': stage, 'sovereign:component': 'control-plane' };
  const exportName = (output: string) => ({ Name: controlPlaneExportName(stage, output) });

  const billing = inputs.billing;
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `sovereign control plane (stage ${stage})`,
    Metadata: {
      Sovereign: { templateVersion: CONTROL_PLANE_TEMPLATE_VERSION, project: inputs.project, stage, ...(billing ? { billingWebhookArtifact: billing.artifactSha256 } : {}) },
    },
    Resources: {
      ArtifactBucket: {
        Type: 'AWS::S3::Bucket',
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          BucketName: sub(artifactBucketNameSub(stage)),
          VersioningConfiguration: { Status: 'Enabled' },
          ...PRIVATE_BUCKET,
          LifecycleConfiguration: {
            Rules: [
              {
                Id: 'expire-old-versions',
                Status: 'Enabled',
                NoncurrentVersionExpiration: { NoncurrentDays: 90 },
                AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
              },
            ],
          },
          Tags: tagList(tags),
        },
      },
      ArtifactBucketPolicy: {
        Type: 'AWS::S3::BucketPolicy',
        Properties: {
          Bucket: ref('ArtifactBucket'),
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [denyInsecureTransport('ArtifactBucket')],
          },
        },
      },
      TenantTable: controlPlaneTable(tenantRegistryTableName(stage), tags, CONTROL_PLANE_TTL_ATTRIBUTE),
      AuditTable: controlPlaneTable(auditTableName(stage), tags),
      SecretsKey: {
        Type: 'AWS::KMS::Key',
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          Description: `sovereign secrets (stage ${stage}): SSM SecureString parameters and Secrets Manager secrets`,
          KeySpec: 'SYMMETRIC_DEFAULT',
          KeyUsage: 'ENCRYPT_DECRYPT',
          EnableKeyRotation: true,
          PendingWindowInDays: 30,
          KeyPolicy: {
            Version: '2012-10-17',
            Statement: [accountAllows('AccountAdministers', 'kms:*')],
          },
          Tags: tagList(tags),
        },
      },
      SecretsKeyAlias: {
        Type: 'AWS::KMS::Alias',
        Properties: { AliasName: secretsKeyAlias(stage), TargetKeyId: ref('SecretsKey') },
      },
      ...stageDataKeyResources(stage, tags),
      ...auditAnchorResources(stage, inputs.checkpointRetentionDays ?? DEFAULT_CHECKPOINT_RETENTION_DAYS, tags),
      ...(billing ? billingResources({ ...inputs, billing }, tags) : {}),
    },
    Outputs: {
      ArtifactBucketName: { Description: 'Bucket holding tenant artifacts', Value: ref('ArtifactBucket'), Export: exportName('ArtifactBucketName') },
      TenantTableName: { Description: 'Tenant registry table', Value: ref('TenantTable'), Export: exportName('TenantTableName') },
      AuditTableName: { Description: 'Audit event table', Value: ref('AuditTable'), Export: exportName('AuditTableName') },
      SecretsKeyArn: { Description: 'KMS key for tenant secrets', Value: getAtt('SecretsKey', 'Arn'), Export: exportName('SecretsKeyArn') },
      SecretsKeyAlias: { Description: 'Alias of the secrets key', Value: ref('SecretsKeyAlias'), Export: exportName('SecretsKeyAlias') },
      TenantDataKeyArn: { Description: 'KMS key of tenant tables and log groups with aws.tableKey "stage"', Value: getAtt('TenantDataKey', 'Arn'), Export: exportName('TenantDataKeyArn') },
      AuditAnchorBucketName: { Description: 'Bucket holding the signed audit checkpoints under Object Lock', Value: ref('AuditAnchorBucket'), Export: exportName('AuditAnchorBucketName') },
      AuditCheckpointKeyArn: { Description: 'KMS key that signs audit checkpoints', Value: getAtt('AuditCheckpointKey', 'Arn'), Export: exportName('AuditCheckpointKeyArn') },
      ...(billing
        ? { BillingWebhookUrl: { Description: 'Billing webhook endpoint (give it to the billing provider)', Value: getAtt('BillingWebhookUrl', 'FunctionUrl'), Export: exportName('BillingWebhookUrl') } }
        : {}),
    },
  };
}
