import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloudFormationClient, ListStacksCommand } from '@aws-sdk/client-cloudformation';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import type { Cell } from '../../config.js';
import { cellSessions, REFRESH_BEFORE_MS, roleSessionName } from './cells.js';
import { openAwsSession } from './session.js';

const cell = (name: string, account: string, region: string, externalId?: string): Cell => ({
  name,
  account,
  region,
  deployRoleArn: `arn:aws:iam::${account}:role/sovereign-deploy`,
  capacity: { stacks: 2000, httpApis: 600, concurrency: 1000 },
  ...(externalId ? { externalId } : {}),
});
const CELLS = [cell('eu-1', '111111111111', 'eu-west-1', 'ext-eu'), cell('us-1', '222222222222', 'us-east-1')];

let sts: AwsClientStub<STSClient>;
let cfn: AwsClientStub<CloudFormationClient>;
let clock: number;
/** What each CloudFormation call was signed with and where it went. */
let seen: Array<{ accessKeyId: string; region: string; endpoint: string | undefined }>;

beforeEach(() => {
  clock = Date.parse('2026-12-08T00:00:00Z');
  let issued = 0;
  sts = mockClient(STSClient);
  sts.on(GetCallerIdentityCommand).resolves({ Account: '999999999999', Arn: 'arn:aws:sts::999999999999:assumed-role/ci/run', UserId: 'AROA:ci' });
  sts.on(AssumeRoleCommand).callsFake((input: { RoleArn: string; RoleSessionName: string }) => {
    const account = /::(\d{12}):/.exec(input.RoleArn)![1]!;
    issued += 1;
    return {
      Credentials: { AccessKeyId: `AKIA-${account}-${issued}`, SecretAccessKey: 'secret', SessionToken: 'token', Expiration: new Date(clock + 3600_000) },
      AssumedRoleUser: { Arn: `arn:aws:sts::${account}:assumed-role/sovereign-deploy/${input.RoleSessionName}`, AssumedRoleId: `AROA${account}:${input.RoleSessionName}` },
    };
  });
  seen = [];
  cfn = mockClient(CloudFormationClient);
  cfn.on(ListStacksCommand).callsFake(async (_input, getClient) => {
    const config = getClient().config;
    const credentials = await config.credentials();
    const endpoint = config.endpoint ? await config.endpoint() : undefined;
    seen.push({ accessKeyId: credentials.accessKeyId, region: await config.region(), endpoint: endpoint ? `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port ?? ''}` : undefined });
    return { StackSummaries: [] };
  });
});

afterEach(() => {
  sts.restore();
  cfn.restore();
});

function sessions(endpointUrl?: string) {
  const home = openAwsSession({ project: 'demo', stage: 'prod', globals: { region: 'eu-central-1', endpointUrl }, now: () => clock });
  return { home, ...cellSessions({ config: () => ({ cells: CELLS }), home: () => home }) };
}

describe('cell sessions', () => {
  it('each cell signs with its own assumed role in its own region; the home session keeps the home chain', async () => {
    const { home, sessionForRecord } = sessions();
    const eu = sessionForRecord({ id: 'acme', cell: { name: 'eu-1', account: '111111111111', region: 'eu-west-1' } }, 'tenant deploy');
    const us = sessionForRecord({ id: 'globex', cell: { name: 'us-1', account: '222222222222', region: 'us-east-1' } }, 'tenant deploy');
    expect(sessionForRecord({ id: 'initech' }, 'tenant deploy')).toBe(home);
    await eu.clients.cloudformation.send(new ListStacksCommand({}));
    await us.clients.cloudformation.send(new ListStacksCommand({}));
    expect(seen).toEqual([
      { accessKeyId: 'AKIA-111111111111-1', region: 'eu-west-1', endpoint: undefined },
      { accessKeyId: 'AKIA-222222222222-2', region: 'us-east-1', endpoint: undefined },
    ]);
    const calls = sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      { RoleArn: 'arn:aws:iam::111111111111:role/sovereign-deploy', RoleSessionName: 'sovereign-demo-tenant-deploy', DurationSeconds: 3600, ExternalId: 'ext-eu' },
      { RoleArn: 'arn:aws:iam::222222222222:role/sovereign-deploy', RoleSessionName: 'sovereign-demo-tenant-deploy', DurationSeconds: 3600 },
    ]);
    // AssumeRole is signed by the home session's STS client, in the home region.
    expect(await sts.commandCalls(AssumeRoleCommand)[0]!.thisValue.config.region()).toBe('eu-central-1');
    expect(await eu.identity()).toMatchObject({ account: '111111111111', arn: 'arn:aws:sts::111111111111:assumed-role/sovereign-deploy/sovereign-demo-tenant-deploy' });
    expect(sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(0);
  });

  it('assumes once per cell for the command, and again before the credentials expire', async () => {
    const { sessionForRecord } = sessions();
    const record = { id: 'acme', cell: { name: 'eu-1', account: '111111111111', region: 'eu-west-1' } };
    const eu = sessionForRecord(record, 'tenant deploy');
    expect(sessionForRecord(record, 'tenant deploy')).toBe(eu);
    await Promise.all([1, 2, 3].map(() => eu.clients.cloudformation.send(new ListStacksCommand({}))));
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    clock += 3600_000 - REFRESH_BEFORE_MS + 1000;
    await eu.clients.cloudformation.send(new ListStacksCommand({}));
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
    expect(seen.at(-1)!.accessKeyId).toBe('AKIA-111111111111-2');
  });

  it('honours the endpoint of --endpoint-url in every cell', async () => {
    const { sessionForRecord } = sessions('http://127.0.0.1:4566');
    const eu = sessionForRecord({ id: 'acme', cell: { name: 'eu-1', account: '111111111111', region: 'eu-west-1' } }, 'cells list');
    await eu.clients.cloudformation.send(new ListStacksCommand({}));
    expect(seen).toEqual([{ accessKeyId: 'AKIA-111111111111-1', region: 'eu-west-1', endpoint: 'http://127.0.0.1:4566' }]);
  });

  it('refuses a record whose cell the config now puts in another account, before any call', async () => {
    const { sessionForRecord } = sessions();
    expect(() => sessionForRecord({ id: 'acme', cell: { name: 'eu-1', account: '333333333333', region: 'eu-west-1' } }, 'tenant deploy')).toThrow(
      /cell eu-1 is declared in account 111111111111, region eu-west-1, but tenant "acme" lives in account 333333333333, region eu-west-1/,
    );
    expect(() => sessionForRecord({ id: 'acme', cell: { name: 'gone', account: '111111111111', region: 'eu-west-1' } }, 'tenant deploy')).toThrow(/which sovereign.config.json no longer declares/);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  it('refuses an AssumeRole answer for another account than the cell, and sends nothing with it', async () => {
    sts.on(AssumeRoleCommand).resolves({
      Credentials: { AccessKeyId: 'AKIA-OTHER', SecretAccessKey: 's', SessionToken: 't', Expiration: new Date(clock + 3600_000) },
      AssumedRoleUser: { Arn: 'arn:aws:sts::444444444444:assumed-role/sovereign-deploy/x', AssumedRoleId: 'AROA' },
    });
    const { sessionForRecord } = sessions();
    const eu = sessionForRecord({ id: 'acme', cell: { name: 'eu-1', account: '111111111111', region: 'eu-west-1' } }, 'tenant deploy');
    await expect(eu.clients.cloudformation.send(new ListStacksCommand({}))).rejects.toThrow(/answered as arn:aws:sts::444444444444:.*not in the cell's account 111111111111/);
    expect(seen).toHaveLength(0);
  });

  it('names the role session within AssumeRole rules', () => {
    expect(roleSessionName('demo', 'tenant deploy')).toBe('sovereign-demo-tenant-deploy');
    expect(roleSessionName('a'.repeat(40), 'tenant destroy')).toHaveLength(64);
  });
});
