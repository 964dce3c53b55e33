import { CreateChangeSetCommand, DeleteChangeSetCommand, DescribeStacksCommand, ExecuteChangeSetCommand } from '@aws-sdk/client-cloudformation';
import { beforeEach, describe, expect, it } from 'vitest';
import { awsError, FakeCloudFormation, instantSleep, plainTenantTemplate } from '../../../test/aws-fakes.js';
import type { Tier } from '../../templates/tiers.js';
import { createAwsClients, type AwsClients } from './clients.js';
import { retierTenantStack, type RetierTenantStackOptions } from './retier.js';

const STACK = 'sovereign-prod-acme';

function template(tier: Tier) {
  return plainTenantTemplate('shop', 'prod', 'acme', tier, 'e'.repeat(64));
}

let clients: AwsClients;
let cfn: FakeCloudFormation;
let lines: string[];

beforeEach(() => {
  clients = createAwsClients({ region: 'eu-west-1' });
  cfn = new FakeCloudFormation(clients.cloudformation);
  lines = [];
});

function deployed(resources: Record<string, unknown> = template('standard').Resources) {
  const stack = cfn.seed(STACK, 'UPDATE_COMPLETE', JSON.parse(JSON.stringify(resources)) as Record<string, unknown>);
  stack.body = JSON.stringify(template('standard'));
  return stack;
}

function options(overrides: Partial<RetierTenantStackOptions> = {}): RetierTenantStackOptions {
  return { cfn: clients.cloudformation, sleep: instantSleep().sleep, project: 'shop', stage: 'prod', tenant: 'acme', tier: 'basic', log: (line) => void lines.push(line), ...overrides };
}

describe('retierTenantStack', () => {
  it('sends no tags when the stack has none (it keeps its own) and keeps existing parameters at their previous values', async () => {
    const stack = deployed();
    cfn.mock.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackId: stack.id, StackName: STACK, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(0), Parameters: [{ ParameterKey: 'Extra', ParameterValue: '****' }] }],
    });
    cfn.mock.on(CreateChangeSetCommand).rejects(awsError('ValidationError', 'Parameters: [Extra] do not exist in the template'));
    const result = await retierTenantStack(options());
    expect(result).toMatchObject({ redeployed: false, reason: expect.stringContaining(`creating a change set for ${STACK} failed (ValidationError)`) });
    expect((result as { reason: string }).reason).not.toContain('do not exist');
    const input = cfn.mock.commandCalls(CreateChangeSetCommand)[0]!.args[0].input;
    expect(input.Tags).toBeUndefined();
    expect(input.Parameters).toEqual([{ ParameterKey: 'Extra', UsePreviousValue: true }]);
    expect(input.Description).toBe('sovereign: tier basic');
  });

  it('does not execute a change set that touches more than the re-tiered resources (here: a drifted role)', async () => {
    const resources = JSON.parse(JSON.stringify(template('standard').Resources)) as Record<string, { Properties: Record<string, unknown> }>;
    resources.RuntimeRole!.Properties.Description = 'edited by hand';
    deployed(resources);
    const result = await retierTenantStack(options());
    expect(result).toMatchObject({ redeployed: false, reason: expect.stringContaining('would also Modify RuntimeRole') });
    expect(cfn.mock.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
    expect(cfn.mock.commandCalls(DeleteChangeSetCommand)).toHaveLength(1);
    expect(lines.join('\n')).toContain(`tier basic not applied to ${STACK}`);
  });

  it('applies the tier and reports completion when the update finishes in time', async () => {
    const stack = deployed();
    const result = await retierTenantStack(options({ tier: 'premium' }));
    expect(result).toMatchObject({ redeployed: true, redeploy: 'complete', stack: STACK, stackStatus: 'UPDATE_COMPLETE' });
    expect(JSON.parse(stack.body!)).toEqual(template('premium'));
  });

  it('declines a stack in a status an update cannot start from, and a template that is not JSON', async () => {
    const stack = deployed();
    stack.status = 'UPDATE_ROLLBACK_FAILED';
    expect(await retierTenantStack(options())).toMatchObject({ redeployed: false, reason: expect.stringContaining('is UPDATE_ROLLBACK_FAILED, not ready for an update') });
    stack.status = 'UPDATE_COMPLETE';
    stack.body = 'Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n';
    expect(await retierTenantStack(options())).toMatchObject({ redeployed: false, reason: expect.stringContaining('is not JSON, so sovereign did not write it') });
    expect(cfn.mock.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
  });
});
