import { describe, expect, it } from 'vitest';
import { renderTenantPolicy, type PolicyDocument } from '../templates/policy.js';
import { isolationMatrix, type IsolationInputs } from './matrix.js';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';

const inputs = (override?: PolicyDocument): IsolationInputs => ({
  stage: 'prod',
  account: ACCOUNT,
  region: REGION,
  tenants: ['acme', 'acme-eu', 'beta'].map((id) => ({ id, extensions: [], ...(id === 'acme' && override ? { policyOverride: override } : {}) })),
});

describe('the isolation matrix and tenant functions', () => {
  it("proves no tenant's runtime may invoke another tenant's function (what runs its routes and schedules)", () => {
    const matrix = isolationMatrix(inputs());
    expect(matrix.crossTenantAllows).toBe(0);
    const cells = matrix.cells.filter((c) => c.kind === 'function');
    expect(cells.map((c) => `${c.subject}→${c.target} ${c.decision}`)).toEqual(['acme→acme-eu denied', 'acme→beta denied', 'acme-eu→acme denied', 'acme-eu→beta denied', 'beta→acme denied', 'beta→acme-eu denied']);
  });

  it('reports a policy that may invoke other tenants (a trailing wildcard) as ALLOWED', () => {
    const rendered = renderTenantPolicy({ tenant: 'acme', stage: 'prod', extensions: [], account: ACCOUNT, region: REGION });
    const wide: PolicyDocument = {
      ...rendered,
      Statement: [...rendered.Statement, { Sid: 'WideInvoke', Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: [`arn:aws:lambda:${REGION}:${ACCOUNT}:function:sovereign-prod-acme*`] }],
    } as PolicyDocument;
    const matrix = isolationMatrix(inputs(wide));
    expect(matrix.cells.filter((c) => c.kind === 'function' && c.decision === 'ALLOWED').map((c) => `${c.subject}→${c.target}`)).toEqual(['acme→acme-eu']);
  });
});
