import { describe, expect, it } from 'vitest';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { IAMClient, SimulateCustomPolicyCommand, type EvaluationResult } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { renderTenantPolicy, type PolicyDocument, type PolicyExtension } from '../src/templates/policy.js';
import { evaluatePolicies } from '../src/isolation/policy-eval.js';
import {
  formatIsolationMatrix,
  isolationMatrix,
  isolationRequests,
  isolationSubjects,
  stageKeyProbe,
  type IsolationInputs,
  type Probe,
} from '../src/isolation/matrix.js';
import { isolationMatrixOnAws, SIMULATION_BATCH } from '../src/targets/aws/isolation.js';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const TENANTS = ['acme', 'acme-eu', 'eu-acme', 'acme-eu-west', 'acm'];

const quotes: PolicyExtension = {
  name: 'quotes',
  permissions: [
    { actions: ['dynamodb:GetItem', 'dynamodb:PutItem'], resources: ['arn:aws:dynamodb:{region}:{account}:table/sovereign-{stage}-{tenant}-quotes'] },
    { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::demo-{stage}-exports/{tenant}/*'] },
  ],
};

function inputs(overrides: Partial<Record<string, PolicyDocument>> = {}): IsolationInputs {
  return {
    stage: 'dev',
    account: ACCOUNT,
    region: REGION,
    tenants: TENANTS.map((id, i) => ({
      id,
      extensions: i % 2 === 0 ? [quotes] : [],
      references: [`ssm:/dev/tenants/${id}/quotes/api_key`, `secretsmanager:dev/tenants/${id}/quotes:token`],
      ...(overrides[id] ? { policyOverride: overrides[id] } : {}),
    })),
  };
}

/** acm's policy widened by a trailing wildcard: matches acme, acme-eu and acme-eu-west. */
function overBroad(): PolicyDocument {
  const policy = renderTenantPolicy({ tenant: 'acm', stage: 'dev', extensions: [], account: ACCOUNT, region: REGION });
  return {
    ...policy,
    Statement: policy.Statement.map((s) =>
      s.Sid === 'RuntimeTable' ? { ...s, Resource: [`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/sovereign-dev-acm*`] } : s.Sid === 'RuntimeParameters' ? { ...s, Resource: [`arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/dev/tenants/acm*`] } : s,
    ),
  };
}

async function simulate(policy: PolicyDocument, probe: Probe): Promise<'allowed' | 'denied'> {
  const answer = await runSimulation(
    {
      request: { principal: `arn:aws:iam::${ACCOUNT}:role/sovereign-dev-x-runtime`, action: probe.action, resource: { resource: probe.resource, accountId: ACCOUNT }, contextVariables: probe.context ?? {} },
      identityPolicies: [{ name: 'runtime', policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (answer.resultType === 'error') throw new Error(`iam-simulate refused ${probe.action} on ${probe.resource}: ${answer.errors.message}`);
  return answer.overallResult === 'Allowed' ? 'allowed' : 'denied';
}

describe('isolation matrix (offline)', () => {
  it('five hyphenated, prefix-sharing tenants: every cross-tenant request is denied and each tenant reaches its own resources', () => {
    const matrix = isolationMatrix(inputs());
    expect(matrix.crossTenantAllows).toBe(0);
    expect(matrix.ownDenied).toEqual([]);
    // 5 × 4 pairs, each with parameters, secrets, table, logs (+ extension resources of 3 tenants), plus the stage key
    const pairs = new Set(matrix.cells.filter((c) => c.target !== '*').map((c) => `${c.subject}>${c.target}`));
    expect(pairs.size).toBe(20);
    expect(matrix.cells.filter((c) => c.kind === 'extension').map((c) => c.target).sort()).toEqual(
      expect.arrayContaining(['acme', 'eu-acme', 'acm']),
    );
    expect(matrix.cells.filter((c) => c.kind === 'stage-key')).toHaveLength(5);
    expect(matrix.checked).toBeGreaterThan(700);
    const text = formatIsolationMatrix(matrix);
    expect(text.split('\n')[0]).toMatch(/^policy \\ resources of\s+acme\s+acme-eu\s+eu-acme\s+acme-eu-west\s+acm\s+stage key$/);
    expect(text).not.toMatch(/ALLOWED/);
  });

  it('catches an over-broad policy fixture: acm* reaches acme, acme-eu and acme-eu-west but not eu-acme', () => {
    const matrix = isolationMatrix(inputs({ acm: overBroad() }));
    expect(matrix.crossTenantAllows).toBeGreaterThan(0);
    const leaks = matrix.cells.filter((c) => c.decision === 'ALLOWED').map((c) => `${c.subject}>${c.target}:${c.kind}`).sort();
    expect(leaks).toEqual([
      'acm>acme-eu-west:parameters', 'acm>acme-eu-west:table',
      'acm>acme-eu:parameters', 'acm>acme-eu:table',
      'acm>acme:extension', 'acm>acme:parameters', 'acm>acme:table',
    ]);
    expect(formatIsolationMatrix(matrix)).toMatch(/acm → acme table: dynamodb:\w+ on arn:aws:dynamodb:eu-west-1:123456789012:table\/sovereign-dev-acme/);
  });

  it('--tenant keeps the rows and columns of one tenant', () => {
    const matrix = isolationMatrix(inputs(), { only: 'acme-eu' });
    expect(new Set(matrix.cells.filter((c) => c.target !== '*').map((c) => (c.subject === 'acme-eu' ? c.target : c.subject)))).toEqual(new Set(['acme', 'eu-acme', 'acme-eu-west', 'acm']));
    expect(matrix.cells.every((c) => c.subject === 'acme-eu' || c.target === 'acme-eu')).toBe(true);
  });

  it('the offline evaluator agrees with @cloud-copilot/iam-simulate on every request of the matrix, the over-broad fixture included', async () => {
    const subjects = isolationSubjects(inputs({ acm: overBroad() }));
    const requests = isolationRequests(subjects, { stageKey: stageKeyProbe({ stage: 'dev', account: ACCOUNT, region: REGION }) });
    let compared = 0;
    let allowedSeen = 0;
    const disagreements: string[] = [];
    for (const subject of subjects) {
      for (const probe of requests.get(subject.tenant) ?? []) {
        const ours = evaluatePolicies([subject.policy], probe.action, probe.resource, probe.context ?? {}) === 'allowed' ? 'allowed' : 'denied';
        const theirs = await simulate(subject.policy, probe);
        compared += 1;
        if (ours === 'allowed') allowedSeen += 1;
        if (ours !== theirs) disagreements.push(`${subject.tenant} ${probe.action} ${probe.resource}: ours ${ours}, iam-simulate ${theirs}`);
      }
    }
    expect(disagreements).toEqual([]);
    expect(compared).toBeGreaterThan(700);
    expect(allowedSeen).toBeGreaterThan(20); // own resources and the fixture's leaks: the comparison covers both outcomes
  });
});

describe('isolation matrix on aws (IAM SimulateCustomPolicy, mocked)', () => {
  it('batches resources, follows Marker pages, and gives the same matrix as the offline evaluator', async () => {
    const iam = new IAMClient({ region: 'us-east-1' });
    const mock = mockClient(iam);
    const pages = new Map<string, EvaluationResult[]>();
    let batches = 0;
    mock.on(SimulateCustomPolicyCommand).callsFake(async (input: { PolicyInputList: string[]; ActionNames: string[]; ResourceArns: string[]; Marker?: string; ContextEntries?: Array<{ ContextKeyName: string; ContextKeyValues: string[] }> }) => {
      if (input.Marker) {
        const rest = pages.get(input.Marker)!;
        return { EvaluationResults: rest, IsTruncated: false };
      }
      batches += 1;
      expect(input.ResourceArns.length).toBeLessThanOrEqual(SIMULATION_BATCH);
      const policy = JSON.parse(input.PolicyInputList[0]!) as PolicyDocument;
      const context = Object.fromEntries((input.ContextEntries ?? []).map((e) => [e.ContextKeyName, e.ContextKeyValues]));
      const results: EvaluationResult[] = [];
      for (const action of input.ActionNames) {
        for (const resource of input.ResourceArns) {
          const decision = await simulate(policy, { owner: '', kind: 'table', action, resource, context });
          results.push({ EvalActionName: action, EvalResourceName: resource, EvalDecision: decision === 'allowed' ? 'allowed' : 'implicitDeny' });
        }
      }
      const half = Math.ceil(results.length / 2);
      const marker = `m${batches}`;
      pages.set(marker, results.slice(half));
      return { EvaluationResults: results.slice(0, half), IsTruncated: results.length > half, Marker: marker };
    });
    const fixture = inputs({ acm: overBroad() });
    const onAws = await isolationMatrixOnAws(iam, fixture, { sleep: async () => undefined });
    const offline = isolationMatrix(fixture);
    expect(onAws.evaluator).toBe('iam:SimulateCustomPolicy');
    expect({ ...onAws, evaluator: 'offline' }).toEqual(offline);
    expect(mock.commandCalls(SimulateCustomPolicyCommand).some((c) => c.args[0].input.Marker !== undefined)).toBe(true);
  });

  it('a request IAM does not answer is not counted as denied', async () => {
    const iam = new IAMClient({ region: 'us-east-1' });
    mockClient(iam).on(SimulateCustomPolicyCommand).resolves({ EvaluationResults: [], IsTruncated: false });
    const matrix = await isolationMatrixOnAws(iam, inputs(), { sleep: async () => undefined });
    expect(matrix.crossTenantAllows).toBeGreaterThan(0);
  });
});
