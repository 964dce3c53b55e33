/**
 * Every way a secret reference is refused, with the exact problem a user reads: the code, the
 * message naming only the offending character and its position (never the rest of the input),
 * and the hint. The valid neighbours of each refusal are in the same table, so an over-eager
 * check fails here too.
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_LABEL_LENGTH,
  MAX_REFERENCE_LENGTH,
  MAX_SECRET_NAME_LENGTH,
  MAX_SSM_LEVELS,
  MAX_SSM_NAME_LENGTH,
  parseReference,
  parseReferenceOrThrow,
  referenceProblem,
  ReferenceSyntaxError,
  type ReferenceProblem,
  type SecretReference,
} from '../src/contract/reference.js';

type Expected = { problem: ReferenceProblem } | { reference: SecretReference };

const CASES: Array<[string, Expected]> = [
  ['', { problem: { code: 'empty', message: 'the reference is empty', hint: 'e.g. ssm:/dev/tenants/acme/avalara/account_id' } }],
  ['ssm:', { problem: { code: 'empty', message: 'the SSM parameter name after "ssm:" is empty (position 5)', position: 5, hint: 'e.g. ssm:/dev/tenants/acme/avalara/account_id' } }],
  ['secretsmanager:', { problem: { code: 'empty', message: 'the secret name after "secretsmanager:" is empty (position 16)', position: 16, hint: 'e.g. secretsmanager:dev/tenants/acme/avalara:license_key' } }],
  ['secretsmanager::key', { problem: { code: 'empty', message: 'the secret name is empty (position 16)', position: 16 } }],
  ['ssm:/a b', { problem: { code: 'bad-character', message: 'a space (U+0020) at position 7 is not allowed in an SSM parameter name', position: 7, hint: 'allowed: a-z A-Z 0-9 _ . - and / between path segments' } }],
  ['ssm:/a\u{1B}', { problem: { code: 'bad-character', message: 'control character U+001B at position 7 is not allowed in an SSM parameter name', position: 7, hint: 'allowed: a-z A-Z 0-9 _ . - and / between path segments' } }],
  ['ssm:/a\u{7F}', { problem: { code: 'bad-character', message: 'control character U+007F at position 7 is not allowed in an SSM parameter name', position: 7, hint: 'allowed: a-z A-Z 0-9 _ . - and / between path segments' } }],
  ['ssm:/a~', { problem: { code: 'bad-character', message: '"~" at position 7 is not allowed in an SSM parameter name', position: 7, hint: 'allowed: a-z A-Z 0-9 _ . - and / between path segments' } }],
  ['ssm:/\u{430}cme', { problem: { code: 'bad-character', message: '"\u{430}" (U+0430, not ASCII) at position 6 is not allowed in an SSM parameter name', position: 6, hint: 'names are ASCII only; a look-alike letter from another alphabet is refused' } }],
  ['ssm:/a%2F', { problem: { code: 'bad-character', message: '"%" at position 7 is not allowed in an SSM parameter name', position: 7, hint: 'percent-encoding is not decoded; write the name as it is' } }],
  ['ssm:/a*', { problem: { code: 'wildcard', message: '"*" at position 7: wildcards are not allowed in a reference', position: 7, hint: 'name exactly one parameter or secret' } }],
  ['secretsmanager:a?', { problem: { code: 'wildcard', message: '"?" at position 17: wildcards are not allowed in a reference', position: 17, hint: 'name exactly one parameter or secret' } }],
  ['ssm:/a:1', { problem: { code: 'bad-character', message: '":" at position 7 is not allowed in an SSM parameter name', position: 7, hint: 'an SSM reference is ssm:<parameter-name>; version and label selectors are not supported' } }],
  ['ssm:/x/\u{1F600}', { problem: { code: 'bad-character', message: '"\u{1F600}" (U+1F600, not ASCII) at position 8 is not allowed in an SSM parameter name', position: 8, hint: 'names are ASCII only; a look-alike letter from another alphabet is refused' } }],
  ['secretsmanager:\u{1F600}a:b:c:d', { problem: { code: 'too-many-parts', message: '":" at position 22: a reference is secretsmanager:<secret-name>[:<json-key>[:<stage>]]', position: 22, hint: 'pin a version with a stage label, not a version id' } }],
  ['secretsmanager:\u{10000}a:b:c:d', { problem: { code: 'too-many-parts', message: '":" at position 22: a reference is secretsmanager:<secret-name>[:<json-key>[:<stage>]]', position: 22, hint: 'pin a version with a stage label, not a version id' } }],
  ['secretsmanager:\u{10FFFF}a:b:c:d', { problem: { code: 'too-many-parts', message: '":" at position 22: a reference is secretsmanager:<secret-name>[:<json-key>[:<stage>]]', position: 22, hint: 'pin a version with a stage label, not a version id' } }],
  ['secretsmanager:\u{FF41}b:c:d:e', { problem: { code: 'too-many-parts', message: '":" at position 22: a reference is secretsmanager:<secret-name>[:<json-key>[:<stage>]]', position: 22, hint: 'pin a version with a stage label, not a version id' } }],
  ['ssm:a/b', { problem: { code: 'not-absolute', message: 'an SSM parameter name with a path must start with "/" (position 5)', position: 5, hint: 'write the fully qualified name, e.g. ssm:/dev/tenants/acme/avalara/account_id' } }],
  ['ssm:.', { problem: { code: 'dot-segment', message: '"." path segment at position 5 in an SSM parameter name', position: 5, hint: '"." and ".." segments are not resolved; write the path without them' } }],
  ['ssm:..', { problem: { code: 'dot-segment', message: '".." path segment at position 5 in an SSM parameter name', position: 5, hint: '"." and ".." segments are not resolved; write the path without them' } }],
  ['ssm:/a/../b', { problem: { code: 'dot-segment', message: '".." path segment at position 8 in an SSM parameter name', position: 8, hint: '"." and ".." segments are not resolved; write the path without them' } }],
  ['ssm:/a/./b', { problem: { code: 'dot-segment', message: '"." path segment at position 8 in an SSM parameter name', position: 8, hint: '"." and ".." segments are not resolved; write the path without them' } }],
  ['secretsmanager:./x', { problem: { code: 'dot-segment', message: '"." path segment at position 16 in a Secrets Manager secret name', position: 16, hint: '"." and ".." segments are not resolved; write the path without them' } }],
  ['ssm:/a/', { problem: { code: 'empty-segment', message: 'empty path segment at position 7 (a trailing "/") in an SSM parameter name', position: 7, hint: 'write each path segment once, without leading, trailing or doubled slashes' } }],
  ['secretsmanager:/a', { problem: { code: 'empty-segment', message: 'empty path segment at position 16 (a leading "/") in a Secrets Manager secret name', position: 16, hint: 'write each path segment once, without leading, trailing or doubled slashes' } }],
  ['ssm:/a//b', { problem: { code: 'empty-segment', message: 'empty path segment at position 8 (a doubled "/") in an SSM parameter name', position: 8, hint: 'write each path segment once, without leading, trailing or doubled slashes' } }],
  ['secretsmanager:a//b', { problem: { code: 'empty-segment', message: 'empty path segment at position 18 (a doubled "/") in a Secrets Manager secret name', position: 18, hint: 'write each path segment once, without leading, trailing or doubled slashes' } }],
  ['ssm:/aws/x', { problem: { code: 'reserved-prefix', message: 'an SSM parameter name must not begin with "aws" or "ssm" (position 6)', position: 6, hint: 'AWS reserves these prefixes (in any case) for its own parameters' } }],
  ['ssm:/AWS', { problem: { code: 'reserved-prefix', message: 'an SSM parameter name must not begin with "aws" or "ssm" (position 6)', position: 6, hint: 'AWS reserves these prefixes (in any case) for its own parameters' } }],
  ['ssm:awsfoo', { problem: { code: 'reserved-prefix', message: 'an SSM parameter name must not begin with "aws" or "ssm" (position 5)', position: 5, hint: 'AWS reserves these prefixes (in any case) for its own parameters' } }],
  ['ssm:/ssm/x', { problem: { code: 'reserved-prefix', message: 'an SSM parameter name must not begin with "aws" or "ssm" (position 6)', position: 6, hint: 'AWS reserves these prefixes (in any case) for its own parameters' } }],
  ['ssm:Ssmx', { problem: { code: 'reserved-prefix', message: 'an SSM parameter name must not begin with "aws" or "ssm" (position 5)', position: 5, hint: 'AWS reserves these prefixes (in any case) for its own parameters' } }],
  ['ssm:/awsx', { problem: { code: 'reserved-prefix', message: 'an SSM parameter name must not begin with "aws" or "ssm" (position 6)', position: 6, hint: 'AWS reserves these prefixes (in any case) for its own parameters' } }],
  ['secretsmanager:app-000000', { problem: { code: 'reserved-suffix', message: 'the secret name ends with "-" and six letters or digits (position 19)', position: 19, hint: 'AWS appends "-" and six random characters to secret ARNs; a name ending like that is ambiguous' } }],
  ['secretsmanager:app-999999', { problem: { code: 'reserved-suffix', message: 'the secret name ends with "-" and six letters or digits (position 19)', position: 19, hint: 'AWS appends "-" and six random characters to secret ARNs; a name ending like that is ambiguous' } }],
  ['secretsmanager:app-AZAZAZ', { problem: { code: 'reserved-suffix', message: 'the secret name ends with "-" and six letters or digits (position 19)', position: 19, hint: 'AWS appends "-" and six random characters to secret ARNs; a name ending like that is ambiguous' } }],
  ['secretsmanager:app-azazaz', { problem: { code: 'reserved-suffix', message: 'the secret name ends with "-" and six letters or digits (position 19)', position: 19, hint: 'AWS appends "-" and six random characters to secret ARNs; a name ending like that is ambiguous' } }],
  ['secretsmanager:-abcdef', { problem: { code: 'reserved-suffix', message: 'the secret name ends with "-" and six letters or digits (position 16)', position: 16, hint: 'AWS appends "-" and six random characters to secret ARNs; a name ending like that is ambiguous' } }],
  ['secretsmanager:app-abc@ef', { reference: { service: 'secretsmanager', name: 'app-abc@ef' } }],
  ['secretsmanager:app-abcde', { reference: { service: 'secretsmanager', name: 'app-abcde' } }],
  ['secretsmanager:app-abc_ef', { reference: { service: 'secretsmanager', name: 'app-abc_ef' } }],
  ['secretsmanager:app:', { problem: { code: 'bad-json-key', message: 'the JSON key after ":" at position 19 is empty', position: 19, hint: 'leave out the ":" to reference the whole secret value' } }],
  ['secretsmanager:app::', { problem: { code: 'bad-version-stage', message: 'the version stage after ":" at position 20 is empty', position: 20, hint: 'e.g. AWSCURRENT or AWSPREVIOUS, or leave out the ":"' } }],
  ['secretsmanager:app:k:', { problem: { code: 'bad-version-stage', message: 'the version stage after ":" at position 21 is empty', position: 21, hint: 'e.g. AWSCURRENT or AWSPREVIOUS, or leave out the ":"' } }],
  ['secretsmanager:app:k!', { problem: { code: 'bad-json-key', message: '"!" at position 21 is not allowed in a JSON key', position: 21, hint: 'allowed: a-z A-Z 0-9 _ . + = @ -' } }],
  ['secretsmanager:app:k:AWS CURRENT', { problem: { code: 'bad-version-stage', message: 'a space (U+0020) at position 25 is not allowed in a version stage', position: 25, hint: 'allowed: a-z A-Z 0-9 _ . + = @ -' } }],
  ['secretsmanager:app::AWSPREVIOUS', { reference: { service: 'secretsmanager', name: 'app', versionStage: 'AWSPREVIOUS' } }],
  ['secretsmanager:app:k:AWSCURRENT', { reference: { service: 'secretsmanager', name: 'app', jsonKey: 'k', versionStage: 'AWSCURRENT' } }],
  ['secretsmanager:app:a:b:c', { problem: { code: 'too-many-parts', message: '":" at position 23: a reference is secretsmanager:<secret-name>[:<json-key>[:<stage>]]', position: 23, hint: 'pin a version with a stage label, not a version id' } }],
  ['secretsmanager:arn:aws:secretsmanager:x', { problem: { code: 'arn', message: 'an ARN at position 16: references use the parameter or secret name, not its ARN', position: 16, hint: 'use the name, e.g. secretsmanager:dev/tenants/acme/avalara; the account and region come from the tenant\'s stage' } }],
  ['ssm:arn:aws:ssm:x', { problem: { code: 'arn', message: 'an ARN at position 5: references use the parameter or secret name, not its ARN', position: 5, hint: 'use the name, e.g. ssm:/dev/tenants/acme/avalara/account_id; the account and region come from the tenant\'s stage' } }],
  ['arn:aws:ssm:eu-west-1:1:parameter/x', { problem: { code: 'arn', message: 'an ARN at position 1: references use the parameter or secret name, not its ARN', position: 1, hint: 'use the name, e.g. ssm:<parameter-name> or secretsmanager:<secret-name>; the account and region come from the tenant\'s stage' } }],
  ['SSM:/x', { problem: { code: 'unknown-service', message: 'the service prefix must be lower case ("ssm:") (position 1)', position: 1, hint: 'write ssm:\u{2026}' } }],
  ['SecretsManager:x', { problem: { code: 'unknown-service', message: 'the service prefix must be lower case ("secretsmanager:") (position 1)', position: 1, hint: 'write secretsmanager:\u{2026}' } }],
  ['vault:x', { problem: { code: 'unknown-service', message: 'a reference starts with "ssm:" or "secretsmanager:" (position 1)', position: 1, hint: 'e.g. ssm:/dev/tenants/acme/avalara/account_id or secretsmanager:dev/tenants/acme/avalara:license_key' } }],
  ['nocolon', { problem: { code: 'unknown-service', message: 'a reference starts with "ssm:" or "secretsmanager:" (position 1)', position: 1, hint: 'e.g. ssm:/dev/tenants/acme/avalara/account_id or secretsmanager:dev/tenants/acme/avalara:license_key' } }],
  ['ssmx', { problem: { code: 'unknown-service', message: 'a reference starts with "ssm:" or "secretsmanager:" (position 1)', position: 1, hint: 'e.g. ssm:/dev/tenants/acme/avalara/account_id or secretsmanager:dev/tenants/acme/avalara:license_key' } }],
  ['SSMx', { problem: { code: 'unknown-service', message: 'a reference starts with "ssm:" or "secretsmanager:" (position 1)', position: 1, hint: 'e.g. ssm:/dev/tenants/acme/avalara/account_id or secretsmanager:dev/tenants/acme/avalara:license_key' } }],
  ['secretsmanager:a b', { problem: { code: 'bad-character', message: 'a space (U+0020) at position 17 is not allowed in a Secrets Manager secret name', position: 17, hint: 'allowed: a-z A-Z 0-9 / _ + = . @ -' } }],
  ['ssm', { problem: { code: 'unknown-service', message: 'a reference starts with "ssm:" or "secretsmanager:" (position 1)', position: 1, hint: 'e.g. ssm:/dev/tenants/acme/avalara/account_id or secretsmanager:dev/tenants/acme/avalara:license_key' } }],
  [':x', { problem: { code: 'unknown-service', message: 'a reference starts with "ssm:" or "secretsmanager:" (position 1)', position: 1, hint: 'e.g. ssm:/dev/tenants/acme/avalara/account_id or secretsmanager:dev/tenants/acme/avalara:license_key' } }],
];

const expectedResult = (expected: Expected) => ('problem' in expected ? { ok: false, problem: expected.problem } : { ok: true, reference: expected.reference });

describe('secret reference problems', () => {
  it.each(CASES)('%j', (input, expected) => {
    expect(parseReference(input)).toStrictEqual(expectedResult(expected));
  });

  it('refuses names one past each length limit and accepts them at the limit', () => {
    const ssmAt = `ssm:/${'a'.repeat(MAX_SSM_NAME_LENGTH - 1)}`;
    expect(parseReference(ssmAt).ok).toBe(true);
    expect(parseReference(`${ssmAt}b`)).toStrictEqual({
      ok: false,
      problem: { code: 'too-long', message: `the SSM parameter name is ${MAX_SSM_NAME_LENGTH + 1} characters; at most ${MAX_SSM_NAME_LENGTH} are allowed (position ${4 + MAX_SSM_NAME_LENGTH + 1})`, position: 4 + MAX_SSM_NAME_LENGTH + 1 },
    });
    const smAt = `secretsmanager:${'a'.repeat(MAX_SECRET_NAME_LENGTH)}`;
    expect(parseReference(smAt).ok).toBe(true);
    expect(parseReference(`${smAt}b`)).toStrictEqual({
      ok: false,
      problem: { code: 'too-long', message: `the secret name is ${MAX_SECRET_NAME_LENGTH + 1} characters; at most ${MAX_SECRET_NAME_LENGTH} are allowed (position ${15 + MAX_SECRET_NAME_LENGTH + 1})`, position: 15 + MAX_SECRET_NAME_LENGTH + 1 },
    });
    const keyAt = `secretsmanager:app:${'k'.repeat(MAX_LABEL_LENGTH)}`;
    expect(parseReference(keyAt)).toStrictEqual({ ok: true, reference: { service: 'secretsmanager', name: 'app', jsonKey: 'k'.repeat(MAX_LABEL_LENGTH) } });
    expect(parseReference(`${keyAt}k`)).toStrictEqual({
      ok: false,
      problem: { code: 'bad-json-key', message: `the JSON key is longer than ${MAX_LABEL_LENGTH} characters (position ${20 + MAX_LABEL_LENGTH})`, position: 20 + MAX_LABEL_LENGTH },
    });
    const stageAt = `secretsmanager:app:k:${'S'.repeat(MAX_LABEL_LENGTH)}`;
    expect(parseReference(stageAt)).toStrictEqual({ ok: true, reference: { service: 'secretsmanager', name: 'app', jsonKey: 'k', versionStage: 'S'.repeat(MAX_LABEL_LENGTH) } });
    expect(parseReference(`${stageAt}S`)).toStrictEqual({
      ok: false,
      problem: { code: 'bad-version-stage', message: `the version stage is longer than ${MAX_LABEL_LENGTH} characters (position ${22 + MAX_LABEL_LENGTH})`, position: 22 + MAX_LABEL_LENGTH },
    });
  });

  it('refuses a reference longer than the scan limit before looking at it, but not one at the limit', () => {
    // At the limit the reference is scanned, and its SSM name found too long.
    expect(parseReference(`ssm:/${'a'.repeat(MAX_REFERENCE_LENGTH - 5)}`)).toMatchObject({ ok: false, problem: { code: 'too-long', message: expect.stringMatching(/^the SSM parameter name is 4092 characters/) } });
    expect(parseReference(`ssm:/${'a'.repeat(MAX_REFERENCE_LENGTH - 4)}`)).toStrictEqual({ ok: false, problem: { code: 'too-long', message: `the reference is longer than ${MAX_REFERENCE_LENGTH} characters` } });
  });

  it(`refuses more than ${MAX_SSM_LEVELS} levels`, () => {
    expect(parseReference(`ssm:${'/a'.repeat(MAX_SSM_LEVELS)}`).ok).toBe(true);
    expect(parseReference(`ssm:${'/a'.repeat(MAX_SSM_LEVELS + 1)}`)).toStrictEqual({
      ok: false,
      problem: { code: 'too-deep', message: `the SSM parameter name has ${MAX_SSM_LEVELS + 1} levels; at most ${MAX_SSM_LEVELS} are allowed`, hint: 'flatten the hierarchy' },
    });
  });

  it('throws a ReferenceSyntaxError carrying the problem, and referenceProblem gives it without throwing', () => {
    expect(() => parseReferenceOrThrow('ssm:/a b')).toThrow(expect.objectContaining({ name: 'ReferenceSyntaxError', message: 'invalid secret reference: a space (U+0020) at position 7 is not allowed in an SSM parameter name' }));
    let thrown: unknown;
    try {
      parseReferenceOrThrow('');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ReferenceSyntaxError);
    expect((thrown as ReferenceSyntaxError).problem.code).toBe('empty');
    expect(parseReferenceOrThrow('ssm:/dev/x')).toStrictEqual({ service: 'ssm', name: '/dev/x' });
    expect(referenceProblem('vault:x')).toMatchObject({ code: 'unknown-service' });
    expect(referenceProblem('ssm:/dev/x')).toBeUndefined();
  });
});
