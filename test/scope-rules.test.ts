/**
 * The tenant scope of secret references, as a user meets it: the exact refusal of a bad
 * `"secrets"` configuration, the explanation and example reference of an out-of-scope reference
 * for each kind of rule, the reserved segment, and the limits of the ambiguity report.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { UserError } from '../src/errors.js';
import {
  assertTenantScope,
  checkTenantScope,
  patternAmbiguity,
  resolveSecretsConfig,
  scopeRule,
  secretsConfigSchema,
  templateAmbiguityWarning,
  type ScopeRule,
  type TenantScopeOptions,
} from '../src/secrets/scope.js';
import { thrownBy } from './helpers/errors.js';

const HINT = 'e.g. "secrets": { "ssmPrefix": "/{stage}/tenants/{tenant}/", "secretsManagerName": "{extension}-{tenant}-secrets" }';
const acme: TenantScopeOptions = { tenant: 'acme', extension: 'avalara', stage: 'dev', allTenants: ['acme', 'globex'] };

const configError = (raw: unknown): UserError => thrownBy(() => resolveSecretsConfig(raw), UserError);

describe('the "secrets" configuration', () => {
  it.each([
    [{ ssmPrefix: '/{stage}/tenants/' }, 'ssmPrefix', 'must contain {tenant}: without it every tenant would share one scope'],
    [{ ssmPrefix: '/{stage}/tenants/{tenant}' }, 'ssmPrefix', 'a prefix must end with "/"'],
    [{ ssmPrefix: '{stage}/tenants/{tenant}/' }, 'ssmPrefix', 'an SSM prefix must start with "/"'],
    [{ ssmPrefix: '/{stage}/{team}/{tenant}/' }, 'ssmPrefix', 'unknown placeholder "{team}"; use {stage}, {tenant} or {extension}'],
    [{ ssmPrefix: '/{stage}/{tenant}/}/' }, 'ssmPrefix', 'unbalanced "{" or "}"'],
    [{ ssmPrefix: '/{stage}/{tenant}/{x/' }, 'ssmPrefix', 'unbalanced "{" or "}"'],
    [{ ssmPrefix: '/{stage}/{tenant}/x{' }, 'ssmPrefix', 'unbalanced "{" or "}"'],
    [{ ssmPrefix: '/{stage}/tenant lists/{tenant}/' }, 'ssmPrefix', 'renders names that are not valid (a space (U+0020) is not allowed in an SSM parameter name)'],
    [{ secretsManagerName: '{tenant}/x-abcdef' }, 'secretsManagerName', 'renders names that are not valid (the secret name ends with "-" and six letters or digits)'],
    [{ secretsManagerName: '{tenant}/' + 'x'.repeat(600) }, 'secretsManagerName', 'renders names that are not valid (the secret name is 605 characters; at most 512 are allowed)'],
  ])('refuses %j naming the key and the reason', (raw, key, reason) => {
    const error = configError(raw);
    expect(error.message).toBe(`sovereign.config.json: secrets.${key}: ${reason}`);
    expect(error.hint).toBe(HINT);
    expect(error.exitCode).toBe(2);
  });

  it('refuses an unknown key and a value that is not an object', () => {
    expect(configError({ ssmPrefix: '/{stage}/{tenant}/', extra: 1 }).message).toMatch(/^sovereign\.config\.json: secrets\.: .*extra/);
    expect(configError('text').message).toMatch(/^sovereign\.config\.json: secrets\.: \S/);
  });

  it.each([
    { secretsManagerName: '{stage}/tenants/{tenant}/' },
    { secretsManagerName: '{extension}/{tenant}/' },
    { secretsManagerName: '{extension}-{tenant}-secrets' },
    { ssmPrefix: '/{stage}/tenants/{tenant}/' },
  ])('accepts %j as given', (raw) => {
    expect(resolveSecretsConfig(raw)).toMatchObject(raw);
  });

  it('describes both keys in the JSON schema editors read', () => {
    const schema = z.toJSONSchema(secretsConfigSchema, { io: 'input' }) as { properties: Record<string, { description?: string }> };
    expect(schema.properties.ssmPrefix?.description).toBe('SSM parameter names of a tenant lie below this prefix; placeholders {stage}, {tenant}, {extension}');
    expect(schema.properties.secretsManagerName?.description).toBe('Secrets Manager names of a tenant: a prefix ending in "/", or one exact name per extension such as "{extension}-{tenant}-secrets"');
  });
});

describe('a reference outside the tenant scope', () => {
  it.each([
    [undefined, 'ssm:/dev/tenants/globex/x', 'avalara secrets of acme are SSM parameter names starting with "/dev/tenants/acme/"', 'ssm:/dev/tenants/acme/avalara/key'],
    [undefined, 'secretsmanager:dev/tenants/globex/x', 'avalara secrets of acme are Secrets Manager names starting with "dev/tenants/acme/"', 'secretsmanager:dev/tenants/acme/avalara:key'],
    [{ secretsManagerName: '{extension}-{tenant}-secrets' }, 'secretsmanager:cetec-acme-secrets', 'avalara secrets of acme are the Secrets Manager name "avalara-acme-secrets"', 'secretsmanager:avalara-acme-secrets:key'],
  ])('with %j: %s is explained with an example', (config, reference, scope, example) => {
    expect(checkTenantScope(reference, { ...acme, config })).toStrictEqual({
      ok: false,
      problem: { code: 'outside-scope', message: `${reference} is outside tenant "acme"'s scope: ${scope}`, hint: `use a reference such as ${example}` },
    });
  });

  it('assertTenantScope gives back the reference when it is in scope, and throws exit 2 when not', () => {
    expect(assertTenantScope('ssm:/dev/tenants/acme/avalara/key', acme)).toStrictEqual({ service: 'ssm', name: '/dev/tenants/acme/avalara/key' });
    expect(() => assertTenantScope('ssm:/dev/tenants/globex/x', acme)).toThrow(expect.objectContaining({ exitCode: 2, hint: 'use a reference such as ssm:/dev/tenants/acme/avalara/key' }));
  });

  it('accepts a parsed reference object that is in scope', () => {
    expect(checkTenantScope({ service: 'secretsmanager', name: 'dev/tenants/acme/avalara', jsonKey: 'k' }, acme)).toMatchObject({ ok: true, reference: { name: 'dev/tenants/acme/avalara', jsonKey: 'k' }, rule: { match: 'prefix', value: 'dev/tenants/acme/' } });
  });

  it('a syntax problem keeps the parser\'s message, position and hint (and has no hint when the parser has none)', () => {
    expect(checkTenantScope('ssm:/dev/tenants/acme/a b', acme)).toStrictEqual({
      ok: false,
      problem: {
        code: 'syntax',
        message: 'invalid secret reference: a space (U+0020) at position 24 is not allowed in an SSM parameter name',
        hint: 'allowed: a-z A-Z 0-9 _ . - and / between path segments',
        syntax: { code: 'bad-character', message: 'a space (U+0020) at position 24 is not allowed in an SSM parameter name', position: 24, hint: 'allowed: a-z A-Z 0-9 _ . - and / between path segments' },
      },
    });
    expect(checkTenantScope('secretsmanager::key', acme)).toStrictEqual({
      ok: false,
      problem: { code: 'syntax', message: 'invalid secret reference: the secret name is empty (position 16)', syntax: { code: 'empty', message: 'the secret name is empty (position 16)', position: 16 } },
    });
  });

  it('the reserved segment is refused below either prefix with its explanation, a longer name is not', () => {
    for (const [reference, prefix] of [
      ['ssm:/dev/tenants/acme/_sovereign', '/dev/tenants/acme/'],
      ['ssm:/dev/tenants/acme/_sovereign/webhook_secret', '/dev/tenants/acme/'],
      ['secretsmanager:dev/tenants/acme/_sovereign/x', 'dev/tenants/acme/'],
    ] as const) {
      expect(checkTenantScope(reference, acme)).toStrictEqual({
        ok: false,
        problem: { code: 'reserved', message: `${reference} is in "${prefix}_sovereign/", which holds sovereign's own secrets for the tenant`, hint: `use another name below "${prefix}"` },
      });
    }
    expect(checkTenantScope('ssm:/dev/tenants/acme/_sovereignx', acme).ok).toBe(true);
    expect(checkTenantScope('ssm:/dev/tenants/acme/x/_sovereign', acme).ok).toBe(true);
  });

  it('names the other tenant whose scope a reference also lies in, with the fix', () => {
    const options = { config: { secretsManagerName: '{extension}-{tenant}-secrets' }, tenant: 'cde', extension: 'a-b', stage: 'dev', allTenants: ['cde', 'b-cde'], allExtensions: ['a'] };
    expect(checkTenantScope('secretsmanager:a-b-cde-secrets', options)).toStrictEqual({
      ok: false,
      problem: {
        code: 'other-tenant',
        message: 'secretsmanager:a-b-cde-secrets also lies in tenant "b-cde"\'s scope (the Secrets Manager name "a-b-cde-secrets")',
        hint: 'the configured secrets pattern is ambiguous for these tenants; change "secrets" in sovereign.config.json so tenant ids are delimited by "/"',
      },
    });
  });

  it.each([
    // The Secrets Manager name is ambiguous between two other tenants.
    [{ secretsManagerName: '{extension}-{tenant}-secrets' }, 'a', ['cde', 'b-cde'], ['a', 'a-b'], 'secretsmanager:a-zed-secrets',
      'the secrets pattern "{extension}-{tenant}-secrets" gives tenant "cde" (extension "a-b") and tenant "b-cde" (extension "a") the same name "a-b-cde-secrets"'],
    // The SSM prefix is, while the Secrets Manager name (the default) is delimited.
    [{ ssmPrefix: '/{stage}/{tenant}-{extension}/' }, 'billing', ['acme', 'acme-eu'], ['billing', 'eu-billing'], 'ssm:/dev/zed-billing/key',
      'the secrets pattern "/{stage}/{tenant}-{extension}/" gives tenant "acme" (extension "eu-billing") and tenant "acme-eu" (extension "billing") the same name "/dev/acme-eu-billing/key"'],
  ])('with %j refuses a reference of its own while the pattern is ambiguous between two other tenants', (config, extension, others, allExtensions, reference, message) => {
    const options = { config, tenant: 'zed', extension, stage: 'dev', allTenants: ['zed', ...others], allExtensions };
    expect(checkTenantScope(reference, options)).toStrictEqual({
      ok: false,
      problem: {
        code: 'ambiguous-pattern',
        message,
        hint: 'end each placeholder with a character ids cannot contain, e.g. "/{stage}/tenants/{tenant}/" or "{extension}/{tenant}/secrets"',
      },
    });
  });
});

describe('pattern ambiguity reports', () => {
  /** Seven pairs of tenants (cN, b-cN) that share names through the extensions a and a-b. */
  const sharing = Array.from({ length: 7 }, (_, i) => [`c${i}`, `b-c${i}`]).flat();

  it('at most five collisions of exact names', () => {
    const ambiguity = patternAmbiguity({ secretsManagerName: '{extension}-{tenant}-secrets' }, sharing, ['a', 'a-b']);
    expect(ambiguity?.collisions.map((c) => c.example)).toEqual(['a-b-c0-secrets', 'a-b-c1-secrets', 'a-b-c2-secrets', 'a-b-c3-secrets', 'a-b-c4-secrets']);
  });

  it('at most five collisions of prefixes, found whatever order the tenants come in', () => {
    const ambiguity = patternAmbiguity({ secretsManagerName: '{extension}-{tenant}/' }, [...sharing].reverse(), ['a-b', 'a']);
    expect(ambiguity?.collisions).toHaveLength(5);
    expect(ambiguity?.collisions.every((c) => c.first.tenant !== c.second.tenant && c.first.rule.value === c.second.rule.value)).toBe(true);
    const interleaved = patternAmbiguity({ secretsManagerName: '{extension}-{tenant}/' }, ['c', 'zzz', 'b-c'], ['a-b', 'a']);
    expect(interleaved?.collisions.map((c) => [c.first.tenant, c.second.tenant, c.example])).toEqual([['c', 'b-c', 'a-b-c/key']]);
  });

  it('one tenant\'s extensions sharing a name is no collision', () => {
    expect(patternAmbiguity({ secretsManagerName: '{tenant}-secrets' }, ['acme', 'globex'], ['avalara', 'cetec'])).toBeUndefined();
    expect(patternAmbiguity({ secretsManagerName: '{tenant}/' }, ['acme', 'globex'], ['avalara', 'cetec'])).toBeUndefined();
  });
});

describe('templateAmbiguityWarning', () => {
  it.each([
    ['{extension}-{tenant}-secrets', 'in "{extension}-{tenant}-secrets", {extension} is followed by "-", which ids may contain: two different (extension, tenant) pairs can give the same name'],
    ['{extension}{tenant}', 'in "{extension}{tenant}", {extension} is followed by another placeholder: two different (extension, tenant) pairs can give the same name'],
    ['/{stage}/{tenant}9{extension}/', 'in "/{stage}/{tenant}9{extension}/", {tenant} is followed by "9", which ids may contain: two different (extension, tenant) pairs can give the same name'],
    ['/{stage}/{tenant}/{extension}/', undefined],
    ['{stage}-{tenant}-secrets', undefined],
    ['{extension}_{tenant}', undefined],
    ['{extension}/tenants/{tenant}', undefined],
    ['{extension}A{tenant}', 'in "{extension}A{tenant}", {extension} is followed by "A" ("a" ignoring case), which ids may contain: two different (extension, tenant) pairs can give the same name'],
    ['{bogus}-{tenant}', undefined],
  ])('%s', (template, warning) => {
    expect(templateAmbiguityWarning(template)).toBe(warning);
  });
});

describe('pattern ambiguity against every pair of scopes', () => {
  const id = fc.stringMatching(/^[a-c][a-c0-9]{0,1}(-[a-c0-9]{1,2}){0,2}$/);
  const templates = {
    ssmPrefix: ['/{stage}/tenants/{tenant}/', '/{stage}/{tenant}-{extension}/', '/{extension}{tenant}/', '/{tenant}{extension}/x/', '/{extension}/{tenant}/'],
    secretsManagerName: ['{extension}-{tenant}-secrets', '{extension}-{tenant}/', 'x/{tenant}/{extension}', '{tenant}{extension}', '{extension}A{tenant}', '{stage}/tenants/{tenant}/'],
  };

  /** Whether some name lies in both scopes, by the definition of the rules. */
  function overlap(a: ScopeRule, b: ScopeRule): boolean {
    const [x, y] = [a.value.toLowerCase(), b.value.toLowerCase()];
    if (a.match === 'exact' && b.match === 'exact') return x === y;
    if (a.match === 'prefix' && b.match === 'prefix') return x.startsWith(y) || y.startsWith(x);
    const [name, prefix] = a.match === 'exact' ? [x, y] : [y, x];
    return name.length > prefix.length && name.startsWith(prefix);
  }

  it('property: reports a collision exactly when two tenants\' scopes share a name, and each one it reports is real', () => {
    fc.assert(fc.property(
      fc.constantFrom(...(Object.keys(templates) as (keyof typeof templates)[])).chain((key) => fc.record({ key: fc.constant(key), template: fc.constantFrom(...templates[key]) })),
      fc.uniqueArray(id, { minLength: 2, maxLength: 5 }), fc.uniqueArray(id, { minLength: 1, maxLength: 3 }),
      ({ key, template }, tenants, extensions) => {
        const config = resolveSecretsConfig({ [key]: template });
        const service = key === 'ssmPrefix' ? 'ssm' : 'secretsmanager';
        const scopes = tenants.flatMap((tenant) => extensions.map((extension) => ({ tenant, extension, rule: scopeRule(config, service, { stage: 'dev', tenant, extension }) })));
        const shared = scopes.some((a) => scopes.some((b) => a.tenant !== b.tenant && overlap(a.rule, b.rule)));
        const ambiguity = patternAmbiguity({ [key]: template }, tenants, extensions);
        expect(ambiguity !== undefined).toBe(shared);
        for (const collision of ambiguity?.collisions ?? []) {
          expect(collision.first.tenant).not.toBe(collision.second.tenant);
          expect(overlap(collision.first.rule, collision.second.rule)).toBe(true);
          expect(collision.first.rule).toStrictEqual(scopeRule(config, service, { stage: 'dev', tenant: collision.first.tenant, extension: collision.first.extension }));
        }
      }), { numRuns: 2000 });
  });

  it('property: with ids (which never contain "/") a template gives one service only prefixes or only exact names', () => {
    fc.assert(fc.property(fc.constantFrom(...templates.secretsManagerName), id, id, (template, tenant, extension) => {
      const rule = scopeRule(resolveSecretsConfig({ secretsManagerName: template }), 'secretsmanager', { stage: 'dev', tenant, extension });
      expect(rule.match).toBe(template.endsWith('/') ? 'prefix' : 'exact');
    }), { numRuns: 300 });
  });
});

describe('scope checks that depend on the whole pattern', () => {
  it('a configuration problem is one issue at its key, as editors and the config check show it', () => {
    const parsed = secretsConfigSchema.safeParse({ ssmPrefix: '/{stage}/tenants/' });
    expect(parsed.error?.issues).toMatchObject([{ code: 'custom', path: ['ssmPrefix'], message: 'must contain {tenant}: without it every tenant would share one scope' }]);
  });

  it('a name is another tenant\'s when it equals that tenant\'s name ignoring case', () => {
    // "{extension}A{tenant}": extension "ab" of "cdaefg" and extension "abacd" of "efg" differ only in case.
    const options = { config: { secretsManagerName: '{extension}A{tenant}' }, tenant: 'cdaefg', extension: 'ab', stage: 'dev', allTenants: ['cdaefg', 'efg'], allExtensions: ['abacd'] };
    expect(checkTenantScope('secretsmanager:abAcdaefg', options)).toMatchObject({
      ok: false,
      problem: { code: 'other-tenant', message: 'secretsmanager:abAcdaefg also lies in tenant "efg"\'s scope (the Secrets Manager name "abacdAefg")' },
    });
  });

  it('a template delimited only by an upper-case letter is ambiguous: a third tenant\'s reference is refused', () => {
    const options = { config: { secretsManagerName: '{extension}A{tenant}' }, tenant: 'zed', extension: 'ab', stage: 'dev', allTenants: ['zed', 'cdaefg', 'efg'], allExtensions: ['ab', 'abacd'] };
    expect(checkTenantScope('secretsmanager:abAzed', options)).toMatchObject({
      ok: false,
      problem: { code: 'ambiguous-pattern', message: 'the secrets pattern "{extension}A{tenant}" gives tenant "cdaefg" (extension "ab") and tenant "efg" (extension "abacd") the same name "abacdAefg"' },
    });
  });

  it('the name of a prefix itself is not a name below it: the syntax check refuses it', () => {
    expect(checkTenantScope('ssm:/dev/tenants/acme/', acme)).toMatchObject({ ok: false, problem: { code: 'syntax' } });
    expect(checkTenantScope('secretsmanager:dev/tenants/acme/', acme)).toMatchObject({ ok: false, problem: { code: 'syntax' } });
  });

  it('the reserved segment lies below a prefix only: an exact name that contains it is the tenant\'s', () => {
    expect(checkTenantScope('secretsmanager:acme/_sovereign', { ...acme, config: { secretsManagerName: '{tenant}/_sovereign' } })).toMatchObject({ ok: true, rule: { match: 'exact' } });
  });

  it('no extension, or a single one, gives no collision whatever the tenants', () => {
    const config = { secretsManagerName: '{extension}-{tenant}-secrets' };
    expect(patternAmbiguity(config, ['cde', 'b-cde'], [])).toBeUndefined();
    expect(patternAmbiguity(config, ['cde', 'b-cde', 'a-b-cde'], ['a'])).toBeUndefined();
    expect(patternAmbiguity(config, ['cde', 'b-cde'], ['a', 'a-b'])?.collisions).toHaveLength(1);
  });
});
