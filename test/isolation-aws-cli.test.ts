import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IAMClient, SimulateCustomPolicyCommand, type EvaluationResult } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { mockClient } from 'aws-sdk-client-mock';
import { run } from '../src/cli.js';
import { newTenantRecord } from '../src/tenants/tenants.js';
import { FakeDocumentTables } from './aws-fakes.js';

const TENANTS = ['acme', 'acme-eu', 'eu-acme'];
let stdout: string;
let stderr: string;
let project: string;
let mocks: Array<{ restore(): void }>;
const seen: { accounts: Set<string>; regions: Set<string>; calls: number } = { accounts: new Set(), regions: new Set(), calls: 0 };

beforeEach(async () => {
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  project = mkdtempSync(join(tmpdir(), 'sovereign-iso-aws-'));
  writeFileSync(join(project, 'sovereign.config.json'), JSON.stringify({ project: 'demo', region: 'eu-central-1' }));
  const sts = mockClient(STSClient);
  sts.on(GetCallerIdentityCommand).resolves({ Account: '210987654321', Arn: 'arn:aws:iam::210987654321:user/auditor' });
  // The registry, wherever it is read from: local files (created below) or the aws control-plane table.
  const db = new FakeDocumentTables();
  for (const id of TENANTS) {
    db.table('sovereign_dev_tenants').set(FakeDocumentTables.key('demo#tenant', id), { pk: 'demo#tenant', sk: id, version: 1, record: newTenantRecord({ id, tier: 'basic', stage: 'dev', extensions: [], by: 'x', now: '2026-01-01T00:00:00.000Z' }) });
  }
  const docs = mockClient(DynamoDBDocumentClient);
  db.serve(docs);
  const iam = mockClient(IAMClient);
  seen.accounts.clear();
  seen.regions.clear();
  seen.calls = 0;
  iam.on(SimulateCustomPolicyCommand).callsFake(async (input: { PolicyInputList: string[]; ActionNames: string[]; ResourceArns: string[] }) => {
    seen.calls += 1;
    const policy = JSON.parse(input.PolicyInputList[0]!) as unknown;
    const results: EvaluationResult[] = [];
    for (const action of input.ActionNames) {
      for (const resource of input.ResourceArns) {
        seen.accounts.add(resource.split(':')[4]!);
        seen.regions.add(resource.split(':')[3]!);
        const answer = await runSimulation({ request: { principal: 'arn:aws:iam::210987654321:role/r', action, resource: { resource, accountId: '210987654321' }, contextVariables: {} }, identityPolicies: [{ name: 'p', policy }], serviceControlPolicies: [], resourceControlPolicies: [] }, {});
        const allowed = answer.resultType !== 'error' && answer.overallResult === 'Allowed';
        results.push({ EvalActionName: action, EvalResourceName: resource, EvalDecision: allowed ? 'allowed' : 'implicitDeny' });
      }
    }
    return { EvaluationResults: results, IsTruncated: false };
  });
  mocks = [sts, docs, iam];
  for (const id of TENANTS) expect(await run(['tenant', 'create', id, '--no-deploy', '--target', 'local', '-C', project])).toBe(0);
  stdout = '';
  stderr = '';
});

afterEach(() => {
  vi.restoreAllMocks();
  for (const mock of mocks) mock.restore();
});

describe('sovereign verify isolation --target aws (in process, IAM mocked by an IAM simulator)', () => {
  it('simulates every tenant policy in the caller\'s account and region and prints the matrix', async () => {
    expect(await run(['verify', 'isolation', '--target', 'aws', '--json', '-C', project])).toBe(0);
    const matrix = JSON.parse(stdout) as { evaluator: string; tenants: string[]; crossTenantAllows: number; ownDenied: unknown[]; cells: Array<{ allowed: unknown[] }> };
    expect(matrix.evaluator).toBe('iam:SimulateCustomPolicy');
    expect([...matrix.tenants].sort()).toEqual([...TENANTS].sort());
    expect(matrix.crossTenantAllows).toBe(0);
    expect(matrix.ownDenied).toEqual([]);
    expect(seen.calls).toBeGreaterThan(0);
    // every ARN names the caller's account and the configured region
    expect([...seen.accounts]).toEqual(['210987654321']);
    expect([...seen.regions]).toEqual(['eu-central-1']);
  });
});
