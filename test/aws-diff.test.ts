import { beforeEach, describe, expect, it } from 'vitest';
import { CreateChangeSetCommand, DeleteChangeSetCommand, ExecuteChangeSetCommand } from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { ExitCode, UserError } from '../src/errors.js';
import type { DeployRecord } from '../src/state/registry.js';
import { renderControlPlaneStack } from '../src/templates/control-plane.js';
import { bootstrapControlPlane } from '../src/targets/aws/bootstrap.js';
import { formatChangeSummary } from '../src/targets/aws/changeset.js';
import { createAwsClients, type AwsClients } from '../src/targets/aws/clients.js';
import { diffTenantOnAws } from '../src/targets/aws/diff.js';
import { formatTenantDiff, templateSha256 } from '../src/targets/diff.js';
import { diffLocalDeploy } from '../src/targets/local/diff.js';
import { openAwsSession, type AwsSession } from '../src/targets/aws/session.js';
import { FakeCloudFormation } from './aws-fakes.js';

let clients: AwsClients;
let cfn: FakeCloudFormation;
let session: AwsSession;
let lines: string[];

const template = (memory: number) => ({
  Resources: {
    Table: { Type: 'AWS::DynamoDB::Table', Properties: {} },
    RuntimeRole: { Type: 'AWS::IAM::Role', Properties: {} },
    Function: { Type: 'AWS::Lambda::Function', Properties: { MemorySize: memory } },
  },
});

beforeEach(() => {
  clients = createAwsClients({ region: 'eu-west-1' });
  cfn = new FakeCloudFormation(clients.cloudformation);
  mockClient(clients.sts).on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/ops' });
  lines = [];
  session = openAwsSession({ project: 'demo', stage: 'dev', clients, sleep: async () => undefined, out: { info: (l) => void lines.push(l) } });
});

describe('tenant diff on aws', () => {
  it('without a stack: "would create" from the template, no change set made', async () => {
    const diff = await diffTenantOnAws({ session, tenant: 'acme', template: template(512), tags: {} });
    expect(diff).toMatchObject({ status: 'would-create', changed: true });
    expect(diff.summary!.changes.map((c) => `${c.action} ${c.logicalId}`)).toEqual(['Add Function', 'Add RuntimeRole', 'Add Table']);
    expect(cfn.mock.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
    expect(formatTenantDiff(diff)).toMatch(/^sovereign-dev-acme: would create — 3 to add, 0 to modify, 0 to remove/);
  });

  it('against a deployed stack: the change set\'s summary, and the change set deleted afterwards', async () => {
    cfn.seed('sovereign-dev-acme', 'UPDATE_COMPLETE', template(512).Resources);
    const diff = await diffTenantOnAws({ session, tenant: 'acme', template: template(1024), tags: {} });
    expect(diff).toMatchObject({ status: 'changes', changed: true });
    expect(diff.summary!.changes).toEqual([expect.objectContaining({ action: 'Modify', logicalId: 'Function', replacement: 'False' })]);
    expect(cfn.mock.commandCalls(DeleteChangeSetCommand)).toHaveLength(1);
    expect(cfn.mock.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
    expect(cfn.find('sovereign-dev-acme')!.changeSets.size).toBe(0);
    expect(lines[0]).toMatch(/^aws account 123456789012, region eu-west-1, stage dev/);
  });

  it('an unchanged stack is up to date (the empty change set is deleted too)', async () => {
    cfn.seed('sovereign-dev-acme', 'UPDATE_COMPLETE', template(512).Resources);
    const diff = await diffTenantOnAws({ session, tenant: 'acme', template: template(512), tags: {} });
    expect(diff).toEqual({ tenant: 'acme', target: 'aws', status: 'up-to-date', changed: false });
    expect(cfn.mock.commandCalls(DeleteChangeSetCommand)).toHaveLength(1);
  });

  it('a busy stack is exit 4', async () => {
    cfn.seed('sovereign-dev-acme', 'UPDATE_IN_PROGRESS', template(512).Resources);
    const error = (await diffTenantOnAws({ session, tenant: 'acme', template: template(512), tags: {} }).catch((e: unknown) => e)) as UserError;
    expect(error.exitCode).toBe(ExitCode.conflict);
  });
});

describe('tenant diff on local', () => {
  const deploy = (artifact: string, extensions: string[], outcome: 'success' | 'failure' = 'success'): DeployRecord => ({ at: '2026-01-01T00:00:00Z', by: 'me', target: 'local', artifact, extensions, outcome });

  it('compares the would-be artifact and extensions with the last successful deploy', () => {
    const next = { artifact: 'b'.repeat(64), extensions: ['avalara'], templateSha256: templateSha256(template(512)) };
    expect(diffLocalDeploy('acme', [], next)).toMatchObject({ status: 'would-create', changed: true });
    expect(diffLocalDeploy('acme', [deploy('b'.repeat(64), ['avalara'])], next)).toMatchObject({ status: 'up-to-date', changed: false });
    const changed = diffLocalDeploy('acme', [deploy('a'.repeat(64), []), deploy('b'.repeat(64), ['avalara'], 'failure')], next);
    expect(changed.status).toBe('changes');
    expect(changed.differences).toEqual([
      { what: 'artifact', deployed: 'a'.repeat(64), next: 'b'.repeat(64) },
      { what: 'extensions', deployed: '(none)', next: 'avalara' },
    ]);
  });

  it('the template hash is canonical: key order does not matter', () => {
    expect(templateSha256({ a: 1, b: { c: 2, d: 3 } })).toBe(templateSha256({ b: { d: 3, c: 2 }, a: 1 }));
    expect(templateSha256({ a: 1 })).not.toBe(templateSha256({ a: 2 }));
  });
});

describe('bootstrap', () => {
  it('deploys sovereign-<stage>-control-plane from the rendered template, then is a no-op', async () => {
    const first = await bootstrapControlPlane({ session, approve: async () => true });
    expect(first).toMatchObject({ outcome: 'created', stackName: 'sovereign-dev-control-plane', account: '123456789012', region: 'eu-west-1', stage: 'dev' });
    const body = JSON.parse(cfn.mock.commandCalls(CreateChangeSetCommand)[0]!.args[0].input.TemplateBody!) as unknown;
    expect(body).toEqual(renderControlPlaneStack({ project: 'demo', stage: 'dev' }));
    const second = await bootstrapControlPlane({ session, approve: async () => true });
    expect(second.outcome).toBe('unchanged');
    expect(cfn.mock.commandCalls(ExecuteChangeSetCommand)).toHaveLength(1);
  });
});
