import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatReference,
  parseReference,
  parseReferenceOrThrow,
  referenceProblem,
  referenceTarget,
  ReferenceSyntaxError,
  type SecretReference,
} from './reference.js';

function problemOf(input: string) {
  const result = parseReference(input);
  if (result.ok) throw new Error(`expected ${JSON.stringify(input)} to be refused`);
  return result.problem;
}

describe('parseReference: valid references', () => {
  it.each<[string, SecretReference]>([
    ['ssm:/prod/tenants/acme/avalara/account_id', { service: 'ssm', name: '/prod/tenants/acme/avalara/account_id' }],
    ['ssm:plain_name', { service: 'ssm', name: 'plain_name' }],
    ['ssm:/a.b-c_d/E9', { service: 'ssm', name: '/a.b-c_d/E9' }],
    ['secretsmanager:prod/tenants/acme/avalara', { service: 'secretsmanager', name: 'prod/tenants/acme/avalara' }],
    ['secretsmanager:prod/tenants/acme/avalara:license_key', { service: 'secretsmanager', name: 'prod/tenants/acme/avalara', jsonKey: 'license_key' }],
    ['secretsmanager:avalara-acme-secrets:license_key:AWSPREVIOUS', { service: 'secretsmanager', name: 'avalara-acme-secrets', jsonKey: 'license_key', versionStage: 'AWSPREVIOUS' }],
    ['secretsmanager:a+b=c.d@e_f-g::AWSPENDING', { service: 'secretsmanager', name: 'a+b=c.d@e_f-g', versionStage: 'AWSPENDING' }],
  ])('%s', (input, expected) => {
    const result = parseReference(input);
    expect(result).toEqual({ ok: true, reference: expected });
    expect(formatReference(expected)).toBe(input);
  });

  it('accepts names at the AWS length limits', () => {
    const ssm = `/${'a'.repeat(2047)}`;
    expect(parseReference(`ssm:${ssm}`).ok).toBe(true);
    expect(parseReference(`ssm:${ssm}b`)).toMatchObject({ ok: false, problem: { code: 'too-long' } });
    expect(parseReference(`secretsmanager:${'s'.repeat(512)}`).ok).toBe(true);
    expect(parseReference(`secretsmanager:${'s'.repeat(513)}`)).toMatchObject({ ok: false, problem: { code: 'too-long', position: 15 + 513 } });
  });

  it('accepts "-" and six characters that cannot be an ARN suffix', () => {
    expect(parseReference('secretsmanager:dev/tenants/a-aa/a/b').ok).toBe(true);
    expect(parseReference('secretsmanager:dev/x-abc.ef').ok).toBe(true);
    expect(parseReference('secretsmanager:dev/x-abcdefg').ok).toBe(true);
  });

  it('accepts 15 SSM levels and refuses 16', () => {
    const fifteen = Array.from({ length: 15 }, (_, i) => `l${i}`).join('/');
    expect(parseReference(`ssm:/${fifteen}`).ok).toBe(true);
    expect(problemOf(`ssm:/${fifteen}/l15`).code).toBe('too-deep');
  });
});

describe('parseReference: refusals name the character and its position', () => {
  it.each<[string, string, number | undefined]>([
    ['', 'empty', undefined],
    ['ssm:', 'empty', 5],
    ['secretsmanager:', 'empty', 16],
    ['vault:acme/key', 'unknown-service', 1],
    ['SSM:/dev/tenants/acme/x', 'unknown-service', 1],
    ['ssm:/dev/tenants/*/x', 'wildcard', 18],
    ['ssm:/dev/tenants/acme/?', 'wildcard', 23],
    ['secretsmanager:dev/tenants/acme/*', 'wildcard', 33],
    ['ssm:/dev//tenants/acme/x', 'empty-segment', 10],
    ['ssm:/dev/tenants/acme/x/', 'empty-segment', 24],
    ['ssm:/dev/tenants/acme/../globex/x', 'dot-segment', 23],
    ['ssm:/dev/tenants/./acme/x', 'dot-segment', 18],
    ['secretsmanager:/dev/tenants/acme', 'empty-segment', 16],
    ['secretsmanager:dev/tenants/acme/', 'empty-segment', 32],
    ['secretsmanager:dev/tenants/../acme', 'dot-segment', 28],
    ['ssm:dev/tenants/acme/x', 'not-absolute', 5],
    ['ssm:/aws/service/x', 'reserved-prefix', 6],
    ['ssm:/SSM/x', 'reserved-prefix', 6],
    ['ssm:AwsThing', 'reserved-prefix', 5],
    ['ssm:/dev/tenants/acme/x:3', 'bad-character', 24],
    ['ssm:/dev/tenants/acme/a%2Fb', 'bad-character', 24],
    ['ssm:/dev/tenants/acme/a b', 'bad-character', 24],
    ['ssm:/dev/tenants/\u0430cme/x', 'bad-character', 18],
    ['ssm:/dev/tenants/acme/x\n', 'bad-character', 24],
    ['ssm:/dev/tenants/acme/x\u200b', 'bad-character', 24],
    ['ssm:/dev/tenants/\u{1d41a}cme/x', 'bad-character', 18],
    ['secretsmanager:dev/tenants/acme/avalara-abcdef', 'reserved-suffix', 40],
    ['secretsmanager:dev/tenants/acme/avalara-AbC123:key', 'reserved-suffix', 40],
    ['secretsmanager:dev/tenants/acme:key:AWSCURRENT:extra', 'too-many-parts', 47],
    ['secretsmanager:dev/tenants/acme:', 'bad-json-key', 32],
    ['secretsmanager:dev/tenants/acme:key:', 'bad-version-stage', 36],
    ['secretsmanager:dev/tenants/acme:ke y', 'bad-json-key', 35],
    ['secretsmanager:dev/tenants/acme:key:AWS CURRENT', 'bad-version-stage', 40],
    ['secretsmanager:dev/tenants/acme:*', 'wildcard', 33],
    ['secretsmanager:dev\\tenants', 'bad-character', 19],
    ['ssm:arn:aws:ssm:eu-west-1:123456789012:parameter/dev/tenants/acme/x', 'arn', 5],
    ['secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:dev/tenants/acme-AbCdEf', 'arn', 16],
    ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:x', 'arn', 1],
  ])('%j → %s at %s', (input, code, position) => {
    const problem = problemOf(input);
    expect(problem.code).toBe(code);
    expect(problem.position).toBe(position);
    if (position !== undefined) expect(problem.message).toContain(`position ${position}`);
  });

  it('names the offending character, showing non-ASCII by code point', () => {
    expect(problemOf('ssm:/dev/tenants/\u0430cme/x').message).toBe(
      '"\u0430" (U+0430, not ASCII) at position 18 is not allowed in an SSM parameter name');
    expect(problemOf('ssm:/dev/x\t').message).toContain('control character U+0009 at position 11');
    expect(problemOf('ssm:/dev/tenants/acme/a%2Fb').hint).toMatch(/percent-encoding/);
  });

  it('gives a hint to use the name instead of an ARN', () => {
    expect(problemOf('ssm:arn:aws:ssm:eu-west-1:1:parameter/x').hint).toMatch(/use the name, e\.g\. ssm:/);
  });

  it('never repeats an input that is not a reference (it may be a pasted value)', () => {
    const canary = 'sk_live_CANARY_7f3a9';
    const problem = problemOf(canary);
    expect(JSON.stringify(problem)).not.toContain('CANARY');
    const inside = problemOf(`ssm:/dev/${canary}!`);
    expect(JSON.stringify(inside)).not.toContain('CANARY');
  });

  it('parseReferenceOrThrow throws a ReferenceSyntaxError carrying the problem', () => {
    expect(() => parseReferenceOrThrow('ssm:/a//b')).toThrow(ReferenceSyntaxError);
    try {
      parseReferenceOrThrow('ssm:/a//b');
    } catch (error) {
      expect((error as ReferenceSyntaxError).problem.code).toBe('empty-segment');
    }
    expect(referenceProblem('ssm:/a/b')).toBeUndefined();
  });

  it('referenceTarget drops the JSON key and stage', () => {
    expect(referenceTarget(parseReferenceOrThrow('secretsmanager:a/b:k:AWSPREVIOUS'))).toBe('secretsmanager:a/b');
    expect(referenceTarget(parseReferenceOrThrow('ssm:/a/b'))).toBe('ssm:/a/b');
  });
});

// ---- properties -------------------------------------------------------------------------------

const alnum = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const word = (extra: string, max: number) =>
  fc.string({ unit: fc.constantFrom(...(alnum + extra).split('')), minLength: 1, maxLength: max });
const segment = (extra: string) => word(extra, 12).filter((s) => s !== '.' && s !== '..');

const ssmReference: fc.Arbitrary<SecretReference> = fc
  .array(segment('_.-'), { minLength: 1, maxLength: 15 })
  .filter((segments) => !/^(aws|ssm)/i.test(segments[0] ?? ''))
  .map((segments) => ({ service: 'ssm' as const, name: `/${segments.join('/')}` }));

const label = word('_.+=@-', 20);
const smReference: fc.Arbitrary<SecretReference> = fc
  .record({
    segments: fc.array(segment('_+=.@-'), { minLength: 1, maxLength: 8 }),
    jsonKey: fc.option(label, { nil: undefined }),
    versionStage: fc.option(label, { nil: undefined }),
  })
  .map(({ segments, jsonKey, versionStage }) => {
    const reference: SecretReference = { service: 'secretsmanager', name: segments.join('/') };
    if (jsonKey !== undefined) reference.jsonKey = jsonKey;
    if (versionStage !== undefined) reference.versionStage = versionStage;
    return reference;
  })
  .filter((r) => !/-[A-Za-z0-9]{6}$/.test(r.name));

const anyReference = fc.oneof(ssmReference, smReference);

describe('properties', () => {
  it('parse(format(r)) gives back r', () => {
    fc.assert(fc.property(anyReference, (reference) => {
      expect(parseReference(formatReference(reference))).toEqual({ ok: true, reference });
    }), { numRuns: 2000 });
  });

  it('format(parse(s)) gives back s for every accepted string', () => {
    fc.assert(fc.property(fc.oneof(anyReference.map(formatReference), fc.string({ maxLength: 60 })), (input) => {
      const result = parseReference(input);
      if (result.ok) expect(formatReference(result.reference)).toBe(input);
    }), { numRuns: 2000 });
  });

  it('a forbidden character inserted into a valid name is refused at its position', () => {
    const forbidden = fc.constantFrom('*', '?', ' ', '%', '\\', '#', '\u0430', '\u00e9', '\u200b', '\u0000', '\u{1f600}', '"', '<', '\n');
    fc.assert(fc.property(anyReference, forbidden, fc.nat(), (reference, char, at) => {
      const text = formatReference(reference);
      const prefix = reference.service === 'ssm' ? 4 : 15;
      const nameEnd = prefix + reference.name.length;
      const index = prefix + (at % (nameEnd - prefix + 1));
      const input = text.slice(0, index) + char + text.slice(index);
      const result = parseReference(input);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(['bad-character', 'wildcard']).toContain(result.problem.code);
        expect(result.problem.position).toBe(index + 1);
      }
    }), { numRuns: 2000 });
  });

  it('random strings never throw and every refusal points inside the input', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => `ssm:/${s}`),
      fc.string({ unit: 'binary', maxLength: 40 }).map((s) => `secretsmanager:${s}`)), (input) => {
      const result = parseReference(input);
      if (!result.ok && result.problem.position !== undefined) {
        expect(result.problem.position).toBeGreaterThanOrEqual(1);
        expect(result.problem.position).toBeLessThanOrEqual([...input].length + 1);
      }
    }), { numRuns: 3000 });
  });

  it('doubling a slash or adding a dot segment is always refused', () => {
    fc.assert(fc.property(anyReference.filter((r) => r.name.includes('/')), fc.constantFrom('//', '/./', '/../'), (reference, insert) => {
      const at = reference.name.indexOf('/', 1);
      const name = reference.name.slice(0, at) + insert + reference.name.slice(at + 1);
      const result = parseReference(formatReference({ ...reference, name }));
      expect(result.ok).toBe(false);
      if (!result.ok) expect(['empty-segment', 'dot-segment']).toContain(result.problem.code);
    }));
  });
});
