import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CloudFormationClient, ExecuteChangeSetCommand } from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { run } from '../src/cli.js';
import { awsError, FakeCloudFormation } from './aws-fakes.js';

let stdout: string;
let stderr: string;
let project: string;
let cfn: FakeCloudFormation;
let sts: ReturnType<typeof mockClient>;

const realSetTimeout = globalThis.setTimeout;

beforeEach(() => {
  // CloudFormation is simulated: its polling waits need not last (no assertion depends on time).
  vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void) => realSetTimeout(fn, 0)) as unknown as typeof setTimeout);
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  project = mkdtempSync(join(tmpdir(), 'sovereign-aws-cli-'));
  writeFileSync(join(project, 'sovereign.config.json'), JSON.stringify({ project: 'demo', target: 'aws', region: 'eu-west-1' }));
  // Class-level mocks: the command creates its own clients from the global options.
  cfn = new FakeCloudFormation(CloudFormationClient);
  sts = mockClient(STSClient);
  sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:sts::123456789012:assumed-role/deployer/ci', UserId: 'AROA:ci' });
});

afterEach(() => {
  vi.restoreAllMocks();
  cfn.mock.restore();
  sts.restore();
});

describe('sovereign bootstrap (in process, mocked AWS)', () => {
  it('prints the target on stderr, creates the control plane, then reports it up to date', async () => {
    expect(await run(['bootstrap', '--json', '-C', project, '--stage', 'qa'])).toBe(0);
    expect(stderr).toMatch(/^aws account 123456789012, region eu-west-1, stage qa \(as arn:aws:sts::123456789012:assumed-role\/deployer\/ci\)$/m);
    const first = JSON.parse(stdout) as { outcome: string; stackName: string; account: string; changes: Array<{ logicalId: string }> };
    expect(first).toMatchObject({ outcome: 'created', stackName: 'sovereign-qa-control-plane', account: '123456789012' });
    expect(first.changes.map((c) => c.logicalId)).toContain('AuditTable');
    stdout = '';
    expect(await run(['bootstrap', '--json', '-C', project, '--stage', 'qa'])).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ outcome: 'unchanged' });
    expect(cfn.mock.commandCalls(ExecuteChangeSetCommand)).toHaveLength(1);
  });

  it('expired credentials: exit 5, one error line and a hint, nothing created', async () => {
    sts.on(GetCallerIdentityCommand).rejects(awsError('ExpiredToken', 'The security token included in the request is expired'));
    expect(await run(['bootstrap', '-C', project])).toBe(5);
    expect(stderr).toMatch(/^error: no usable AWS credentials while finding out who you are/m);
    expect(stderr).toMatch(/^hint: /m);
    expect(cfn.stacks.size).toBe(0);
  });

  it('a failed create: exit 1 naming the resource; the next bootstrap recovers', async () => {
    cfn.failures.set('SecretsKey', 'Key policy is invalid');
    expect(await run(['bootstrap', '-C', project])).toBe(1);
    expect(stderr).toMatch(/^error: deploy of sovereign-dev-control-plane failed: SecretsKey \(AWS::KMS::Key\) CREATE_FAILED: Key policy is invalid$/m);
    stdout = '';
    expect(await run(['bootstrap', '-C', project])).toBe(0);
    expect(stdout).toMatch(/Control plane sovereign-dev-control-plane created \(a failed earlier create was removed first\)/);
  });
});
