/**
 * The tenant stack: one Lambda, one HTTP API (with the tenant's JWT authorizer, and a second one
 * for API keys: `tenant-api.ts`), one DynamoDB table, one log group and one IAM role, all named
 * `sovereign-<stage>-<tenant>`. Pure data from inputs; the deploy flow sends it to CloudFormation.
 */
import { badInput } from '../errors.js';
import { runtimeEnvironment } from '../contract/runtime-environment.js';
import type { TenantRuntimeConfig } from '../contract/tenant-runtime-config.js';
import { TENANT_TABLE_KEY_SCHEMA } from '../runtime/table.js';
import { parseReference } from '../contract/reference.js';
import { getAtt, ref, sub, tagList, withPseudoParameters, type CfnResource, type CfnTemplate } from './cfn.js';
import { logsMayUseKey, symmetricKey } from './kms.js';
import { DEFAULT_LAMBDA_RUNTIME, LAMBDA_ARCHITECTURE, type LambdaRuntime } from './lambda-runtime.js';
import {
  artifactBucketNameSub,
  artifactKey,
  controlPlaneExportName,
  tenantDataKeyAlias,
  tenantFunctionName,
  tenantLogGroupName,
  tenantRoleName,
  tenantStackName,
  tenantTableName,
} from './names.js';
import { renderTenantPolicy, SECRETS_KEY_SIDS, type PolicyDocument, type TenantSecretScope } from './policy.js';
import { TIERED_API_STAGES, tenantApiResources, type StackExtension } from './tenant-api.js';
import { tenantScheduleResources } from './schedules.js';
import { FUNCTION_TIMEOUT_SECONDS, isTier, TIERS, type Tier } from './tiers.js';

/** Version of the template layout, recorded in the template's metadata. */
export const TENANT_TEMPLATE_VERSION = 1;

export type { TenantRuntimeConfig };

export interface TenantStackInputs {
  project: string;
  tenant: string;
  stage: string;
  tier: Tier;
  /** SHA-256 of the tenant's artifact zip (`artifacts/<sha256>.zip` in the artifact bucket). */
  artifactSha256: string;
  /** Enabled extensions with their declared permissions (the role) and routes (the API's authorizer). */
  extensions: StackExtension[];
  runtimeConfig: TenantRuntimeConfig;
  /** Overrides the stage's artifact bucket (default: the one `sovereign bootstrap` creates). */
  artifactBucket?: string;
  scope?: TenantSecretScope;
  /** Lambda timeout in seconds; HTTP APIs stop waiting at 30. */
  timeoutSeconds?: number;
  /** Node.js runtime of the function (default {@link DEFAULT_LAMBDA_RUNTIME}); the artifact is built for it. */
  lambdaRuntime?: LambdaRuntime;
  /**
   * Which KMS key encrypts the table and the log group: the tenant's own (default; offboarding
   * schedules its deletion) or the stage's data key of the control plane.
   */
  tableKey?: TableKeyMode;
  /** Days KMS waits before deleting the tenant's own key once its deletion is scheduled (7–30, default 30). */
  keyDeletionWindowDays?: number;
  /** The tenant refuses traffic (suspended, offboarding): the function's reserved concurrency is 0. */
  suspended?: boolean;
}

export type TableKeyMode = 'tenant' | 'stage';

/** Reserved concurrency 0: Lambda throttles every invocation, whatever the function's code does. */
export const SUSPENDED_CONCURRENCY = 0;

/** Fields of each HTTP API access log line (API Gateway `$context` variables), one JSON object per request. */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  time: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  method: '$context.httpMethod',
  path: '$context.path',
  status: '$context.status',
  latencyMs: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  error: '$context.error.message',
});

/** Lambda allows 4 KB of environment variables in total (names plus values). */
export const MAX_ENVIRONMENT_BYTES = 4096;

/** Tags every tenant resource and the stack itself carry. */
export function tenantTags(inputs: Pick<TenantStackInputs, 'project' | 'tenant' | 'stage'>): Record<string, string> {
  return { 'sovereign:project': inputs.project, 'sovereign:stage': inputs.stage, 'sovereign:tenant': inputs.tenant };
}

/**
 * The Lambda function's environment: the runtime's contract (`runtimeEnvironment`, with SSM and
 * Secrets Manager and the table's generation marker), after checking that every secret is a
 * reference and that the whole fits Lambda's limit.
 */
export function lambdaTenantEnvironment(inputs: TenantStackInputs): Record<string, string> {
  const { runtimeConfig } = inputs;
  for (const [key, reference] of [...Object.entries(runtimeConfig.secrets), ['webhookSecret', runtimeConfig.webhookSecret] as const]) {
    const parsed = parseReference(reference);
    if (!parsed.ok) {
      // The message names the key only: whatever is there might be a pasted value.
      throw badInput(`the secret for "${key}" of tenant "${inputs.tenant}" is not a reference: ${parsed.problem.message}`, 'set it with `sovereign secrets set`');
    }
  }
  const environment = runtimeEnvironment({
    tenant: inputs.tenant,
    stage: inputs.stage,
    tier: inputs.tier,
    table: tenantTableName(inputs.stage, inputs.tenant),
    artifact: inputs.artifactSha256,
    tenantConfig: runtimeConfig,
    secretsBackend: { kind: 'aws' },
    generationSource: { kind: 'dynamodb' },
  });
  const bytes = environmentBytes(environment);
  if (bytes > MAX_ENVIRONMENT_BYTES) {
    throw badInput(
      `tenant "${inputs.tenant}"'s runtime configuration is ${bytes} bytes; Lambda allows ${MAX_ENVIRONMENT_BYTES} bytes of environment`,
      'move large extension settings out of the tenant configuration',
    );
  }
  return environment;
}

/** The stack's description; it names the tier, so a re-tiering rewrites it. */
function tenantStackDescription(tenant: string, stage: string, tier: Tier): string {
  return `sovereign tenant ${tenant} (stage ${stage}, tier ${tier})`;
}

function environmentBytes(variables: Record<string, unknown>): number {
  return Object.entries(variables).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(String(v)), 0);
}

/** What the tenant's table and log group need of their key, on the runtime's behalf. */
export const DATA_KEY_ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'] as const;

/** The services through which the runtime's credentials may use its data key. */
export const dataKeyServices = () => [sub('dynamodb.${AWS::Region}.amazonaws.com'), sub('logs.${AWS::Region}.amazonaws.com')];

/**
 * The tenant's own KMS key. Its policy lets the account administer it, the tenant's runtime role
 * use it through DynamoDB and CloudWatch Logs only (never a direct Decrypt of an arbitrary
 * ciphertext), and CloudWatch Logs use it for this tenant's log group only (the encryption
 * context names the log group). Retained by the stack: offboarding schedules its deletion after
 * the export, which makes every backup of the table and the logs unreadable (crypto-shredding).
 */
function tenantKeyResources(inputs: TenantStackInputs, tags: Record<string, string>): Record<string, CfnResource> {
  const { stage, tenant } = inputs;
  const logGroupArn = `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${tenantLogGroupName(stage, tenant)}`;
  return {
    DataKey: symmetricKey({
      description: `sovereign tenant ${tenant} (${stage}): its table and log group`,
      pendingWindowInDays: inputs.keyDeletionWindowDays ?? 30,
      statements: [
        {
          Sid: 'TenantRuntimeThroughItsServices',
          Effect: 'Allow',
          Principal: { AWS: getAtt('RuntimeRole', 'Arn') },
          Action: [...DATA_KEY_ACTIONS],
          Resource: '*',
          Condition: { StringEquals: { 'kms:ViaService': dataKeyServices() } },
        },
        logsMayUseKey('LogsForTheTenantLogGroup', { ArnEquals: { 'kms:EncryptionContext:aws:logs:arn': sub(logGroupArn) } }),
      ],
      tags,
    }),
    // Kept with the key when the stack is deleted: offboarding finds the key by it afterwards.
    DataKeyAlias: {
      Type: 'AWS::KMS::Alias',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: { AliasName: tenantDataKeyAlias(stage, tenant), TargetKeyId: ref('DataKey') },
    },
  };
}

/**
 * The policy with its secrets-key statements on the stage's key itself (the control plane's
 * `SecretsKeyArn` export) instead of `key/*`: the rendered policy keeps the alias condition for
 * offline evaluation, where the key's id is unknown.
 */
function onStageSecretsKey(policy: PolicyDocument, stage: string): PolicyDocument {
  const key = { 'Fn::ImportValue': controlPlaneExportName(stage, 'SecretsKeyArn') };
  return {
    ...policy,
    Statement: policy.Statement.map((statement) => (SECRETS_KEY_SIDS.includes(statement.Sid) ? { ...statement, Resource: [key as unknown as string] } : statement)),
  };
}

/** What the runtime role may do with the stage's data key: what its table and log group need, through those services only. */
function stageDataKeyPolicy(key: unknown) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'StageDataKeyThroughItsServices',
        Effect: 'Allow',
        Action: [...DATA_KEY_ACTIONS],
        Resource: [key],
        Condition: { StringEquals: { 'kms:ViaService': dataKeyServices() } },
      },
    ],
  };
}

/** Renders the tenant's CloudFormation template. */
export function renderTenantStack(inputs: TenantStackInputs): CfnTemplate {
  const { tenant, stage, tier } = inputs;
  const limits = TIERS[tier];
  if (limits === undefined) throw badInput(`tier "${String(tier)}" is not one of basic, standard, premium`);
  const name = tenantStackName(stage, tenant);
  const declared = inputs.extensions.map((e) => e.name).sort().join(',');
  if (declared !== [...inputs.runtimeConfig.extensions].sort().join(',')) {
    throw new Error(`tenant ${tenant}: the extensions of the policy (${declared}) and of the runtime configuration differ`);
  }
  const tags = tenantTags(inputs);
  const timeout = inputs.timeoutSeconds ?? FUNCTION_TIMEOUT_SECONDS;
  const policy = renderTenantPolicy({ tenant, stage, extensions: inputs.extensions, scope: inputs.scope });
  const bucket = inputs.artifactBucket === undefined ? sub(artifactBucketNameSub(stage)) : inputs.artifactBucket;
  const ownKey = (inputs.tableKey ?? 'tenant') === 'tenant';
  const dataKeyArn = ownKey ? getAtt('DataKey', 'Arn') : { 'Fn::ImportValue': controlPlaneExportName(stage, 'TenantDataKeyArn') };
  const api = tenantApiResources({
    name,
    tenant,
    stage,
    extensions: inputs.extensions,
    auth: inputs.runtimeConfig.auth,
    tags,
    throttling: { rateLimit: limits.rateLimit, burstLimit: limits.burstLimit },
    accessLogFormat: ACCESS_LOG_FORMAT,
  });

  const template: CfnTemplate = {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: tenantStackDescription(tenant, stage, tier),
    Metadata: {
      Sovereign: {
        templateVersion: TENANT_TEMPLATE_VERSION,
        project: inputs.project,
        tenant,
        stage,
        tier,
        artifact: inputs.artifactSha256,
        extensions: [...inputs.runtimeConfig.extensions].sort(),
      },
    },
    Resources: {
      ...(ownKey ? tenantKeyResources(inputs, tags) : {}),
      LogGroup: {
        Type: 'AWS::Logs::LogGroup',
        DeletionPolicy: 'Delete',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          LogGroupName: tenantLogGroupName(stage, tenant),
          RetentionInDays: limits.logRetentionDays,
          KmsKeyId: dataKeyArn,
          Tags: tagList(tags),
        },
      },
      Table: {
        Type: 'AWS::DynamoDB::Table',
        DeletionPolicy: 'Delete',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          TableName: tenantTableName(stage, tenant),
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: TENANT_TABLE_KEY_SCHEMA.AttributeDefinitions.map((d) => ({ ...d })),
          KeySchema: TENANT_TABLE_KEY_SCHEMA.KeySchema.map((k) => ({ ...k })),
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: dataKeyArn },
          DeletionProtectionEnabled: stage !== 'dev',
          Tags: tagList(tags),
        },
      },
      RuntimeRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          RoleName: tenantRoleName(stage, tenant),
          Description: `Runtime of sovereign tenant ${tenant} (${stage})`,
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
            ],
          },
          Policies: [
            { PolicyName: 'sovereign-runtime', PolicyDocument: onStageSecretsKey(withPseudoParameters(policy), stage) },
            // The stage's data key delegates to IAM (its policy names the account): the role names that key.
            ...(ownKey ? [] : [{ PolicyName: 'sovereign-stage-data-key', PolicyDocument: stageDataKeyPolicy(dataKeyArn) }]),
          ],
          Tags: tagList(tags),
        },
      },
      Function: {
        Type: 'AWS::Lambda::Function',
        // LoggingConfig's Ref orders the function after its log group; no DependsOn.
        Properties: {
          FunctionName: tenantFunctionName(stage, tenant),
          Description: `sovereign tenant ${tenant} (${stage})`,
          Runtime: inputs.lambdaRuntime ?? DEFAULT_LAMBDA_RUNTIME,
          Architectures: [LAMBDA_ARCHITECTURE],
          Handler: 'index.handler',
          Code: { S3Bucket: bucket, S3Key: artifactKey(inputs.artifactSha256) },
          Role: getAtt('RuntimeRole', 'Arn'),
          MemorySize: limits.memorySize,
          Timeout: timeout,
          ReservedConcurrentExecutions: inputs.suspended ? SUSPENDED_CONCURRENCY : limits.reservedConcurrency,
          Environment: { Variables: lambdaTenantEnvironment(inputs) },
          LoggingConfig: { LogGroup: ref('LogGroup') },
          Tags: tagList(tags),
        },
      },
      ...api.resources,
      ...tenantScheduleResources({ stage, tenant, extensions: inputs.extensions, settings: inputs.runtimeConfig.config, tags, ...(inputs.suspended ? { suspended: true } : {}) }),
    },
    Outputs: {
      ...api.outputs,
      FunctionName: { Description: 'The tenant runtime function', Value: ref('Function') },
      TableName: { Description: 'The tenant table', Value: ref('Table') },
      // With the stage's key, the control plane's own output already names it.
      ...(ownKey ? { DataKeyArn: { Description: "The tenant's own KMS key (table, log group)", Value: dataKeyArn } } : {}),
    },
  };
  return template;
}

/** The resources a re-tiering modifies (logical ids of the tenant template; the machine API's stage only where it exists). */
export const RETIERED_RESOURCES: readonly string[] = ['Function', ...TIERED_API_STAGES, 'LogGroup'];

/** A template that is not a sovereign tenant template of the expected tenant: it is never edited. */
export class NotATenantTemplateError extends Error {
  constructor(problem: string) {
    super(`not a sovereign tenant template: ${problem}`);
    this.name = 'NotATenantTemplateError';
  }
}

/** Who the template must belong to; anything else is refused. */
export interface RetierExpectation {
  project?: string;
  stage?: string;
  tenant?: string;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function resourceOf(resources: Json, logicalId: string, type: string): Json {
  const resource = resources[logicalId];
  if (!isObject(resource) || resource.Type !== type || !isObject(resource.Properties)) {
    throw new NotATenantTemplateError(`it has no ${logicalId} resource of type ${type}`);
  }
  return resource.Properties;
}

/**
 * The tenant's template as deployed, with another tier's limits: function memory and reserved
 * concurrency, the `SOVEREIGN_TIER` variable, the API stages' default-route throttling, the log
 * group's retention, and the tier named in the description and metadata. Nothing else changes, so
 * `retierTenantTemplate(renderTenantStack({ ...inputs, tier: a }), b)` equals
 * `renderTenantStack({ ...inputs, tier: b })`; `options.suspended` (the tenant refuses traffic)
 * keeps the function's reserved concurrency at 0. Pure: the input is not modified.
 *
 * A template that is not one this version renders for the expected tenant (metadata, version,
 * logical ids, resource names) is refused with `NotATenantTemplateError`, so a caller holding a
 * stack name can never rewrite a foreign stack.
 */
export function retierTenantTemplate(template: unknown, tier: Tier, expected: RetierExpectation = {}, options: { suspended?: boolean } = {}): CfnTemplate {
  if (!isTier(tier)) throw badInput(`tier "${String(tier)}" is not one of basic, standard, premium`);
  if (!isObject(template) || !isObject(template.Metadata) || !isObject(template.Metadata.Sovereign) || !isObject(template.Resources)) {
    throw new NotATenantTemplateError('it has no Metadata.Sovereign section or no resources');
  }
  const meta = template.Metadata.Sovereign;
  if (meta.templateVersion !== TENANT_TEMPLATE_VERSION) {
    throw new NotATenantTemplateError(`its template version is ${JSON.stringify(meta.templateVersion)}, this version re-tiers version ${TENANT_TEMPLATE_VERSION}`);
  }
  const { project, stage, tenant, tier: from } = meta;
  if (typeof project !== 'string' || typeof stage !== 'string' || typeof tenant !== 'string' || typeof from !== 'string' || !isTier(from)) {
    throw new NotATenantTemplateError('its metadata does not name a project, stage, tenant and tier');
  }
  for (const key of ['project', 'stage', 'tenant'] as const) {
    const wanted = expected[key];
    if (wanted !== undefined && meta[key] !== wanted) throw new NotATenantTemplateError(`it belongs to ${key} "${String(meta[key])}", not "${wanted}"`);
  }
  if (template.Description !== tenantStackDescription(tenant, stage, from)) throw new NotATenantTemplateError('its description is not the one sovereign renders');

  const copy = structuredClone(template) as Json & { Resources: Json };
  const fn = resourceOf(copy.Resources, 'Function', 'AWS::Lambda::Function');
  const logGroup = resourceOf(copy.Resources, 'LogGroup', 'AWS::Logs::LogGroup');
  // The main API's stage always, the machine API's when the tenant has one.
  const apiStages = TIERED_API_STAGES.filter((id, i) => i === 0 || id in copy.Resources).map((id) => resourceOf(copy.Resources, id, 'AWS::ApiGatewayV2::Stage'));
  if (fn.FunctionName !== tenantFunctionName(stage, tenant)) throw new NotATenantTemplateError(`its function is not named ${tenantFunctionName(stage, tenant)}`);
  if (logGroup.LogGroupName !== tenantLogGroupName(stage, tenant)) throw new NotATenantTemplateError(`its log group is not named ${tenantLogGroupName(stage, tenant)}`);
  for (const apiStage of apiStages) {
    if (!isObject(apiStage.DefaultRouteSettings)) throw new NotATenantTemplateError('its API stage has no default route settings');
  }

  const limits = TIERS[tier];
  copy.Description = tenantStackDescription(tenant, stage, tier);
  (copy.Metadata as { Sovereign: Json }).Sovereign.tier = tier;
  fn.MemorySize = limits.memorySize;
  // A suspended tenant stays throttled: only `tenant resume` gives its function concurrency back.
  // Without word of its status, a template deployed while suspended keeps its 0.
  const suspended = options.suspended ?? fn.ReservedConcurrentExecutions === SUSPENDED_CONCURRENCY;
  fn.ReservedConcurrentExecutions = suspended ? SUSPENDED_CONCURRENCY : limits.reservedConcurrency;
  const variables = isObject(fn.Environment) && isObject(fn.Environment.Variables) ? fn.Environment.Variables : undefined;
  if (variables && 'SOVEREIGN_TIER' in variables) {
    variables.SOVEREIGN_TIER = tier;
    const bytes = environmentBytes(variables);
    if (bytes > MAX_ENVIRONMENT_BYTES) {
      throw badInput(`tenant "${tenant}"'s environment would be ${bytes} bytes at tier ${tier}; Lambda allows ${MAX_ENVIRONMENT_BYTES} bytes`, 'move large extension settings out of the tenant configuration');
    }
  }
  for (const apiStage of apiStages) {
    const settings = apiStage.DefaultRouteSettings as Json;
    settings.ThrottlingRateLimit = limits.rateLimit;
    settings.ThrottlingBurstLimit = limits.burstLimit;
  }
  logGroup.RetentionInDays = limits.logRetentionDays;
  return copy as unknown as CfnTemplate;
}
