import { describe, expect, it } from 'vitest';
import { renderTenantPolicy, type PolicyDocument } from './policy.js';
import { withPseudoParameters } from './cfn.js';

const concrete = { account: '123456789012', region: 'eu-west-1' };

/** IAM-style wildcard match: `*` any run of characters, `?` exactly one. */
function matches(pattern: string, value: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return regex.test(value);
}

function allows(policy: PolicyDocument, action: string, resource: string): boolean {
  return policy.Statement.some(
    (s) => s.Action.some((a) => matches(a, action)) && s.Resource.some((r) => matches(r, resource)),
  );
}

describe('renderTenantPolicy', () => {
  it('matches the snapshot with concrete account and region', () => {
    const policy = renderTenantPolicy({
      tenant: 'acme',
      stage: 'prod',
      ...concrete,
      extensions: [{ name: 'avalara', permissions: [{ actions: ['sqs:SendMessage'], resources: ['arn:aws:sqs:{region}:{account}:avalara-{stage}-{tenant}'] }] }],
    });
    expect(policy).toMatchSnapshot();
  });

  it('is exactly the base runtime policy when no extension asks for more', () => {
    const policy = renderTenantPolicy({ tenant: 'acme', stage: 'prod', extensions: [{ name: 'cetec' }] });
    expect(policy.Statement.map((s) => s.Sid)).toEqual([
      'RuntimeLogs',
      'RuntimeTable',
      'RuntimeExtensionItems',
      'RuntimeParameters',
      'RuntimeSecrets',
      'RuntimeParametersKey',
      'RuntimeSecretsKey',
    ]);
  });

  it('adds extension permissions with placeholders substituted, in name order', () => {
    const policy = renderTenantPolicy({
      tenant: 'acme',
      stage: 'prod',
      ...concrete,
      extensions: [
        { name: 'zeta', permissions: [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::zeta-{stage}/{tenant}/*'] }] },
        { name: 'av-lara', permissions: [{ actions: ['sqs:SendMessage'], resources: ['arn:aws:sqs:{region}:{account}:q-{tenant}'] }] },
      ],
    });
    const extra = policy.Statement.slice(7);
    expect(extra).toEqual([
      { Sid: 'ExtAvLara1', Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: ['arn:aws:sqs:eu-west-1:123456789012:q-acme'] },
      { Sid: 'ExtZeta1', Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::zeta-prod/acme/*'] },
    ]);
  });

  it('leaves pseudo parameters for Fn::Sub without account and region, escaping policy variables', () => {
    const policy = renderTenantPolicy({
      tenant: 'acme',
      stage: 'prod',
      extensions: [{ name: 'files', permissions: [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::files-{account}/${aws:PrincipalTag/team}/{tenant}/*'] }] }],
    });
    expect(policy.Statement[0]!.Resource[0]).toBe('arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/sovereign-prod-acme:*');
    const wrapped = withPseudoParameters(policy) as unknown as { Statement: Array<{ Resource: unknown[] }> };
    expect(wrapped.Statement[7]!.Resource[0]).toEqual({ 'Fn::Sub': 'arn:aws:s3:::files-${AWS::AccountId}/${!aws:PrincipalTag/team}/acme/*' });
  });

  it('refuses a resource that reaches every tenant', () => {
    expect(() =>
      renderTenantPolicy({ tenant: 'acme', stage: 'prod', extensions: [{ name: 'bad', permissions: [{ actions: ['s3:*'], resources: ['*'] }] }] }),
    ).toThrow(/not confined to tenant "acme"/);
    expect(() =>
      renderTenantPolicy({ tenant: 'acme', stage: 'prod', extensions: [{ name: 'bad', permissions: [{ actions: ['s3:*'], resources: ['arn:aws:s3:::*'] }] }] }),
    ).toThrow(/not confined/);
  });

  it('grants nothing on a tenant whose id shares a prefix', () => {
    const ids = ['acme', 'acme-eu', 'eu-acme', 'acme2', 'acm'];
    const arns = (tenant: string) => [
      ['logs:PutLogEvents', `arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/sovereign-prod-${tenant}:log-stream:x`],
      ['dynamodb:GetItem', `arn:aws:dynamodb:eu-west-1:123456789012:table/sovereign-prod-${tenant}`],
      ['ssm:GetParameter', `arn:aws:ssm:eu-west-1:123456789012:parameter/prod/tenants/${tenant}/avalara/key`],
      ['secretsmanager:GetSecretValue', `arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/tenants/${tenant}/avalara-AbCdEf`],
    ] as const;
    for (const self of ids) {
      const policy = renderTenantPolicy({ tenant: self, stage: 'prod', ...concrete, extensions: [] });
      for (const other of ids) {
        for (const [action, arn] of arns(other)) {
          expect(allows(policy, action, arn), `${self} → ${other} ${action}`).toBe(self === other);
        }
      }
    }
  });

  it('confines exact secret names to the random ARN suffix', () => {
    const policy = renderTenantPolicy({
      tenant: 'acme',
      stage: 'prod',
      ...concrete,
      extensions: [],
      scope: { ssmParameters: [], secrets: ['avalara-acme-secrets'] },
    });
    const base = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:';
    expect(allows(policy, 'secretsmanager:GetSecretValue', `${base}avalara-acme-secrets-AbCdEf`)).toBe(true);
    expect(allows(policy, 'secretsmanager:GetSecretValue', `${base}avalara-acme-secrets-eu-AbCdEf`)).toBe(false);
    expect(policy.Statement.some((s) => s.Sid === 'RuntimeParameters')).toBe(false);
  });
});
