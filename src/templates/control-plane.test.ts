import { describe, expect, it } from 'vitest';
import { BILLING_FUNCTION_ENV, BILLING_RESERVED_CONCURRENCY, renderControlPlaneStack, RETIER_STACK_ACTIONS, type ControlPlaneBillingInputs } from './control-plane.js';
import { artifactBucketName, billingWebhookFunctionName, tenantFunctionName, tenantRoleName, tenantStackName, tenantTableName } from './names.js';

type Json = Record<string, any>;

const BILLING: ControlPlaneBillingInputs = {
  artifactSha256: 'c'.repeat(64),
  config: { suspendAfterFailures: 2, offboardGracePeriod: '14d', plans: { price_pro: 'premium' } },
  webhookSecret: 'ssm:/prod/_sovereign/billing/webhook_secret',
};

describe('renderControlPlaneStack', () => {
  it('matches the snapshot', () => {
    expect(renderControlPlaneStack({ project: 'shop', stage: 'prod' })).toMatchSnapshot();
  });

  it('locks the artifact bucket down', () => {
    const bucket = (renderControlPlaneStack({ project: 'shop', stage: 'prod' }) as Json).Resources.ArtifactBucket.Properties;
    expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(Object.values(bucket.PublicAccessBlockConfiguration)).toEqual([true, true, true, true]);
    expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
  });

  it('names tables so that no tenant table can collide with them', () => {
    const r = (renderControlPlaneStack({ project: 'shop', stage: 'prod' }) as Json).Resources;
    expect(r.TenantTable.Properties.TableName).toBe('sovereign_prod_tenants');
    expect(r.AuditTable.Properties.TableName).toBe('sovereign_prod_audit');
    expect(tenantTableName('prod', 'tenants')).not.toBe(r.TenantTable.Properties.TableName);
    expect(r.SecretsKeyAlias.Properties.AliasName).toBe('alias/sovereign-prod');
  });

  it('expires processed billing event ids through the registry table\'s TTL attribute', () => {
    const r = (renderControlPlaneStack({ project: 'shop', stage: 'prod' }) as Json).Resources;
    expect(r.TenantTable.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'purgeAt', Enabled: true });
    expect(r.AuditTable.Properties.TimeToLiveSpecification).toBeUndefined();
  });

  it('keeps the bucket name within 63 characters for the longest stage and region', () => {
    expect(artifactBucketName('abcdefghijkl', '123456789012', 'ap-southeast-4').length).toBeLessThanOrEqual(63);
  });
});

describe('renderControlPlaneStack with the billing webhook', () => {
  const template = () => renderControlPlaneStack({ project: 'shop', stage: 'prod', billing: BILLING }) as Json;

  it('matches the snapshot', () => {
    expect(template()).toMatchSnapshot();
  });

  it('has no billing function without billing inputs', () => {
    const plain = renderControlPlaneStack({ project: 'shop', stage: 'prod' }) as Json;
    expect(Object.keys(plain.Resources).filter((id) => id.startsWith('Billing'))).toEqual([]);
    expect(plain.Outputs.BillingWebhookUrl).toBeUndefined();
  });

  it('runs the artifact named by its hash from the artifact bucket, nodejs24.x on arm64 with a reserved concurrency, logging to its own group', () => {
    const t = template();
    const fn = t.Resources.BillingWebhookFunction.Properties;
    expect(fn).toMatchObject({ FunctionName: 'sovereign_prod_billing_webhook', Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler', ReservedConcurrentExecutions: BILLING_RESERVED_CONCURRENCY });
    expect(t.Resources.BillingWebhookFunction.DependsOn).toBeUndefined();
    expect(renderControlPlaneStack({ project: 'shop', stage: 'prod', billing: BILLING, lambdaRuntime: 'nodejs22.x' }).Resources.BillingWebhookFunction!.Properties.Runtime).toBe('nodejs22.x');
    expect(fn.Code).toEqual({ S3Bucket: { Ref: 'ArtifactBucket' }, S3Key: `artifacts/${'c'.repeat(64)}.zip` });
    expect(fn.LoggingConfig).toEqual({ LogGroup: { Ref: 'BillingWebhookLogGroup' } });
    expect(t.Resources.BillingWebhookLogGroup.Properties).toMatchObject({ LogGroupName: '/aws/lambda/sovereign_prod_billing_webhook', RetentionInDays: 90 });
    expect(t.Metadata.Sovereign.billingWebhookArtifact).toBe('c'.repeat(64));
  });

  it('holds a reference to the signing secret and the billing config, never a secret value', () => {
    const env = template().Resources.BillingWebhookFunction.Properties.Environment.Variables;
    expect(env[BILLING_FUNCTION_ENV.secretReference]).toBe('ssm:/prod/_sovereign/billing/webhook_secret');
    expect(JSON.parse(env[BILLING_FUNCTION_ENV.config])).toEqual(BILLING.config);
    expect(Object.keys(env).sort()).toEqual(Object.values(BILLING_FUNCTION_ENV).sort());
    expect(JSON.stringify(template())).not.toMatch(/whsec_/);
  });

  it('exposes a public Function URL (the signature authenticates) with both invoke permissions, and outputs it', () => {
    const t = template();
    expect(t.Resources.BillingWebhookUrl.Properties).toEqual({ AuthType: 'NONE', InvokeMode: 'BUFFERED', TargetFunctionArn: { 'Fn::GetAtt': ['BillingWebhookFunction', 'Arn'] } });
    expect(t.Resources.BillingWebhookUrlPermission.Properties).toMatchObject({ Action: 'lambda:InvokeFunctionUrl', Principal: '*', FunctionUrlAuthType: 'NONE' });
    expect(t.Resources.BillingWebhookInvokePermission.Properties).toMatchObject({ Action: 'lambda:InvokeFunction', Principal: '*', InvokedViaFunctionUrl: true });
    expect(t.Outputs.BillingWebhookUrl).toMatchObject({ Value: { 'Fn::GetAtt': ['BillingWebhookUrl', 'FunctionUrl'] }, Export: { Name: 'sovereign-prod-control-plane-BillingWebhookUrl' } });
  });

  it('gives the function a least-privilege role: its log group, this project\'s control-plane items, tenant generation markers, its secret, re-tiering tenant stacks', () => {
    const statements = template().Resources.BillingWebhookRole.Properties.Policies[0].PolicyDocument.Statement as Json[];
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    expect(Object.keys(bySid)).toEqual([
      'WriteOwnLogs',
      'ProjectItemsOfControlPlaneTables',
      'TenantGenerationMarkers',
      'ReadSigningSecret',
      'DecryptSigningSecret',
      'RetierTenantStacks',
      'NeverTheControlPlaneStack',
      'RetierTenantFunctions',
      'PassTenantRuntimeRolesToTheirFunctions',
      'RetierTenantLogGroups',
      'DescribeLogGroups',
      'RetierTenantApiStages',
    ]);
    const actions = statements.filter((s) => s.Effect === 'Allow').flatMap((s) => s.Action as string[]);
    // nothing that creates or deletes stacks or functions, changes code, touches buckets, IAM policies or tags, or scans; no wildcards
    expect(actions.filter((a) => /^s3:|^iam:(?!PassRole$)|:(Create|Delete|Update)(Stack|Function$|FunctionCode)|Tag(Resource)?$|^lambda:(AddPermission|Invoke)|:Put(Role|Resource)Policy/.test(a) || a.includes('*') || a === 'dynamodb:Scan')).toEqual([]);
    expect(actions.filter((a) => a.startsWith('cloudformation:'))).toEqual([...RETIER_STACK_ACTIONS]);
    expect(bySid.ProjectItemsOfControlPlaneTables.Resource).toEqual([{ 'Fn::GetAtt': ['TenantTable', 'Arn'] }, { 'Fn::GetAtt': ['AuditTable', 'Arn'] }]);
    expect(bySid.ProjectItemsOfControlPlaneTables.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['shop#*'] } });
    expect(bySid.TenantGenerationMarkers.Action).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    expect(bySid.TenantGenerationMarkers.Resource).toEqual([{ 'Fn::Sub': 'arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/sovereign-prod-*' }]);
    expect(bySid.TenantGenerationMarkers.Condition).toEqual({ 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['_sovereign'] } });
    expect(bySid.ReadSigningSecret).toMatchObject({ Action: ['ssm:GetParameter'], Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/prod/_sovereign/billing/webhook_secret' }] });
    expect(bySid.DecryptSigningSecret).toMatchObject({ Resource: [{ 'Fn::GetAtt': ['SecretsKey', 'Arn'] }], Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Sub': 'ssm.${AWS::Region}.amazonaws.com' } } } });
  });

  it('re-tiers only the stage\'s tenant stacks, functions, log groups and API stages, never the control plane', () => {
    const statements = template().Resources.BillingWebhookRole.Properties.Policies[0].PolicyDocument.Statement as Json[];
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    const arn = (text: string) => [{ 'Fn::Sub': text }];
    expect(bySid.RetierTenantStacks).toEqual({
      Sid: 'RetierTenantStacks',
      Effect: 'Allow',
      Action: [
        'cloudformation:DescribeStacks',
        'cloudformation:DescribeStackEvents',
        'cloudformation:GetTemplate',
        'cloudformation:CreateChangeSet',
        'cloudformation:DescribeChangeSet',
        'cloudformation:ExecuteChangeSet',
        'cloudformation:DeleteChangeSet',
      ],
      Resource: arn('arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/sovereign-prod-*/*'),
    });
    expect(bySid.NeverTheControlPlaneStack).toMatchObject({
      Effect: 'Deny',
      Action: bySid.RetierTenantStacks.Action,
      Resource: arn('arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/sovereign-prod-control-plane/*'),
    });
    expect(bySid.RetierTenantFunctions.Action).toEqual(expect.arrayContaining(['lambda:UpdateFunctionConfiguration', 'lambda:PutFunctionConcurrency', 'lambda:GetFunction']));
    expect(bySid.RetierTenantFunctions.Resource).toEqual(arn('arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:sovereign-prod-*'));
    expect(bySid.PassTenantRuntimeRolesToTheirFunctions).toMatchObject({
      Action: ['iam:PassRole'],
      Resource: arn('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/sovereign-prod-*-runtime'),
      Condition: { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } },
    });
    expect(bySid.RetierTenantLogGroups).toMatchObject({
      Action: expect.arrayContaining(['logs:PutRetentionPolicy']),
      Resource: arn('arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/sovereign-prod-*'),
    });
    expect(bySid.DescribeLogGroups).toMatchObject({ Action: ['logs:DescribeLogGroups'], Resource: arn('arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*') });
    expect(bySid.RetierTenantApiStages).toEqual({
      Sid: 'RetierTenantApiStages',
      Effect: 'Allow',
      Action: ['apigateway:GET', 'apigateway:PATCH'],
      Resource: arn('arn:${AWS::Partition}:apigateway:${AWS::Region}::/apis/*/stages/$default'),
    });
    // The billing function's own names use `_`: no tenant pattern reaches its function, role or logs.
    for (const s of statements.filter((st) => st.Sid.startsWith('Retier') || st.Sid.startsWith('Pass'))) {
      expect(JSON.stringify(s.Resource)).not.toContain('billing_webhook');
    }
    expect(tenantStackName('prod', 'acme')).toMatch(/^sovereign-prod-/);
    expect(tenantRoleName('prod', 'acme')).toMatch(/^sovereign-prod-.*-runtime$/);
  });

  it('reads a Secrets Manager signing secret when configured so, and refuses what is not a reference', () => {
    const t = renderControlPlaneStack({ project: 'shop', stage: 'prod', billing: { ...BILLING, webhookSecret: 'secretsmanager:prod/billing/webhook' } }) as Json;
    const statements = t.Resources.BillingWebhookRole.Properties.Policies[0].PolicyDocument.Statement as Json[];
    expect(statements.find((s) => s.Sid === 'ReadSigningSecret')).toMatchObject({
      Action: ['secretsmanager:GetSecretValue'],
      Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:prod/billing/webhook-??????' }],
    });
    let message = '';
    try {
      renderControlPlaneStack({ project: 'shop', stage: 'prod', billing: { ...BILLING, webhookSecret: 'whsec_pasted_value_by_mistake' } });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/billing\.webhookSecret is not a secret reference/);
    expect(message).not.toContain('whsec_pasted_value_by_mistake');
  });

  it('names the function so that no tenant\'s function can collide with it', () => {
    expect(billingWebhookFunctionName('prod')).toBe('sovereign_prod_billing_webhook');
    expect(billingWebhookFunctionName('abcdefghijkl').length).toBeLessThanOrEqual(64);
    expect(() => tenantFunctionName('prod', 'billing_webhook')).toThrow();
  });
});
