import { describe, expect, it } from 'vitest';
import { actionMatches, evaluatePolicies, resourceMatches } from './policy-eval.js';

describe('offline policy evaluation', () => {
  it('matches actions case-insensitively with wildcards', () => {
    expect(actionMatches('dynamodb:Get*', 'dynamodb:GetItem')).toBe(true);
    expect(actionMatches('DynamoDB:getitem', 'dynamodb:GetItem')).toBe(true);
    expect(actionMatches('dynamodb:Get?tem', 'dynamodb:GetItem')).toBe(true);
    expect(actionMatches('dynamodb:Get*', 'dynamodb:PutItem')).toBe(false);
  });

  it('matches ARNs case-sensitively; * crosses / and :, ? is one character', () => {
    expect(resourceMatches('arn:aws:ssm:*:*:parameter/dev/tenants/acme/*', 'arn:aws:ssm:eu-west-1:1:parameter/dev/tenants/acme/a/b')).toBe(true);
    expect(resourceMatches('arn:aws:ssm:*:*:parameter/dev/tenants/acme/*', 'arn:aws:ssm:eu-west-1:1:parameter/dev/tenants/acme-eu/a')).toBe(false);
    expect(resourceMatches('arn:aws:ssm:*:*:parameter/dev/tenants/ACME/*', 'arn:aws:ssm:eu-west-1:1:parameter/dev/tenants/acme/a')).toBe(false);
    expect(resourceMatches('arn:aws:secretsmanager:r:a:secret:x-??????', 'arn:aws:secretsmanager:r:a:secret:x-AbC123')).toBe(true);
    expect(resourceMatches('arn:aws:secretsmanager:r:a:secret:x-??????', 'arn:aws:secretsmanager:r:a:secret:x-AbC1234')).toBe(false);
    expect(resourceMatches('a.b+c', 'aXb+c')).toBe(false);
  });

  it('explicit deny wins; no statement is an implicit deny', () => {
    const policy = {
      Statement: [
        { Effect: 'Allow', Action: 's3:*', Resource: '*' },
        { Effect: 'Deny', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::b/*' },
      ],
    };
    expect(evaluatePolicies([policy], 's3:GetObject', 'arn:aws:s3:::b/k')).toBe('allowed');
    expect(evaluatePolicies([policy], 's3:DeleteObject', 'arn:aws:s3:::b/k')).toBe('explicitDeny');
    expect(evaluatePolicies([policy], 'ssm:GetParameter', 'arn:aws:ssm:r:a:parameter/x')).toBe('implicitDeny');
  });

  it('NotAction and NotResource invert the match', () => {
    const policy = { Statement: [{ Effect: 'Allow', NotAction: 'iam:*', NotResource: 'arn:aws:s3:::private/*' }] };
    expect(evaluatePolicies([policy], 's3:GetObject', 'arn:aws:s3:::public/k')).toBe('allowed');
    expect(evaluatePolicies([policy], 's3:GetObject', 'arn:aws:s3:::private/k')).toBe('implicitDeny');
    expect(evaluatePolicies([policy], 'iam:PassRole', 'arn:aws:s3:::public/k')).toBe('implicitDeny');
  });

  it('conditions: StringEquals needs the key; ForAnyValue over lists; IfExists passes when absent; unknown operators count as met', () => {
    const kms = {
      Statement: [
        {
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: '*',
          Condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/sovereign-dev' }, StringEquals: { 'kms:ViaService': ['ssm.eu-west-1.amazonaws.com'] } },
        },
      ],
    };
    expect(evaluatePolicies([kms], 'kms:Decrypt', 'k', { 'kms:ResourceAliases': ['alias/sovereign-dev'] })).toBe('implicitDeny');
    expect(evaluatePolicies([kms], 'kms:Decrypt', 'k', { 'kms:ResourceAliases': ['alias/other', 'alias/sovereign-dev'], 'kms:ViaService': 'ssm.eu-west-1.amazonaws.com' })).toBe('allowed');
    expect(evaluatePolicies([kms], 'kms:Decrypt', 'k', { 'kms:ResourceAliases': ['alias/other'], 'kms:ViaService': 'ssm.eu-west-1.amazonaws.com' })).toBe('implicitDeny');
    const ifExists = { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { StringEqualsIfExists: { 'aws:SourceVpc': 'vpc-1' } } }] };
    expect(evaluatePolicies([ifExists], 's3:GetObject', 'x')).toBe('allowed');
    const unknown = { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }] };
    expect(evaluatePolicies([unknown], 's3:GetObject', 'x', { 'aws:SourceIp': '192.168.1.1' })).toBe('allowed');
  });
});
