import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import {
  assertTenantScope, checkTenantScope, resolveSecretsConfig, secretsConfigSchema, secretsPatternAmbiguity,
  templateAmbiguity, type TenantScopeOptions,
} from './scope.js';

const base: TenantScopeOptions = { tenant: 'acme', extension: 'avalara', stage: 'dev', allTenants: ['acme', 'acme-eu', 'globex'] };
const caseStudy = { secretsManagerName: '{extension}-{tenant}-secrets' };
/** The case study's layout with its placeholders delimited. */
const delimited = { secretsManagerName: '{extension}/{tenant}-secrets' };

function codeOf(reference: string, options: Partial<TenantScopeOptions> = {}): string {
  const result = checkTenantScope(reference, { ...base, ...options });
  return result.ok ? 'ok' : result.problem.code;
}

describe('checkTenantScope with the default layout', () => {
  it.each([
    'ssm:/dev/tenants/acme/avalara/account_id',
    'ssm:/dev/tenants/acme/x',
    'secretsmanager:dev/tenants/acme/avalara',
    'secretsmanager:dev/tenants/acme/avalara:license_key:AWSPREVIOUS',
  ])('accepts %s', (reference) => {
    expect(codeOf(reference)).toBe('ok');
  });

  it.each([
    ['ssm:/dev/tenants/acme-eu/avalara/account_id', 'outside-scope'],
    ['ssm:/dev/tenants/globex/avalara/account_id', 'outside-scope'],
    ['ssm:/prod/tenants/acme/avalara/account_id', 'outside-scope'],
    ['ssm:/dev/tenants/acme', 'outside-scope'],
    ['ssm:/dev/tenants/acmex/key', 'outside-scope'],
    ['ssm:/dev/tenants/ACME/key', 'outside-scope'],
    ['ssm:/Dev/tenants/acme/key', 'outside-scope'],
    ['ssm:/dev/Tenants/acme/key', 'outside-scope'],
    ['ssm:/dev/tenants/acme-eu', 'outside-scope'],
    ['secretsmanager:dev/tenants/acme-eu/avalara', 'outside-scope'],
    ['secretsmanager:dev/tenants/acme', 'outside-scope'],
    ['secretsmanager:dev/tenants/acmeeu/x', 'outside-scope'],
    ['secretsmanager:avalara-acme-secrets', 'outside-scope'],
    ['ssm:/dev/tenants/acme/../globex/key', 'syntax'],
    ['ssm:/dev/tenants/acme//key', 'syntax'],
    ['ssm:/dev/tenants//acme/key', 'syntax'],
    ['ssm:/dev/tenants/acme/key/', 'syntax'],
    ['ssm:/dev/tenants/acme/%2e%2e/globex/key', 'syntax'],
    ['ssm:/dev/tenants/acme%2Fkey', 'syntax'],
    ['ssm:/dev/tenants/\u0430cme/key', 'syntax'],
    ['ssm:/dev/tenants/acm\u0435/key', 'syntax'],
    ['ssm:/dev/tenants/ａcme/key', 'syntax'],
    ['ssm:/dev/tenants/acme/*', 'syntax'],
    ['ssm:/dev/tenants/*/key', 'syntax'],
    ['secretsmanager:dev/tenants/acme/?', 'syntax'],
    ['ssm:arn:aws:ssm:eu-west-1:999999999999:parameter/dev/tenants/acme/key', 'syntax'],
    ['secretsmanager:arn:aws:secretsmanager:eu-west-1:999999999999:secret:dev/tenants/acme/x-AbCdEf', 'syntax'],
    ['ssm:dev/tenants/acme/key', 'syntax'],
    ['secretsmanager:/dev/tenants/acme/key', 'syntax'],
    ['ssm:/dev/tenants/acme/./key', 'syntax'],
    ['ssm: /dev/tenants/acme/key', 'syntax'],
    ['ssm:/dev/tenants/acme/key\u0000', 'syntax'],
    ['ssm:/dev/tenants/acme/_sovereign/webhook_secret', 'reserved'],
    ['secretsmanager:dev/tenants/acme/_sovereign', 'reserved'],
  ])('refuses %s (%s)', (reference, code) => {
    expect(codeOf(reference)).toBe(code);
  });

  it('explains the scope and suggests a reference', () => {
    const result = checkTenantScope('ssm:/dev/tenants/acme-eu/avalara/account_id', base);
    expect(result).toMatchObject({
      ok: false,
      problem: {
        message: 'the reference is outside tenant "acme"\'s scope: avalara secrets of acme are SSM parameter names starting with "/dev/tenants/acme/"',
        hint: 'use a reference such as ssm:/dev/tenants/acme/avalara/key',
      },
    });
    expect(() => assertTenantScope('ssm:/dev/tenants/globex/x', base)).toThrow(UserError);
    try {
      assertTenantScope('ssm:/dev/tenants/globex/x', base);
    } catch (error) {
      expect((error as UserError).exitCode).toBe(2);
    }
  });

  it('re-validates a hand-built reference object', () => {
    expect(checkTenantScope({ service: 'ssm', name: '/dev/tenants/acme/../globex/x' }, base)).toMatchObject({ ok: false, problem: { code: 'syntax' } });
  });
});

describe('checkTenantScope with the case-study layout, delimited: {extension}/{tenant}-secrets', () => {
  it('accepts exactly the extension\'s secret of the tenant', () => {
    expect(codeOf('secretsmanager:avalara/acme-secrets:license_key', { config: delimited })).toBe('ok');
    expect(codeOf('secretsmanager:avalara/acme-secrets', { config: delimited })).toBe('ok');
    expect(codeOf('secretsmanager:cetec/acme-secrets:token', { config: delimited })).toBe('outside-scope');
    expect(codeOf('secretsmanager:avalara/acme-eu-secrets', { config: delimited })).toBe('outside-scope');
    expect(codeOf('secretsmanager:avalara/acme-secrets-old', { config: delimited })).toBe('outside-scope');
    expect(codeOf('ssm:/dev/tenants/acme/key', { config: delimited })).toBe('ok');
  });

  it('the undelimited case-study pattern is refused for every reference, whatever the tenants', () => {
    for (const allTenants of [['acme'], ['acme', 'globex'], ['cde', 'b-cde']]) {
      const result = checkTenantScope('secretsmanager:avalara-acme-secrets', { ...base, config: caseStudy, allTenants });
      expect(result).toMatchObject({ ok: false, problem: { code: 'ambiguous-pattern' } });
    }
  });
});

describe('secretsPatternAmbiguity', () => {
  it('finds nothing for the default layout', () => {
    expect(secretsPatternAmbiguity(undefined)).toBeUndefined();
    expect(secretsPatternAmbiguity(delimited)).toBeUndefined();
  });

  it('names the key, the pattern and a safe form', () => {
    expect(secretsPatternAmbiguity(caseStudy)).toMatchObject({
      key: 'secretsManagerName',
      template: '{extension}-{tenant}-secrets',
      hint: 'end each placeholder with a character its value cannot contain, e.g. "secretsManagerName": "{extension}/{tenant}-secrets"',
    });
    expect(secretsPatternAmbiguity({ ssmPrefix: '/{stage}/{tenant}-{extension}/' })?.message).toContain('"/{stage}/{tenant}-{extension}/" (secrets.ssmPrefix');
  });

  it('property: with the default layout no reference is accepted for two tenants', () => {
    const id = fc.stringMatching(/^[a-z][a-z0-9]{0,4}(-[a-z0-9]{1,3}){0,2}$/).filter((s) => s.length >= 3);
    fc.assert(fc.property(fc.uniqueArray(id, { minLength: 2, maxLength: 6 }), fc.constantFrom('x', 'a/b', 'key-1'), (tenants, tail) => {
      for (const tenant of tenants) {
        for (const reference of [`ssm:/dev/tenants/${tenant}/${tail}`, `secretsmanager:dev/tenants/${tenant}/${tail}`]) {
          const owners = tenants.filter((candidate) =>
            checkTenantScope(reference, { tenant: candidate, extension: 'avalara', stage: 'dev', allTenants: tenants }).ok);
          expect(owners).toEqual([tenant]);
        }
      }
    }), { numRuns: 300 });
  });
});

describe('secretsConfigSchema', () => {
  it('defaults to the SPEC.md layout', () => {
    expect(resolveSecretsConfig(undefined)).toEqual({ ssmPrefix: '/{stage}/tenants/{tenant}/', secretsManagerName: '{stage}/tenants/{tenant}/' });
    expect(resolveSecretsConfig(caseStudy).secretsManagerName).toBe('{extension}-{tenant}-secrets');
  });

  it.each([
    [{ ssmPrefix: '/{stage}/shared/' }, /must contain \{tenant\}/],
    [{ ssmPrefix: '/{stage}/tenants/{tenant}' }, /must end with "\/"/],
    [{ ssmPrefix: '{stage}/tenants/{tenant}/' }, /must start with "\/"/],
    [{ ssmPrefix: '/{stage}/{customer}/' }, /unknown placeholder "\{customer\}"/],
    [{ secretsManagerName: '{tenant}-*' }, /not valid/],
    [{ secretsManagerName: '{tenant}/../x' }, /not valid/],
    [{ other: 1 }, /other/],
  ])('refuses %j', (config, message) => {
    const parsed = secretsConfigSchema.safeParse(config);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.message).join('\n')).toMatch(message);
    expect(() => resolveSecretsConfig(config)).toThrow(UserError);
  });

  it('warns about templates that could become ambiguous for future ids', () => {
    expect(templateAmbiguity('{extension}-{tenant}-secrets')).toMatch(/\{extension\} is followed by "-"/);
    expect(templateAmbiguity('{extension}{tenant}')).toMatch(/followed by \{tenant\}/);
    expect(templateAmbiguity('/{stage}/tenants/{tenant}/')).toBeUndefined();
    expect(templateAmbiguity('{extension}/{tenant}-secrets')).toBeUndefined();
    expect(templateAmbiguity('secrets-{tenant}')).toBeUndefined();
    expect(templateAmbiguity('{tenant}-{stage}-x')).toMatch(/\{tenant\} is followed by "-"/);
    expect(templateAmbiguity('/{stage}/{tenant}-{extension}/')).toMatch(/\{tenant\} is followed by "-"/);
  });
});
