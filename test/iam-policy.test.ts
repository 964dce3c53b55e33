/**
 * The tenant runtime's IAM policy as IAM sees it: every statement, resource and condition for a
 * concrete account, the partitions, the secret scope's ARNs, extension statements, and each
 * refusal (a Deny, an unconfined resource, a document over IAM's size limit).
 */
import { describe, expect, it } from 'vitest';
import { UserError } from '../src/errors.js';
import { MAX_INLINE_POLICY_LENGTH, partitionOf, renderTenantPolicy, substitutePlaceholders, type PolicyExtension, type TenantPolicyInputs } from '../src/templates/policy.js';
import { tenantSecretScope } from '../src/templates/secret-scope.js';
import { thrownBy } from './helpers/errors.js';

const concrete: TenantPolicyInputs = { tenant: 'acme', stage: 'prod', extensions: [], account: '123456789012', region: 'eu-west-1' };

function refusal(inputs: TenantPolicyInputs): UserError {
  const error = thrownBy(() => renderTenantPolicy(inputs), UserError);
  expect(error.exitCode).toBe(2);
  return error;
}

describe('the tenant runtime policy', () => {
  it('grants exactly its own log group, table, secret scope and stage key in a concrete account', () => {
    expect(renderTenantPolicy(concrete)).toStrictEqual({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'RuntimeLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: ['arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/sovereign-prod-acme:*'] },
        {
          Sid: 'RuntimeTable',
          Effect: 'Allow',
          Action: ['dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:Query'],
          Resource: ['arn:aws:dynamodb:eu-west-1:123456789012:table/sovereign-prod-acme', 'arn:aws:dynamodb:eu-west-1:123456789012:table/sovereign-prod-acme/index/*'],
        },
        { Sid: 'RuntimeParameters', Effect: 'Allow', Action: ['ssm:GetParameter', 'ssm:GetParameters'], Resource: ['arn:aws:ssm:eu-west-1:123456789012:parameter/prod/tenants/acme/*'] },
        { Sid: 'RuntimeSecrets', Effect: 'Allow', Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], Resource: ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/tenants/acme/*'] },
        {
          Sid: 'RuntimeParametersKey',
          Effect: 'Allow',
          Action: ['kms:Decrypt'],
          Resource: ['arn:aws:kms:eu-west-1:123456789012:key/*'],
          Condition: {
            'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/sovereign-prod' },
            StringEquals: { 'kms:ViaService': 'ssm.eu-west-1.amazonaws.com' },
            StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': ['arn:aws:ssm:eu-west-1:123456789012:parameter/prod/tenants/acme/*'] },
          },
        },
        {
          Sid: 'RuntimeSecretsKey',
          Effect: 'Allow',
          Action: ['kms:Decrypt'],
          Resource: ['arn:aws:kms:eu-west-1:123456789012:key/*'],
          Condition: {
            'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/sovereign-prod' },
            StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' },
            StringLike: { 'kms:EncryptionContext:SecretARN': ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/tenants/acme/*'] },
          },
        },
      ],
    });
  });

  it('leaves account, region and partition to the template when not given', () => {
    const policy = renderTenantPolicy({ tenant: 'acme', stage: 'prod', extensions: [] });
    expect(policy.Statement[0]!.Resource).toEqual(['arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/sovereign-prod-acme:*']);
    expect(policy.Statement.map((s) => s.Condition?.StringEquals?.['kms:ViaService']).filter(Boolean)).toEqual(['ssm.${AWS::Region}.amazonaws.com', 'secretsmanager.${AWS::Region}.amazonaws.com']);
    for (const statement of policy.Statement) for (const resource of statement.Resource) expect(resource).toMatch(/^arn:\$\{AWS::Partition\}:/);
  });

  it('uses the partition of the region, or the one given', () => {
    expect(partitionOf('cn-north-1')).toBe('aws-cn');
    expect(partitionOf('us-gov-west-1')).toBe('aws-us-gov');
    expect(partitionOf('us-east-1')).toBe('aws');
    expect(renderTenantPolicy({ ...concrete, region: 'cn-north-1' }).Statement[0]!.Resource[0]).toMatch(/^arn:aws-cn:logs:cn-north-1:/);
    expect(renderTenantPolicy({ ...concrete, partition: 'aws-iso' }).Statement[0]!.Resource[0]).toMatch(/^arn:aws-iso:logs:eu-west-1:/);
  });

  it('gives exact secret names only the six-character ARN suffix, and drops only one leading slash of a parameter', () => {
    const policy = renderTenantPolicy({ ...concrete, scope: { ssmParameters: ['/prod/tenants/acme/x', 'plain/x'], secrets: ['avalara-acme-secrets', 'prod/tenants/acme/*'] } });
    const byId = Object.fromEntries(policy.Statement.map((s) => [s.Sid, s.Resource]));
    expect(byId.RuntimeParameters).toEqual(['arn:aws:ssm:eu-west-1:123456789012:parameter/prod/tenants/acme/x', 'arn:aws:ssm:eu-west-1:123456789012:parameter/plain/x']);
    expect(byId.RuntimeSecrets).toEqual(['arn:aws:secretsmanager:eu-west-1:123456789012:secret:avalara-acme-secrets-??????', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/tenants/acme/*']);
  });

  it('has no parameter or secret statement for an empty scope', () => {
    const sids = (scope: TenantPolicyInputs['scope']) => renderTenantPolicy({ ...concrete, scope }).Statement.map((s) => s.Sid);
    expect(sids({ ssmParameters: [], secrets: ['x/*'] })).toEqual(['RuntimeLogs', 'RuntimeTable', 'RuntimeSecrets', 'RuntimeSecretsKey']);
    expect(sids({ ssmParameters: ['/x/*'], secrets: [] })).toEqual(['RuntimeLogs', 'RuntimeTable', 'RuntimeParameters', 'RuntimeParametersKey']);
  });
});

describe('extension statements', () => {
  const ext = (name: string, ...resources: string[][]): PolicyExtension => ({ name, permissions: resources.map((r) => ({ actions: ['s3:GetObject'], resources: r })) });

  it('come after the runtime statements in extension name order, numbered per extension, with placeholders filled', () => {
    const policy = renderTenantPolicy({ ...concrete, extensions: [ext('tax-engine', ['arn:aws:s3:::{stage}-{tenant}/*'], ['arn:aws:s3:::{region}-{account}-{tenant}']), ext('avalara', ['arn:aws:s3:::a-{tenant}'])] });
    expect(policy.Statement.find((st) => st.Sid === 'RuntimeExtensionItems')).toStrictEqual({
      Sid: 'RuntimeExtensionItems',
      Effect: 'Allow',
      Action: ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      Resource: ['arn:aws:dynamodb:eu-west-1:123456789012:table/sovereign-prod-acme'],
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['avalara#*', 'tax-engine#*', '_usage'] }, Null: { 'dynamodb:LeadingKeys': 'false' } },
    });
    expect(policy.Statement.slice(7)).toStrictEqual([
      { Sid: 'ExtAvalara1', Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::a-acme'] },
      { Sid: 'ExtTaxEngine1', Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::prod-acme/*'] },
      { Sid: 'ExtTaxEngine2', Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::eu-west-1-123456789012-acme'] },
    ]);
    expect(renderTenantPolicy({ ...concrete, extensions: [{ name: 'none' }] }).Statement).toHaveLength(7);
    const order = (names: string[]) => renderTenantPolicy({ ...concrete, extensions: names.map((n) => ext(n, ['arn:aws:s3:::{tenant}'])) }).Statement.slice(7).map((st) => st.Sid);
    expect(order(['zeta', 'beta', 'alpha', 'gamma'])).toEqual(['ExtAlpha1', 'ExtBeta1', 'ExtGamma1', 'ExtZeta1']);
    expect(order(['alpha', 'beta', 'gamma', 'zeta'])).toEqual(['ExtAlpha1', 'ExtBeta1', 'ExtGamma1', 'ExtZeta1']);
  });

  it('refuse an effect other than Allow, and accept an explicit Allow', () => {
    const deny = refusal({ ...concrete, extensions: [{ name: 'avalara', permissions: [{ effect: 'Deny' as 'Allow', actions: ['s3:*'], resources: ['arn:aws:s3:::a-{tenant}'] }] }] });
    expect(deny.message).toBe('extension "avalara" declares a permission with effect "Deny"; only Allow is accepted');
    expect(renderTenantPolicy({ ...concrete, extensions: [{ name: 'avalara', permissions: [{ effect: 'Allow', actions: ['s3:GetObject'], resources: ['arn:aws:s3:::a-{tenant}'] }] }] }).Statement).toHaveLength(8);
  });

  it('refuse a resource that reaches every tenant', () => {
    for (const resource of ['*', 'arn:aws:s3:::*', 'arn:aws:dynamodb:{region}:{account}:*']) {
      const error = refusal({ ...concrete, extensions: [ext('avalara', ['arn:aws:s3:::ok-{tenant}', resource])] });
      expect(error.message).toBe(`extension "avalara" asks for "${substitutePlaceholders(resource, { tenant: 'acme', stage: 'prod', region: 'eu-west-1', account: '123456789012' })}", which is not confined to tenant "acme"`);
      expect(error.hint).toBe('scope resources with the {tenant} and {stage} placeholders');
    }
    expect(renderTenantPolicy({ ...concrete, extensions: [ext('avalara', ['arn:aws:s3:::bucket/*', 'arn:aws:s3:::*-{tenant}', 'arn:aws:s3:::b-{tenant}/learn:a:b:c:d:*'])] }).Statement).toHaveLength(8);
  });
});

describe('the policy size limit', () => {
  const withResource = (length: number) => ({ ...concrete, extensions: [{ name: 'big', permissions: [{ actions: ['s3:GetObject'], resources: [`arn:aws:s3:::${'a'.repeat(length)}`] }] }] });

  it(`accepts a document of exactly ${MAX_INLINE_POLICY_LENGTH} characters and refuses one more`, () => {
    const base = JSON.stringify(renderTenantPolicy(withResource(0))).length;
    const fits = MAX_INLINE_POLICY_LENGTH - base;
    expect(JSON.stringify(renderTenantPolicy(withResource(fits))).length).toBe(MAX_INLINE_POLICY_LENGTH);
    const error = refusal(withResource(fits + 1));
    expect(error.message).toBe(`the runtime policy of tenant "acme" is ${MAX_INLINE_POLICY_LENGTH + 1} characters; IAM allows ${MAX_INLINE_POLICY_LENGTH}`);
    expect(error.hint).toBe('enable fewer extensions for this tenant or narrow their permissions');
  });
});

describe('substitutePlaceholders', () => {
  it('fills the four known placeholders and leaves anything else', () => {
    expect(substitutePlaceholders('{tenant}/{stage}/{region}/{account}/{extension}/{tenant}', { tenant: 't', stage: 's', region: 'r', account: 'a' })).toBe('t/s/r/a/{extension}/t');
  });
});

describe('the tenant secret scope as IAM name patterns', () => {
  it('is the configured prefixes with a wildcard by default', () => {
    expect(tenantSecretScope({ stage: 'prod', tenant: 'acme', extensions: ['avalara'] })).toEqual({ ssmParameters: ['/prod/tenants/acme/*'], secrets: ['prod/tenants/acme/*'] });
  });

  it('is one exact name per extension for a per-extension secret, sorted; the tool\'s own with none enabled', () => {
    const secretsConfig = { secretsManagerName: '{extension}-{tenant}-secrets', ssmPrefix: '/{stage}/{extension}/{tenant}/' };
    expect(tenantSecretScope({ stage: 'prod', tenant: 'acme', extensions: ['cetec', 'avalara'], secretsConfig })).toEqual({
      ssmParameters: ['/prod/avalara/acme/*', '/prod/cetec/acme/*'],
      secrets: ['avalara-acme-secrets', 'cetec-acme-secrets'],
    });
    expect(tenantSecretScope({ stage: 'prod', tenant: 'acme', extensions: [], secretsConfig })).toEqual({ ssmParameters: ['/prod/_sovereign/acme/*'], secrets: ['_sovereign-acme-secrets'] });
  });

  it('adds an SSM reference outside the patterns, not one inside them nor a Secrets Manager one', () => {
    expect(tenantSecretScope({ stage: 'prod', tenant: 'acme', extensions: ['avalara'], references: ['ssm:/prod/webhooks/acme', 'ssm:/prod/tenants/acme/_sovereign/webhook_secret', 'secretsmanager:other/x'] })).toEqual({
      ssmParameters: ['/prod/tenants/acme/*', '/prod/webhooks/acme'],
      secrets: ['prod/tenants/acme/*'],
    });
  });
});
