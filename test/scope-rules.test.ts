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
  delimitedTemplate,
  resolveSecretsConfig,
  scopeRule,
  secretsConfigSchema,
  secretsPatternAmbiguity,
  templateAmbiguity,
  type ScopeRule,
  type TenantScopeOptions,
} from '../src/secrets/scope.js';
import { thrownBy } from './helpers/errors.js';

const HINT = 'e.g. "secrets": { "ssmPrefix": "/{stage}/tenants/{tenant}/", "secretsManagerName": "{extension}/{tenant}-secrets" }';
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
    expect(schema.properties.secretsManagerName?.description).toBe('Secrets Manager names of a tenant: a prefix ending in "/", or one exact name per extension such as "{extension}/{tenant}-secrets"');
  });
});

describe('a reference outside the tenant scope', () => {
  it.each([
    [undefined, 'ssm:/dev/tenants/globex/x', 'avalara secrets of acme are SSM parameter names starting with "/dev/tenants/acme/"', 'ssm:/dev/tenants/acme/avalara/key'],
    [undefined, 'secretsmanager:dev/tenants/globex/x', 'avalara secrets of acme are Secrets Manager names starting with "dev/tenants/acme/"', 'secretsmanager:dev/tenants/acme/avalara:key'],
    [{ secretsManagerName: '{extension}/{tenant}-secrets' }, 'secretsmanager:cetec/acme-secrets', 'avalara secrets of acme are the Secrets Manager name "avalara/acme-secrets"', 'secretsmanager:avalara/acme-secrets:key'],
  ])('with %j: %s is explained with an example', (config, reference, scope, example) => {
    expect(checkTenantScope(reference, { ...acme, config })).toStrictEqual({
      ok: false,
      problem: { code: 'outside-scope', message: `the reference is outside tenant "acme"'s scope: ${scope}`, hint: `use a reference such as ${example}` },
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
        problem: { code: 'reserved', message: `the reference is in "${prefix}_sovereign/", which holds sovereign's own secrets for the tenant`, hint: `use another name below "${prefix}"` },
      });
    }
    expect(checkTenantScope('ssm:/dev/tenants/acme/_sovereignx', acme).ok).toBe(true);
    expect(checkTenantScope('ssm:/dev/tenants/acme/x/_sovereign', acme).ok).toBe(true);
  });

  it.each([
    [{ secretsManagerName: '{extension}-{tenant}-secrets' }, 'a', 'secretsmanager:a-zed-secrets', 'secretsManagerName',
      'the secrets pattern "{extension}-{tenant}-secrets" (secrets.secretsManagerName in sovereign.config.json) is ambiguous: in "{extension}-{tenant}-secrets", {extension} is followed by "-" and then {tenant}: an extension name may contain "-", so where it ends is not fixed and two different values give the same name',
      '"secretsManagerName": "{extension}/{tenant}-secrets"'],
    [{ ssmPrefix: '/{stage}{tenant}/' }, 'billing', 'ssm:/devzed/key', 'ssmPrefix',
      'the secrets pattern "/{stage}{tenant}/" (secrets.ssmPrefix in sovereign.config.json) is ambiguous: in "/{stage}{tenant}/", {stage} is followed by {tenant}: where one value ends and the next begins is not fixed, so two different values give the same name',
      '"ssmPrefix": "/{stage}/{tenant}/"'],
  ])('with %j refuses even a reference of its own, whatever the other tenants, naming the pattern and a safe form', (config, extension, reference, key, message, safe) => {
    const options = { config, tenant: 'zed', extension, stage: 'dev', allTenants: ['zed'], allExtensions: [extension] };
    expect(checkTenantScope(reference, options)).toStrictEqual({
      ok: false,
      problem: { code: 'ambiguous-pattern', message, hint: `end each placeholder with a character its value cannot contain, e.g. ${safe}` },
    });
    expect(secretsPatternAmbiguity(config)?.key).toBe(key);
  });
});

describe('templateAmbiguity', () => {
  it.each([
    ['{extension}-{tenant}-secrets', '{extension} is followed by "-" and then {tenant}: an extension name may contain "-"'],
    ['{extension}{tenant}', '{extension} is followed by {tenant}'],
    ['/{stage}{tenant}/', '{stage} is followed by {tenant}'],
    ['/{stage}/{tenant}9{extension}/', '{tenant} is followed by "9" and then {extension}: a tenant id may contain "9"'],
    ['{extension}A{tenant}', '{extension} is followed by "A" and then {tenant}: an extension name may contain "a" (ignoring case, "A")'],
    ['{tenant}-{stage}-x', '{tenant} is followed by "-" and then {stage}'],
    ['/{stage}a{tenant}/', '{stage} is followed by "a" and then {tenant}: a stage may contain "a"'],
    ['/{stage}/{tenant}/{extension}/', undefined],
    ['{stage}-{tenant}-secrets', undefined],
    ['{extension}_{tenant}', undefined],
    ['{extension}/{tenant}-secrets', undefined],
    ['{extension}/tenants/{tenant}', undefined],
    ['/{stage}/{tenant}-x/', undefined],
    ['{tenant}', undefined],
    ['{bogus}-{tenant}', undefined],
  ])('%s', (template, problem) => {
    if (problem === undefined) expect(templateAmbiguity(template)).toBeUndefined();
    else expect(templateAmbiguity(template)).toContain(problem);
  });

  it.each([
    ['{extension}-{tenant}-secrets', '{extension}/{tenant}-secrets'],
    ['/{stage}{tenant}/', '/{stage}/{tenant}/'],
    ['{extension}A{tenant}', '{extension}/A{tenant}'],
    ['/{stage}/{tenant}-{extension}/', '/{stage}/{tenant}/{extension}/'],
    ['/{stage}/tenants/{tenant}/', '/{stage}/tenants/{tenant}/'],
  ])('the safe form of %s is %s, and it is accepted', (template, safe) => {
    expect(delimitedTemplate(template)).toBe(safe);
    expect(templateAmbiguity(safe)).toBeUndefined();
  });
});

describe('pattern injectivity over all stages, tenants and extensions', () => {
  /** Whether some name lies in both scopes, by the definition of the rules. */
  function overlap(a: ScopeRule, b: ScopeRule): boolean {
    const [x, y] = [a.value.toLowerCase(), b.value.toLowerCase()];
    if (a.match === 'exact' && b.match === 'exact') return x === y;
    if (a.match === 'prefix' && b.match === 'prefix') return x.startsWith(y) || y.startsWith(x);
    const [name, prefix] = a.match === 'exact' ? [x, y] : [y, x];
    return name.length > prefix.length && name.startsWith(prefix);
  }

  // Small alphabets make collisions likely: ids of a, b, 0 and "-", literals that include the
  // characters ids contain, case variants and delimiters.
  const id = fc.stringMatching(/^[ab][ab0]{0,1}(-[ab0]{1,2}){0,2}$/);
  const stage = fc.stringMatching(/^[ab][ab0]{0,2}$/);
  const part = fc.oneof(
    fc.constantFrom('{stage}', '{tenant}', '{extension}'),
    fc.stringMatching(/^[ab0A_/.-]{1,3}$/),
  );
  const template = fc.array(part, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('')).filter((t) => t.includes('{tenant}'));
  const triple = fc.record({ stage, tenant: id, extension: id });

  it('property: an accepted pattern gives two triples overlapping scopes only when they agree on every placeholder it uses', () => {
    let accepted = 0;
    fc.assert(fc.property(template, fc.boolean(), fc.array(triple, { minLength: 2, maxLength: 12 }), (body, prefix, triples) => {
      const shape = prefix ? `${body}/` : body;
      if (templateAmbiguity(shape) !== undefined) return;
      accepted += 1;
      const used = (['stage', 'tenant', 'extension'] as const).filter((name) => shape.includes(`{${name}}`));
      // Rendered directly: a generated template need not render valid AWS names for the property.
      const rule = (values: { stage: string; tenant: string; extension: string }): ScopeRule => {
        const value = shape.replace(/\{(stage|tenant|extension)\}/g, (_m, name: 'stage' | 'tenant' | 'extension') => values[name]);
        return { service: 'secretsmanager', match: value.endsWith('/') ? 'prefix' : 'exact', value };
      };
      for (const a of triples) for (const b of triples) {
        if (used.every((name) => a[name] === b[name])) continue;
        expect(overlap(rule(a), rule(b)), `${shape}: ${JSON.stringify(a)} and ${JSON.stringify(b)}`).toBe(false);
      }
    }), { numRuns: 4000 });
    expect(accepted).toBeGreaterThan(100);
  });

  it('the two patterns of the issue collide for real and are refused', () => {
    const render = (t: string, v: { stage: string; tenant: string; extension: string }) => t.replace(/\{(stage|tenant|extension)\}/g, (_m, n: 'stage' | 'tenant' | 'extension') => v[n]);
    expect(render('/{stage}{tenant}/', { stage: 'dev', tenant: 'acme', extension: 'x' })).toBe(render('/{stage}{tenant}/', { stage: 'deva', tenant: 'cme', extension: 'x' }));
    expect(render('{extension}-{tenant}-secrets', { stage: 'dev', tenant: 'cde', extension: 'xa-b' })).toBe(render('{extension}-{tenant}-secrets', { stage: 'dev', tenant: 'b-cde', extension: 'xa' }));
    expect(templateAmbiguity('/{stage}{tenant}/')).toBeDefined();
    expect(templateAmbiguity('{extension}-{tenant}-secrets')).toBeDefined();
  });

  it('property: with ids (which never contain "/") a template gives one service only prefixes or only exact names', () => {
    const templates = ['{extension}/{tenant}-secrets', '{extension}_{tenant}/', 'x/{tenant}/{extension}', '{stage}/tenants/{tenant}/'];
    fc.assert(fc.property(fc.constantFrom(...templates), id, id, (t, tenant, extension) => {
      const rule = scopeRule(resolveSecretsConfig({ secretsManagerName: t }), 'secretsmanager', { stage: 'dev', tenant, extension });
      expect(rule.match).toBe(t.endsWith('/') ? 'prefix' : 'exact');
    }), { numRuns: 300 });
  });
});

describe('scope checks that depend on the whole pattern', () => {
  it('a configuration problem is one issue at its key, as editors and the config check show it', () => {
    const parsed = secretsConfigSchema.safeParse({ ssmPrefix: '/{stage}/tenants/' });
    expect(parsed.error?.issues).toMatchObject([{ code: 'custom', path: ['ssmPrefix'], message: 'must contain {tenant}: without it every tenant would share one scope' }]);
  });

  it('a name is another tenant\'s when it equals that tenant\'s name ignoring case', () => {
    // "{extension}/A{tenant}" is delimited; tenant "efg"'s name in upper case is still theirs.
    const options = { config: { secretsManagerName: '{extension}/A{tenant}' }, tenant: 'cdaefg', extension: 'ab', stage: 'dev', allTenants: ['cdaefg', 'efg'], allExtensions: ['ab'] };
    expect(checkTenantScope('secretsmanager:ab/Aefg', options)).toMatchObject({ ok: false, problem: { code: 'outside-scope' } });
  });

  it('the name of a prefix itself is not a name below it: the syntax check refuses it', () => {
    expect(checkTenantScope('ssm:/dev/tenants/acme/', acme)).toMatchObject({ ok: false, problem: { code: 'syntax' } });
    expect(checkTenantScope('secretsmanager:dev/tenants/acme/', acme)).toMatchObject({ ok: false, problem: { code: 'syntax' } });
  });

  it('the reserved segment lies below a prefix only: an exact name that contains it is the tenant\'s', () => {
    expect(checkTenantScope('secretsmanager:acme/_sovereign', { ...acme, config: { secretsManagerName: '{tenant}/_sovereign' } })).toMatchObject({ ok: true, rule: { match: 'exact' } });
  });
});
