/**
 * The aws target's doctor checks (src/targets/aws/doctor.ts) with the real SDK clients under
 * aws-sdk-client-mock: region resolved or missing, STS answering with an account, or refusing for
 * missing, expired or denied credentials. test/doctor.e2e.test.ts runs the same checks through
 * the CLI against a real loopback STS endpoint.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAwsClients } from '../src/targets/aws/clients.js';
import { awsDoctor } from '../src/targets/aws/doctor.js';
import { createAwsTarget } from '../src/targets/aws/index.js';
import { openAwsSession } from '../src/targets/aws/session.js';
import { Output } from '../src/output/output.js';
import type { Project } from '../src/project.js';
import { projectPaths } from '../src/project.js';
import { awsError } from './aws-fakes.js';

const nowhere = join(mkdtempSync(join(tmpdir(), 'sovereign-aws-home-')), 'none');
let sts: AwsClientStub<STSClient>;

beforeEach(() => {
  // No region or profile from this machine: each test says what it has.
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_STS']) vi.stubEnv(name, undefined);
  vi.stubEnv('AWS_CONFIG_FILE', nowhere);
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', nowhere);
  sts = mockClient(STSClient);
  sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:sts::123456789012:assumed-role/deployer/ci', UserId: 'AROA:ci' });
});

afterEach(() => {
  sts.restore();
  vi.unstubAllEnvs();
});

const session = (globals: { region?: string; endpointUrl?: string }) => openAwsSession({ project: 'demo', stage: 'prod', clients: createAwsClients({ region: globals.region, endpoint: globals.endpointUrl }), globals });

describe('doctor on aws', () => {
  it('ok: the region and the account STS names', async () => {
    const checks = await awsDoctor(session({ region: 'eu-west-1' }));
    expect(checks).toEqual([
      { id: 'aws-region', status: 'ok', detail: 'region eu-west-1' },
      { id: 'aws-credentials', status: 'ok', detail: 'account 123456789012 as arn:aws:sts::123456789012:assumed-role/deployer/ci, stage prod' },
    ]);
    expect(sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(1);
  });

  it('says which endpoint it asked when one is set (flag or AWS_ENDPOINT_URL)', async () => {
    expect((await awsDoctor(session({ region: 'eu-west-1', endpointUrl: 'http://127.0.0.1:4566' })))[0]!.detail).toBe('region eu-west-1 (endpoint http://127.0.0.1:4566)');
    vi.stubEnv('AWS_ENDPOINT_URL', 'http://127.0.0.1:4567');
    expect((await awsDoctor(session({ region: 'eu-west-1' })))[0]!.detail).toBe('region eu-west-1 (endpoint http://127.0.0.1:4567)');
  });

  it('takes the region from AWS_REGION as every command does', async () => {
    vi.stubEnv('AWS_REGION', 'ap-southeast-2');
    expect((await awsDoctor(session({})))[0]).toEqual({ id: 'aws-region', status: 'ok', detail: 'region ap-southeast-2' });
  });

  it('fail without a region, naming --region and AWS_REGION, and STS is not asked', async () => {
    const [region, credentials] = await awsDoctor(session({}));
    expect(region).toMatchObject({ id: 'aws-region', status: 'fail', detail: 'no AWS region is set' });
    expect(region!.fix).toContain('--region');
    expect(region!.fix).toContain('AWS_REGION');
    expect(region!.docs).toBe('docs/troubleshooting.md#error-no-aws-region-is-set-exit-2--error-no-usable-aws-credentials-exit-5');
    expect(credentials).toMatchObject({ id: 'aws-credentials', status: 'warn' });
    expect(sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(0);
  });

  it('fail without usable credentials, naming --profile', async () => {
    for (const error of [awsError('CredentialsProviderError', 'Could not load credentials from any providers'), awsError('ExpiredToken', 'The security token included in the request is expired')]) {
      sts.on(GetCallerIdentityCommand).rejects(error);
      const [, credentials] = await awsDoctor(session({ region: 'eu-west-1' }));
      expect(credentials).toMatchObject({ id: 'aws-credentials', status: 'fail' });
      expect(credentials!.detail).toContain('no usable AWS credentials');
      expect(credentials!.fix).toContain('--profile');
    }
  });

  it('fail when the credentials may not call STS, saying so', async () => {
    sts.on(GetCallerIdentityCommand).rejects(awsError('AccessDenied', 'User is not authorized to perform: sts:GetCallerIdentity', 403));
    const [, credentials] = await awsDoctor(session({ region: 'eu-west-1' }));
    expect(credentials).toMatchObject({ id: 'aws-credentials', status: 'fail' });
    expect(credentials!.detail).toContain('AWS denied');
  });

  it('is the aws target\'s doctor hook (Target.doctor)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sovereign-aws-doctor-'));
    const project = { root, config: { project: 'demo', target: 'aws' }, paths: projectPaths(root) } as unknown as Project;
    const out = new Output({ json: true, color: false, verbose: false, interactive: false });
    const target = createAwsTarget({ project: () => project, globals: { stage: 'dev', region: 'us-east-2', profile: undefined, endpointUrl: undefined }, out, confirm: async () => false });
    const checks = await target.doctor({ port: undefined });
    expect(checks.map((c) => [c.id, c.status])).toEqual([['aws-region', 'ok'], ['aws-credentials', 'ok']]);
  });
});
