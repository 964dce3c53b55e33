import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { resourceScopeProblem, routePathProblems, validateManifest } from './manifest-schema.js';

const base = () => ({
  name: 'avalara',
  version: '1.2.0',
  description: 'AvaTax REST v2',
  routes: [
    { method: 'GET', path: '/ping', handler: 'ping' },
    {
      method: 'POST',
      path: '/quotes/{id}',
      handler: 'create-quote#createQuote',
      request: { body: z.object({ amount: z.number() }) },
      response: z.object({ tax: z.number() }),
    },
  ],
  secrets: [{ key: 'license_key', description: 'AvaTax license key' }],
  permissions: [
    {
      actions: ['ssm:GetParameter'],
      resources: ['arn:aws:ssm:{region}:{account}:parameter/{stage}/tenants/{tenant}/*'],
    },
  ],
  config: z.object({ baseUrl: z.string().default('https://sandbox-rest.avatax.com') }),
});

function problemsOf(value: unknown, folderName = 'avalara'): string[] {
  const result = validateManifest(value, { folderName });
  return result.ok ? [] : result.problems;
}

describe('validateManifest', () => {
  it('accepts a complete manifest and applies defaults', () => {
    const result = validateManifest(base(), { folderName: 'avalara' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.manifest.secrets[0]?.required).toBe(true);
    expect(result.manifest.permissions[0]?.effect).toBe('Allow');
  });

  it('refuses a name that differs from its folder or breaks the grammar', () => {
    expect(problemsOf(base(), 'other')).toContainEqual(expect.stringContaining('must equal its folder name "other"'));
    expect(problemsOf({ ...base(), name: 'Ava_lara' }, 'Ava_lara')).toContainEqual(expect.stringContaining('upper-case'));
  });

  it('refuses a version that is not semver', () => {
    expect(problemsOf({ ...base(), version: '1.2' })).toEqual(['version: version must be a semantic version such as 1.0.0']);
  });

  it('names the field of each route problem', () => {
    const manifest = base();
    manifest.routes.push({ method: 'FETCH', path: 'nope', handler: 'Bad.ts' } as never);
    const problems = problemsOf(manifest);
    expect(problems).toContainEqual(expect.stringMatching(/^routes\[2\]\.method: /));
    expect(problems).toContainEqual(expect.stringMatching(/^routes\[2\]\.handler: /));
  });

  it('refuses request and response schemas that are not zod types', () => {
    const manifest = base();
    (manifest.routes[1] as { response: unknown }).response = { type: 'object' };
    expect(problemsOf(manifest)).toContainEqual('routes[1].response: response must be a zod schema (e.g. z.object({...}))');
  });

  it('refuses two routes of the same shape', () => {
    const manifest = base();
    manifest.routes.push({ method: 'POST', path: '/quotes/{quoteId}', handler: 'other' });
    expect(problemsOf(manifest)).toContainEqual(expect.stringContaining('POST /quotes/{quoteId} collides with routes[1]'));
  });

  it('refuses bad and duplicate secret keys', () => {
    const manifest = base();
    manifest.secrets.push({ key: 'License-Key', description: 'x' }, { key: 'license_key', description: 'again' });
    const problems = problemsOf(manifest);
    expect(problems).toContainEqual(expect.stringMatching(/^secrets\[1\]\.key: key must match/));
    // The shape error stops before the duplicate check; fix the shape and the duplicate shows.
    manifest.secrets.splice(1, 1);
    expect(problemsOf(manifest)).toContainEqual('secrets[1].key: "license_key" is declared twice');
  });

  it('refuses resources not confined to the tenant, naming statement and resource', () => {
    const manifest = base();
    manifest.permissions.push({ actions: ['dynamodb:GetItem'], resources: ['arn:aws:dynamodb:*:*:table/*'] });
    manifest.permissions.push({ actions: ['s3:GetObject'], resources: ['*'] });
    const problems = problemsOf(manifest);
    expect(problems).toContainEqual(expect.stringContaining('statement 1 (dynamodb:GetItem) resource "arn:aws:dynamodb:*:*:table/*"'));
    expect(problems).toContainEqual(expect.stringContaining('statement 2 (s3:GetObject) resource "*"'));
  });

  it('refuses a "*" action and a config that is not a schema', () => {
    const problems = problemsOf({ ...base(), permissions: [{ actions: ['*'], resources: ['arn:aws:s3:::b/{tenant}/*'] }], config: {} });
    expect(problems).toContainEqual(expect.stringMatching(/^permissions\[0\]\.actions\[0\]: /));
    expect(problems).toContainEqual(expect.stringMatching(/^config: config must be a zod schema/));
  });

  it('refuses unknown fields', () => {
    expect(problemsOf({ ...base(), handlers: [] })[0]).toMatch(/handlers/);
  });
});

describe('resourceScopeProblem', () => {
  it.each([
    'arn:aws:ssm:{region}:{account}:parameter/{stage}/tenants/{tenant}/*',
    'arn:aws:secretsmanager:{region}:{account}:secret:{stage}/tenants/{tenant}/*',
    'arn:aws:dynamodb:{region}:{account}:table/sovereign-{stage}-{tenant}',
    'arn:aws:dynamodb:{region}:{account}:table/sovereign-{stage}-{tenant}/index/*',
  ])('accepts %s', (resource) => {
    expect(resourceScopeProblem(resource)).toBeUndefined();
  });

  it.each([
    ['*', /every tenant/],
    ['arn:aws:dynamodb:*:*:table/*', /does not contain \{tenant\}/],
    ['arn:aws:ssm:{region}:{account}:parameter/*/tenants/{tenant}/x', /wildcard before \{tenant\}/],
    ['arn:aws:ssm:{region}:{account}:parameter/{stage}/tenants/{tenant}*', /right after \{tenant\}/],
    ['arn:aws:secretsmanager:{region}:{account}:secret:avalara-{tenant}-*', /right after \{tenant\}/],
    ['arn:aws:ssm:{region}:{tenant}:parameter/x', /outside the resource part/],
    ['arn:aws:ssm:{region}:{account}:parameter/{tennant}/x', /unknown placeholder \{tennant\}/],
  ])('refuses %s', (resource, message) => {
    expect(resourceScopeProblem(resource)).toMatch(message);
  });
});

describe('routePathProblems', () => {
  it('accepts parameters and refuses malformed paths', () => {
    expect(routePathProblems('/orders/{id}/lines')).toEqual([]);
    expect(routePathProblems('/')).toEqual([]);
    expect(routePathProblems('orders')).toEqual(['path "orders" must start with "/"']);
    expect(routePathProblems('/a//b')).toEqual(['path "/a//b" has an empty segment']);
    expect(routePathProblems('/a/{id}/{id}')).toEqual(['path "/a/{id}/{id}" repeats the parameter {id}']);
    expect(routePathProblems('/a/')).toEqual(['path "/a/" must not end with "/"']);
    expect(routePathProblems('/a/b c')[0]).toMatch(/segment "b c"/);
  });
});

describe('validateManifest: schedules', () => {
  const withSchedules = (schedules: unknown) => ({ ...base(), schedules });

  it('accepts rate and cron schedules and turns them on by default', () => {
    const result = validateManifest(withSchedules([{ name: 'sync', expression: 'rate(15 minutes)', handler: 'ping', payload: { full: false } }, { name: 'nightly', expression: 'cron(0 2 * * ? *)', handler: 'ping', enabled: false }]), { folderName: 'avalara' });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.manifest.schedules.map((s) => [s.name, s.enabled])).toEqual([['sync', true], ['nightly', false]]);
  });

  it('names the schedule field and says how to write a bad expression', () => {
    expect(problemsOf(withSchedules([{ name: 'sync', expression: 'rate(5 minute)', handler: 'ping' }]))).toEqual([
      'schedules[0].expression: "rate(5 minute)" uses the singular "minute" with 5 (write rate(5 minutes))',
    ]);
    expect(problemsOf(withSchedules([{ name: 'sync', expression: 'cron(0 12 * * * *)', handler: 'ping' }]))[0]).toMatch(/^schedules\[0\]\.expression: .*exactly one of them must be "\?" \(e\.g\. cron\(0 12 \* \* \? \*\)/);
  });

  it('refuses bad names, duplicates, unknown members, a payload that is not JSON or too large', () => {
    const problems = problemsOf(withSchedules([
      { name: 'Nightly', expression: 'rate(1 day)', handler: 'ping' },
      { name: 'sync', expression: 'rate(1 day)', handler: 'ping', timezone: 'Europe/Paris' },
      { name: 'big', expression: 'rate(1 day)', handler: 'ping', payload: 'x'.repeat(9000) },
      { name: 'fn', expression: 'rate(1 day)', handler: 'ping', payload: { f: 1n } },
    ]));
    expect(problems.join('\n')).toMatch(/schedules\[0\]\.name: name must be lower-case words/);
    expect(problems.join('\n')).toMatch(/schedules\[1\]: Unrecognized key: "timezone"/);
    expect(problems.join('\n')).toMatch(/schedules\[2\]\.payload: payload is 9002 characters as JSON; at most 8192/);
    expect(problems.join('\n')).toMatch(/schedules\[3\]\.payload: payload must be JSON/);
    expect(problemsOf(withSchedules([{ name: 'a', expression: 'rate(1 day)', handler: 'ping' }, { name: 'a', expression: 'rate(2 days)', handler: 'ping' }]))).toEqual(['schedules[1].name: "a" is declared twice']);
  });
});
