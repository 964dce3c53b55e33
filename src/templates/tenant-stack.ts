/**
 * The tenant stack: one Lambda, one HTTP API, one DynamoDB table, one log group and one IAM role,
 * all named `sovereign-<stage>-<tenant>`. Pure data from inputs; the deploy flow sends it to CloudFormation.
 */
import { badInput } from '../errors.js';
import type { TenantRuntimeConfig } from '../runtime/config.js';
import { TENANT_TABLE_KEY_SCHEMA } from '../runtime/table.js';
import { parseReference } from '../runtime/secrets/reference.js';
import { getAtt, ref, sub, tagList, withPseudoParameters, type CfnTemplate } from './cfn.js';
import {
  artifactBucketNameSub,
  artifactKey,
  tenantFunctionName,
  tenantLogGroupName,
  tenantRoleName,
  tenantStackName,
  tenantTableName,
} from './names.js';
import { renderTenantPolicy, type PolicyExtension, type TenantSecretScope } from './policy.js';
import { TIERS, type Tier } from './tiers.js';

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
  /** Enabled extensions with their declared permissions. */
  extensions: PolicyExtension[];
  runtimeConfig: TenantRuntimeConfig;
  /** Overrides the stage's artifact bucket (default: the one `sovereign bootstrap` creates). */
  artifactBucket?: string;
  scope?: TenantSecretScope;
  /** Lambda timeout in seconds; HTTP APIs stop waiting at 30. */
  timeoutSeconds?: number;
}

/** Lambda allows 4 KB of environment variables in total (names plus values). */
export const MAX_ENVIRONMENT_BYTES = 4096;

/** Tags every tenant resource and the stack itself carry. */
export function tenantTags(inputs: Pick<TenantStackInputs, 'project' | 'tenant' | 'stage'>): Record<string, string> {
  return { 'sovereign:project': inputs.project, 'sovereign:stage': inputs.stage, 'sovereign:tenant': inputs.tenant };
}

/** The runtime's environment contract (see `src/runtime/config.ts`). */
export function tenantEnvironment(inputs: TenantStackInputs): Record<string, string> {
  const { runtimeConfig } = inputs;
  for (const [key, reference] of [...Object.entries(runtimeConfig.secrets), ['webhookSecret', runtimeConfig.webhookSecret] as const]) {
    const parsed = parseReference(reference);
    if (!parsed.ok) {
      // The message names the key only: whatever is there might be a pasted value.
      throw badInput(`the secret for "${key}" of tenant "${inputs.tenant}" is not a reference: ${parsed.problem.message}`, 'set it with `sovereign secrets set`');
    }
  }
  const tenantConfig = {
    extensions: [...runtimeConfig.extensions].sort(),
    secrets: Object.fromEntries(Object.keys(runtimeConfig.secrets).sort().map((key) => [key, runtimeConfig.secrets[key]])),
    config: runtimeConfig.config,
    webhookSecret: runtimeConfig.webhookSecret,
  };
  const environment = {
    SOVEREIGN_TENANT: inputs.tenant,
    SOVEREIGN_STAGE: inputs.stage,
    SOVEREIGN_TIER: inputs.tier,
    SOVEREIGN_TABLE: tenantTableName(inputs.stage, inputs.tenant),
    SOVEREIGN_ARTIFACT: inputs.artifactSha256,
    SOVEREIGN_TENANT_CONFIG: JSON.stringify(tenantConfig),
    SOVEREIGN_SECRETS_BACKEND: 'aws',
    SOVEREIGN_GENERATION_SOURCE: 'dynamodb',
  };
  const bytes = Object.entries(environment).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (bytes > MAX_ENVIRONMENT_BYTES) {
    throw badInput(
      `tenant "${inputs.tenant}"'s runtime configuration is ${bytes} bytes; Lambda allows ${MAX_ENVIRONMENT_BYTES} bytes of environment`,
      'move large extension settings out of the tenant configuration',
    );
  }
  return environment;
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
  const timeout = inputs.timeoutSeconds ?? 29;
  const policy = renderTenantPolicy({ tenant, stage, extensions: inputs.extensions, scope: inputs.scope });
  const bucket = inputs.artifactBucket === undefined ? sub(artifactBucketNameSub(stage)) : inputs.artifactBucket;

  const template: CfnTemplate = {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `sovereign tenant ${tenant} (stage ${stage}, tier ${tier})`,
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
      LogGroup: {
        Type: 'AWS::Logs::LogGroup',
        DeletionPolicy: 'Delete',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          LogGroupName: tenantLogGroupName(stage, tenant),
          RetentionInDays: limits.logRetentionDays,
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
          SSESpecification: { SSEEnabled: true },
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
          Policies: [{ PolicyName: 'sovereign-runtime', PolicyDocument: withPseudoParameters(policy) }],
          Tags: tagList(tags),
        },
      },
      Function: {
        Type: 'AWS::Lambda::Function',
        DependsOn: 'LogGroup',
        Properties: {
          FunctionName: tenantFunctionName(stage, tenant),
          Description: `sovereign tenant ${tenant} (${stage})`,
          Runtime: 'nodejs20.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
          Code: { S3Bucket: bucket, S3Key: artifactKey(inputs.artifactSha256) },
          Role: getAtt('RuntimeRole', 'Arn'),
          MemorySize: limits.memorySize,
          Timeout: timeout,
          ReservedConcurrentExecutions: limits.reservedConcurrency,
          Environment: { Variables: tenantEnvironment(inputs) },
          LoggingConfig: { LogGroup: ref('LogGroup') },
          Tags: tagList(tags),
        },
      },
      HttpApi: {
        Type: 'AWS::ApiGatewayV2::Api',
        Properties: {
          Name: name,
          Description: `sovereign tenant ${tenant} (${stage})`,
          ProtocolType: 'HTTP',
          Tags: { ...tags },
        },
      },
      HttpApiIntegration: {
        Type: 'AWS::ApiGatewayV2::Integration',
        Properties: {
          ApiId: ref('HttpApi'),
          IntegrationType: 'AWS_PROXY',
          IntegrationUri: getAtt('Function', 'Arn'),
          PayloadFormatVersion: '2.0',
          TimeoutInMillis: 30_000,
        },
      },
      HttpApiRoute: {
        Type: 'AWS::ApiGatewayV2::Route',
        Properties: {
          ApiId: ref('HttpApi'),
          RouteKey: '$default',
          Target: sub('integrations/${HttpApiIntegration}'),
        },
      },
      HttpApiStage: {
        Type: 'AWS::ApiGatewayV2::Stage',
        Properties: {
          ApiId: ref('HttpApi'),
          StageName: '$default',
          AutoDeploy: true,
          DefaultRouteSettings: {
            ThrottlingRateLimit: limits.rateLimit,
            ThrottlingBurstLimit: limits.burstLimit,
          },
          Tags: { ...tags },
        },
      },
      InvokePermission: {
        Type: 'AWS::Lambda::Permission',
        Properties: {
          Action: 'lambda:InvokeFunction',
          FunctionName: ref('Function'),
          Principal: 'apigateway.amazonaws.com',
          SourceArn: sub('arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*'),
        },
      },
    },
    Outputs: {
      ApiUrl: { Description: 'Base URL of the tenant API', Value: getAtt('HttpApi', 'ApiEndpoint') },
      FunctionName: { Description: 'The tenant runtime function', Value: ref('Function') },
      TableName: { Description: 'The tenant table', Value: ref('Table') },
    },
  };
  return template;
}
