/**
 * What the AWS linters check of the rendered stacks, pinned: the Lambda runtime (one constant,
 * `nodejs24.x` by default), `${AWS::Partition}` in every ARN, `kms:Decrypt` on the stage key only,
 * HTTP API access logs in the tenant's log group, the per-tenant (or per-stage) data key, the
 * billing function's reserved concurrency, and no `DependsOn` that a `Ref` already implies.
 */
import { describe, expect, it } from 'vitest';
import { configSchema } from '../config.js';
import { renderControlPlaneStack, type ControlPlaneBillingInputs } from './control-plane.js';
import { ACCESS_LOG_FORMAT, renderTenantStack, retierTenantTemplate, SUSPENDED_CONCURRENCY, type TenantStackInputs } from './tenant-stack.js';
import { DEFAULT_LAMBDA_RUNTIME, esbuildTargetOf } from './lambda-runtime.js';
import { TIERS } from './tiers.js';

type Json = Record<string, any>;

const inputs = (overrides: Partial<TenantStackInputs> = {}): TenantStackInputs => ({
  project: 'shop',
  tenant: 'acme',
  stage: 'prod',
  tier: 'standard',
  artifactSha256: 'a'.repeat(64),
  extensions: [{ name: 'cetec', permissions: [], routes: [] }],
  runtimeConfig: { extensions: ['cetec'], secrets: {}, config: {}, webhookSecret: 'secretsmanager:prod/tenants/acme/webhook' },
  ...overrides,
});
const BILLING: ControlPlaneBillingInputs = {
  artifactSha256: 'c'.repeat(64),
  config: { suspendAfterFailures: 2, offboardGracePeriod: '14d', plans: {} },
  webhookSecret: 'ssm:/prod/_sovereign/billing/webhook_secret',
};

const tenant = (overrides: Partial<TenantStackInputs> = {}) => renderTenantStack(inputs(overrides)) as Json;
const controlPlane = () => renderControlPlaneStack({ project: 'shop', stage: 'prod', billing: BILLING }) as Json;

/** Every string in a template, with the path that leads to it. */
function strings(value: unknown, path = ''): Array<[string, string]> {
  if (typeof value === 'string') return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((item, i) => strings(item, `${path}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => strings(v, `${path}.${k}`));
  return [];
}

/** Logical ids a value refers to through Ref, Fn::GetAtt or `${Id}` / `${Id.Attr}` in Fn::Sub. */
function referencedIds(value: unknown): Set<string> {
  const found = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    for (const [key, item] of Object.entries(v)) {
      if (key === 'Ref' && typeof item === 'string') found.add(item);
      else if (key === 'Fn::GetAtt' && Array.isArray(item)) found.add(String(item[0]));
      else if (key === 'Fn::Sub' && typeof item === 'string') for (const m of item.matchAll(/\$\{([A-Za-z0-9]+)[.}]/g)) found.add(m[1]!);
      else walk(item);
    }
  };
  walk(value);
  return found;
}

describe('the Lambda runtime', () => {
  it('is nodejs24.x on arm64 for tenant and billing functions, from one constant', () => {
    expect(DEFAULT_LAMBDA_RUNTIME).toBe('nodejs24.x');
    expect(tenant().Resources.Function.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    expect(controlPlane().Resources.BillingWebhookFunction.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    expect(JSON.stringify([tenant(), controlPlane()])).not.toMatch(/nodejs20|nodejs18/);
  });

  it('follows aws.lambdaRuntime, which accepts nodejs22.x and nodejs24.x only and defaults to nodejs24.x', () => {
    expect(tenant({ lambdaRuntime: 'nodejs22.x' }).Resources.Function.Properties.Runtime).toBe('nodejs22.x');
    expect(esbuildTargetOf('nodejs22.x')).toBe('node22');
    expect(esbuildTargetOf('nodejs24.x')).toBe('node24');
    const parse = (aws: unknown) => configSchema.safeParse({ project: 'shop', aws });
    expect(parse({}).success && parse({}).data?.aws).toEqual({ lambdaRuntime: 'nodejs24.x', tableKey: 'tenant', keyDeletionWindowDays: 30 });
    expect(parse({ lambdaRuntime: 'nodejs22.x' }).success).toBe(true);
    expect(parse({ lambdaRuntime: 'nodejs20.x' }).success).toBe(false);
    expect(parse({ keyDeletionWindowDays: 6 }).success).toBe(false);
    expect(parse({ keyDeletionWindowDays: 31 }).success).toBe(false);
    expect(parse({ tableKey: 'account' }).success).toBe(false);
  });
});

describe('ARNs', () => {
  it('name ${AWS::Partition}, never a literal partition, in the tenant and control-plane stacks', () => {
    for (const template of [tenant(), tenant({ tableKey: 'stage' }), controlPlane()]) {
      const arns = strings(template).filter(([, text]) => text.includes('arn:'));
      expect(arns.length).toBeGreaterThan(5);
      for (const [path, text] of arns) {
        for (const arn of text.match(/arn:(\$\{AWS::Partition\}|[^:$]*):/g) ?? []) expect(arn, path).toBe('arn:${AWS::Partition}:');
      }
    }
  });
});

describe('kms:Decrypt of the tenant runtime', () => {
  it('names the stage secrets key itself, through SSM and Secrets Manager only, for the tenant\'s own items', () => {
    const statements: Json[] = tenant().Resources.RuntimeRole.Properties.Policies[0].PolicyDocument.Statement;
    const kms = statements.filter((s) => s.Action.some((a: string) => a.startsWith('kms:')));
    expect(kms.map((s) => s.Sid)).toEqual(['RuntimeParametersKey', 'RuntimeSecretsKey']);
    for (const statement of kms) {
      expect(statement.Action).toEqual(['kms:Decrypt']);
      expect(statement.Resource).toEqual([{ 'Fn::ImportValue': 'sovereign-prod-control-plane-SecretsKeyArn' }]);
      expect(JSON.stringify(statement)).not.toContain('key/*');
    }
    expect(kms[0]!.Condition.StringEquals['kms:ViaService']).toEqual({ 'Fn::Sub': 'ssm.${AWS::Region}.amazonaws.com' });
    expect(kms[0]!.Condition.StringLike['kms:EncryptionContext:PARAMETER_ARN']).toEqual([{ 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/prod/tenants/acme/*' }]);
    expect(kms[1]!.Condition.StringEquals['kms:ViaService']).toEqual({ 'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com' });
    expect(kms[1]!.Condition.StringLike['kms:EncryptionContext:SecretARN']).toEqual([{ 'Fn::Sub': 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:prod/tenants/acme/*' }]);
    // The control plane exports what the tenant stacks import.
    expect(controlPlane().Outputs.SecretsKeyArn.Export.Name).toBe('sovereign-prod-control-plane-SecretsKeyArn');
  });

  it('of the billing function is its signing secret\'s service on the stage key only', () => {
    const statements: Json[] = controlPlane().Resources.BillingWebhookRole.Properties.Policies[0].PolicyDocument.Statement;
    const kms = statements.filter((s) => s.Action.some((a: string) => a.startsWith('kms:')));
    expect(kms).toHaveLength(1);
    expect(kms[0]!.Resource).toEqual([{ 'Fn::GetAtt': ['SecretsKey', 'Arn'] }]);
    expect(kms[0]!.Condition.StringEquals['kms:ViaService']).toEqual({ 'Fn::Sub': 'ssm.${AWS::Region}.amazonaws.com' });
  });
});

describe('HTTP API access logs', () => {
  it('go to the tenant\'s log group as one JSON object per request', () => {
    const stage = tenant().Resources.HttpApiStage.Properties;
    expect(stage.AccessLogSettings).toEqual({ DestinationArn: { 'Fn::GetAtt': ['LogGroup', 'Arn'] }, Format: ACCESS_LOG_FORMAT });
    const format = JSON.parse(stage.AccessLogSettings.Format) as Record<string, string>;
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status', ip: '$context.identity.sourceIp' });
  });
});

describe('the tenant data key', () => {
  it('encrypts the table and the log group; the runtime uses it through DynamoDB and Logs, Logs for this log group only', () => {
    const r = tenant().Resources;
    const key = { 'Fn::GetAtt': ['DataKey', 'Arn'] };
    expect(r.Table.Properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: key });
    expect(r.LogGroup.Properties.KmsKeyId).toEqual(key);
    expect(r.DataKey).toMatchObject({ Type: 'AWS::KMS::Key', DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(r.DataKey.Properties).toMatchObject({ EnableKeyRotation: true, PendingWindowInDays: 30, KeySpec: 'SYMMETRIC_DEFAULT' });
    expect(r.DataKeyAlias).toMatchObject({ DeletionPolicy: 'Retain', Properties: { AliasName: 'alias/sovereign-prod/tenants/acme', TargetKeyId: { Ref: 'DataKey' } } });
    const bySid = Object.fromEntries((r.DataKey.Properties.KeyPolicy.Statement as Json[]).map((s) => [s.Sid, s]));
    expect(Object.keys(bySid)).toEqual(['AccountAdministers', 'TenantRuntimeThroughItsServices', 'LogsForTheTenantLogGroup']);
    expect(bySid.AccountAdministers.Principal).toEqual({ AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } });
    expect(bySid.TenantRuntimeThroughItsServices).toMatchObject({
      Principal: { AWS: { 'Fn::GetAtt': ['RuntimeRole', 'Arn'] } },
      Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
      Condition: { StringEquals: { 'kms:ViaService': [{ 'Fn::Sub': 'dynamodb.${AWS::Region}.amazonaws.com' }, { 'Fn::Sub': 'logs.${AWS::Region}.amazonaws.com' }] } },
    });
    expect(bySid.LogsForTheTenantLogGroup).toMatchObject({
      Principal: { Service: { 'Fn::Sub': 'logs.${AWS::Region}.${AWS::URLSuffix}' } },
      Condition: { ArnEquals: { 'kms:EncryptionContext:aws:logs:arn': { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/sovereign-prod-acme' } } },
    });
    expect(tenant({ keyDeletionWindowDays: 7 }).Resources.DataKey.Properties.PendingWindowInDays).toBe(7);
  });

  it('is the stage\'s, imported from the control plane, with aws.tableKey "stage"', () => {
    const t = tenant({ tableKey: 'stage' });
    const key = { 'Fn::ImportValue': 'sovereign-prod-control-plane-TenantDataKeyArn' };
    expect(t.Resources.DataKey).toBeUndefined();
    expect(t.Resources.Table.Properties.SSESpecification.KMSMasterKeyId).toEqual(key);
    expect(t.Resources.LogGroup.Properties.KmsKeyId).toEqual(key);
    // The stage key delegates to IAM: the runtime role names it, through DynamoDB and Logs only.
    const policies = t.Resources.RuntimeRole.Properties.Policies as Json[];
    expect(policies.map((p) => p.PolicyName)).toEqual(['sovereign-runtime', 'sovereign-stage-data-key']);
    expect(policies[1]!.PolicyDocument.Statement).toEqual([
      {
        Sid: 'StageDataKeyThroughItsServices',
        Effect: 'Allow',
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        Resource: [key],
        Condition: { StringEquals: { 'kms:ViaService': [{ 'Fn::Sub': 'dynamodb.${AWS::Region}.amazonaws.com' }, { 'Fn::Sub': 'logs.${AWS::Region}.amazonaws.com' }] } },
      },
    ]);
    expect((tenant().Resources.RuntimeRole.Properties.Policies as Json[]).map((p) => p.PolicyName)).toEqual(['sovereign-runtime']);
    const cp = controlPlane();
    expect(cp.Outputs.TenantDataKeyArn).toMatchObject({ Value: { 'Fn::GetAtt': ['TenantDataKey', 'Arn'] }, Export: { Name: 'sovereign-prod-control-plane-TenantDataKeyArn' } });
    const logs = (cp.Resources.TenantDataKey.Properties.KeyPolicy.Statement as Json[]).find((s) => s.Sid === 'LogsForTenantLogGroups')!;
    expect(logs.Condition.ArnLike['kms:EncryptionContext:aws:logs:arn']).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/sovereign-prod-*' });
  });
});

describe('reserved concurrency', () => {
  it('of the billing function is set, so its public URL cannot take the account\'s concurrency', () => {
    expect(controlPlane().Resources.BillingWebhookFunction.Properties.ReservedConcurrentExecutions).toBeGreaterThan(0);
  });

  it('of a suspended tenant is 0, and re-tiering keeps it 0', () => {
    const suspended = renderTenantStack(inputs({ suspended: true }));
    expect((suspended as Json).Resources.Function.Properties.ReservedConcurrentExecutions).toBe(SUSPENDED_CONCURRENCY);
    expect((retierTenantTemplate(suspended, 'premium') as Json).Resources.Function.Properties.ReservedConcurrentExecutions).toBe(0);
    expect((retierTenantTemplate(renderTenantStack(inputs()), 'premium') as Json).Resources.Function.Properties.ReservedConcurrentExecutions).toBe(TIERS.premium.reservedConcurrency);
    // Told the tenant's status, re-tiering follows it: a plan change of a suspended tenant does not lift the suspension.
    const concurrency = (t: unknown) => (t as Json).Resources.Function.Properties.ReservedConcurrentExecutions;
    expect(concurrency(retierTenantTemplate(renderTenantStack(inputs()), 'premium', {}, { suspended: true }))).toBe(0);
    expect(concurrency(retierTenantTemplate(suspended, 'premium', {}, { suspended: false }))).toBe(TIERS.premium.reservedConcurrency);
    expect(retierTenantTemplate(suspended, 'basic', {}, { suspended: true })).toEqual(renderTenantStack(inputs({ suspended: true, tier: 'basic' })));
  });
});

describe('DependsOn', () => {
  it('never repeats a dependency a Ref or GetAtt already gives', () => {
    for (const template of [tenant(), controlPlane()]) {
      for (const [id, resource] of Object.entries(template.Resources as Record<string, Json>)) {
        const explicit = resource.DependsOn === undefined ? [] : [resource.DependsOn].flat();
        const implied = referencedIds(resource.Properties);
        for (const dependency of explicit) expect(implied.has(dependency), `${id} DependsOn ${dependency}`).toBe(false);
      }
    }
  });
});
