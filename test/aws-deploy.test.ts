import { mkdtempSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { CreateChangeSetCommand, DeleteChangeSetCommand, DeleteStackCommand, DescribeStackEventsCommand, ExecuteChangeSetCommand } from '@aws-sdk/client-cloudformation';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { ExitCode, UserError } from '../src/errors.js';
import type { LiveRow, LiveView } from '../src/output/live.js';
import { createAwsClients, type AwsClients } from '../src/targets/aws/clients.js';
import { deployStack, deployTenantToAws, uploadArtifact } from '../src/targets/aws/deploy.js';
import { getCallerIdentity } from '../src/targets/aws/identity.js';
import { openAwsSession } from '../src/targets/aws/session.js';
import { awsError, FakeCloudFormation, instantSleep } from './aws-fakes.js';

const STACK = 'sovereign-dev-acme';

function template(extra: Record<string, unknown> = {}, roleActions = ['dynamodb:GetItem']) {
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Resources: {
      Table: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: STACK } },
      RuntimeRole: { Type: 'AWS::IAM::Role', Properties: { Policies: [{ PolicyDocument: { Statement: [{ Action: roleActions }] } }] } },
      Function: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: STACK, Memory: 512 } },
      ...extra,
    },
  };
}

function recordingView(): LiveView & { rows: LiveRow[]; lines: string[] } {
  const rows: LiveRow[] = [];
  const lines: string[] = [];
  return { rows, lines, update: (row) => void rows.push(row), log: (line) => void lines.push(line), stop: async () => undefined };
}

let clients: AwsClients;
let cfn: FakeCloudFormation;
let timing: ReturnType<typeof instantSleep>;
let log: string[];

beforeEach(() => {
  clients = createAwsClients({ region: 'eu-west-1' });
  cfn = new FakeCloudFormation(clients.cloudformation);
  timing = instantSleep();
  log = [];
});

function options(overrides: Partial<Parameters<typeof deployStack>[0]> = {}): Parameters<typeof deployStack>[0] {
  return {
    cfn: clients.cloudformation,
    sleep: timing.sleep,
    stackName: STACK,
    template: template(),
    tags: { 'sovereign:tenant': 'acme', 'sovereign:stage': 'dev', 'sovereign:project': 'demo' },
    approve: async () => true,
    log: (line) => void log.push(line),
    ...overrides,
  };
}

describe('deploy through change sets', () => {
  it('creates a new stack: CREATE change set with named-IAM capability and tags, summary, execute, events to CREATE_COMPLETE', async () => {
    const view = recordingView();
    const questions: string[] = [];
    const result = await deployStack(options({ view, approve: async (q) => (questions.push(q), true) }));

    expect(result.outcome).toBe('created');
    const create = cfn.mock.commandCalls(CreateChangeSetCommand)[0]!.args[0].input;
    expect(create.ChangeSetType).toBe('CREATE');
    expect(create.Capabilities).toEqual(['CAPABILITY_NAMED_IAM']);
    expect(create.Tags).toContainEqual({ Key: 'sovereign:tenant', Value: 'acme' });
    // three resources over two change-set pages: all of them in the summary
    expect(result.summary!.changes.map((c) => `${c.action} ${c.logicalId}`)).toEqual(['Add Function', 'Add RuntimeRole', 'Add Table']);
    expect(result.summary!.iamBroadening).toBe(true);
    expect(questions).toHaveLength(1);
    expect(log.join('\n')).toMatch(/\+ RuntimeRole\s+AWS::IAM::Role\s+\(IAM: may grant more permissions\)/);
    expect(cfn.mock.commandCalls(ExecuteChangeSetCommand)).toHaveLength(1);
    expect(cfn.find(STACK)!.status).toBe('CREATE_COMPLETE');
    // every resource reached CREATE_COMPLETE in the view, the stack row last
    const final = new Map(view.rows.map((r) => [r.key, r.status]));
    expect(Object.fromEntries(final)).toEqual({ [STACK]: 'CREATE_COMPLETE', Table: 'CREATE_COMPLETE', RuntimeRole: 'CREATE_COMPLETE', Function: 'CREATE_COMPLETE' });
    // no event is shown twice although pages overlap between polls
    const shown = view.rows.map((r) => `${r.key}:${r.status}`);
    expect(new Set(shown).size).toBe(shown.length);
    expect(result.outputs).toEqual({ StackName: STACK });
  });

  it('reads DescribeStackEvents page by page until it reaches an event it has seen', async () => {
    clients = createAwsClients({ region: 'eu-west-1' });
    cfn = new FakeCloudFormation(clients.cloudformation, { eventsPageSize: 1 });
    const view = recordingView();
    await deployStack(options({ view }));
    expect(view.rows.map((r) => `${r.key}:${r.status}`)).toEqual([
      `${STACK}:CREATE_IN_PROGRESS`,
      'Table:CREATE_IN_PROGRESS', 'Table:CREATE_COMPLETE',
      'RuntimeRole:CREATE_IN_PROGRESS', 'RuntimeRole:CREATE_COMPLETE',
      'Function:CREATE_IN_PROGRESS', 'Function:CREATE_COMPLETE',
      `${STACK}:CREATE_COMPLETE`,
    ]);
    const eventCalls = cfn.mock.commandCalls(DescribeStackEventsCommand).map((c) => c.args[0].input);
    expect(eventCalls.some((input) => input.NextToken !== undefined)).toBe(true);
    // the follower never walks past the event it started from: at most one extra page per poll
    const polls = eventCalls.filter((input) => input.NextToken === undefined).length;
    expect(eventCalls.length).toBeLessThan(polls * 3);
  });

  it('reports an unchanged stack as up to date and deletes the empty change set', async () => {
    await deployStack(options());
    cfn.mock.resetHistory();
    const result = await deployStack(options());
    expect(result.outcome).toBe('unchanged');
    expect(log.at(-1)).toBe(`${STACK} is up to date`);
    expect(cfn.mock.commandCalls(DeleteChangeSetCommand)).toHaveLength(1);
    expect(cfn.mock.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
    expect(cfn.find(STACK)!.changeSets.size).toBe(0);
  });

  it('updates without asking when no IAM resource changes', async () => {
    await deployStack(options());
    let asked = 0;
    const result = await deployStack(
      options({
        template: template({ Function: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: STACK, Memory: 1024 } } }),
        approve: async () => (asked += 1) > 0,
      }),
    );
    expect(result.outcome).toBe('updated');
    expect(result.summary!.changes).toEqual([expect.objectContaining({ action: 'Modify', logicalId: 'Function', iamBroadening: false })]);
    expect(asked).toBe(0);
    expect(cfn.find(STACK)!.status).toBe('UPDATE_COMPLETE');
  });

  it('an IAM-broadening update that is not approved deletes the change set and changes nothing', async () => {
    await deployStack(options());
    cfn.mock.resetHistory();
    const error = await deployStack(options({ template: template({}, ['dynamodb:GetItem', 'dynamodb:Scan']), approve: async () => false })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toMatch(/IAM change was not approved/);
    expect(cfn.mock.commandCalls(DeleteChangeSetCommand)).toHaveLength(1);
    expect(cfn.mock.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
    expect(cfn.find(STACK)!.status).toBe('CREATE_COMPLETE');
  });

  it('without a terminal to ask (the confirmation throws exit 2 naming --yes) the change set is still deleted', async () => {
    const refuse = async () => {
      throw new UserError('needs confirmation', { exitCode: ExitCode.badInput, hint: 'pass --yes' });
    };
    const error = (await deployStack(options({ approve: refuse })).catch((e: unknown) => e)) as UserError;
    expect(error.exitCode).toBe(ExitCode.badInput);
    expect(cfn.mock.commandCalls(DeleteChangeSetCommand)).toHaveLength(1);
    // the stack that existed only for the change set is gone too
    expect(cfn.mock.commandCalls(DeleteStackCommand)).toHaveLength(1);
    expect(cfn.mock.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
  });

  it('a failed create names the first failed resource and its reason, exit 1', async () => {
    cfn.failures.set('RuntimeRole', 'Resource handler returned message: "Role name already exists"');
    const view = recordingView();
    const error = (await deployStack(options({ view })).catch((e: unknown) => e)) as UserError;
    expect(error).toBeInstanceOf(UserError);
    expect(error.exitCode).toBe(ExitCode.failed);
    expect(error.message).toBe(`deploy of ${STACK} failed: RuntimeRole (AWS::IAM::Role) CREATE_FAILED: Resource handler returned message: "Role name already exists"`);
    expect(error.hint).toMatch(/next deploy deletes it/);
    expect(cfn.find(STACK)!.status).toBe('ROLLBACK_COMPLETE');
    expect(view.rows.find((r) => r.status === 'CREATE_FAILED')).toMatchObject({ key: 'RuntimeRole', tone: 'fail' });
  });

  it('the next deploy after a failed create deletes the ROLLBACK_COMPLETE stack and creates it again', async () => {
    cfn.failures.set('Function', 'bad code');
    await deployStack(options()).catch(() => undefined);
    const oldId = cfn.find(STACK)!.id;
    cfn.mock.resetHistory();
    const result = await deployStack(options());
    expect(result.recovered).toBe(true);
    expect(result.outcome).toBe('created');
    expect(cfn.mock.commandCalls(DeleteStackCommand)[0]!.args[0].input.StackName).toBe(oldId);
    expect(cfn.mock.commandCalls(CreateChangeSetCommand)[0]!.args[0].input.ChangeSetType).toBe('CREATE');
    expect(log.some((l) => /ROLLBACK_COMPLETE after a failed create; deleting it/.test(l))).toBe(true);
    expect(cfn.find(STACK)!.status).toBe('CREATE_COMPLETE');
  });

  it('a failed update rolls back and says the stack is at its previous version', async () => {
    await deployStack(options());
    cfn.failures.set('Function', 'Memory too high');
    const error = (await deployStack(options({ template: template({ Function: { Type: 'AWS::Lambda::Function', Properties: { Memory: 99999 } } }) })).catch((e: unknown) => e)) as UserError;
    expect(error.message).toMatch(/Function \(AWS::Lambda::Function\) UPDATE_FAILED: Memory too high/);
    expect(error.hint).toMatch(/previous version/);
    expect(cfn.find(STACK)!.status).toBe('UPDATE_ROLLBACK_COMPLETE');
    // and the stack can be updated again from there
    const again = await deployStack(options({ template: template({ Function: { Type: 'AWS::Lambda::Function', Properties: { Memory: 2048 } } }) }));
    expect(again.outcome).toBe('updated');
  });

  it('refuses a stack that is busy with exit 4', async () => {
    cfn.seed(STACK, 'UPDATE_IN_PROGRESS');
    const error = (await deployStack(options()).catch((e: unknown) => e)) as UserError;
    expect(error.exitCode).toBe(ExitCode.conflict);
    expect(cfn.mock.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
  });

  it('backs off and retries when CloudFormation throttles', async () => {
    cfn.throttle.set('CreateChangeSet', 2);
    cfn.throttle.set('DescribeStackEvents', 1);
    const notes: string[] = [];
    const result = await deployStack(options({ onThrottled: (m) => void notes.push(m) }));
    expect(result.outcome).toBe('created');
    expect(cfn.mock.commandCalls(CreateChangeSetCommand)).toHaveLength(3);
    expect(notes.filter((n) => /throttled/.test(n))).toHaveLength(3);
  });

  it('gives up on throttling after the attempts run out, as a backend failure (exit 1)', async () => {
    cfn.throttle.set('CreateChangeSet', 100);
    const error = (await deployStack(options()).catch((e: unknown) => e)) as UserError;
    expect(error.exitCode).toBe(ExitCode.failed);
    expect(error.message).toMatch(/Rate exceeded/);
    expect(cfn.mock.commandCalls(CreateChangeSetCommand)).toHaveLength(8);
  });

  it('AccessDenied on CreateChangeSet is exit 5 with a hint', async () => {
    cfn.mock.on(CreateChangeSetCommand).rejects(awsError('AccessDenied', 'User is not authorized to perform: cloudformation:CreateChangeSet', 403));
    const error = (await deployStack(options()).catch((e: unknown) => e)) as UserError;
    expect(error.exitCode).toBe(ExitCode.denied);
    expect(error.hint).toBeTruthy();
  });
});

describe('artifact upload and tenant deploy', () => {
  function artifactFile(): { sha256: string; path: string } {
    const dir = mkdtempSync(join(tmpdir(), 'sovereign-aws-'));
    const path = join(dir, 'a.zip');
    const bytes = Buffer.from('zip bytes');
    writeFileSync(path, bytes);
    return { path, sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  it('uploads artifacts/<sha256>.zip only when HeadObject says it is absent', async () => {
    const s3 = mockClient(clients.s3);
    s3.on(HeadObjectCommand).rejectsOnce(awsError('NotFound', 'Not Found', 404)).resolves({});
    s3.on(PutObjectCommand).resolves({});
    const session = openAwsSession({ project: 'demo', stage: 'dev', clients, sleep: timing.sleep });
    const artifact = artifactFile();
    const first = await uploadArtifact(session, 'bucket', artifact);
    const second = await uploadArtifact(session, 'bucket', artifact);
    expect(first).toEqual({ bucket: 'bucket', key: `artifacts/${artifact.sha256}.zip`, uploaded: true });
    expect(second.uploaded).toBe(false);
    const puts = s3.commandCalls(PutObjectCommand);
    expect(puts).toHaveLength(1);
    expect(puts[0]!.args[0].input).toMatchObject({ Bucket: 'bucket', Key: `artifacts/${artifact.sha256}.zip`, ChecksumSHA256: Buffer.from(artifact.sha256, 'hex').toString('base64') });
  });

  it('deployTenantToAws prints account, region and stage first, finds the bucket from the control plane, uploads, deploys', async () => {
    const sts = mockClient(clients.sts);
    sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:sts::123456789012:assumed-role/deployer/ci', UserId: 'AROA:ci' });
    const s3 = mockClient(clients.s3);
    s3.on(HeadObjectCommand).rejects(awsError('NotFound', 'Not Found', 404));
    s3.on(PutObjectCommand).resolves({});
    cfn.seed('sovereign-dev-control-plane', 'CREATE_COMPLETE', {}, { ArtifactBucketName: 'sovereign-dev-artifacts-123456789012-eu-west-1' });
    const lines: string[] = [];
    const session = openAwsSession({ project: 'demo', stage: 'dev', clients, sleep: timing.sleep, out: { info: (l) => void lines.push(l) } });
    const result = await deployTenantToAws({ session, tenant: 'acme', template: template(), artifact: artifactFile(), tags: {}, approve: async () => true, log: (l) => void lines.push(l) });
    expect(result.outcome).toBe('created');
    expect(lines[0]).toBe('aws account 123456789012, region eu-west-1, stage dev (as arn:aws:sts::123456789012:assumed-role/deployer/ci)');
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.Bucket).toBe('sovereign-dev-artifacts-123456789012-eu-west-1');
    expect(result.artifact.uploaded).toBe(true);
  });

  it('without a control plane the tenant deploy stops with exit 3 and points at bootstrap', async () => {
    mockClient(clients.sts).on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/me' });
    const session = openAwsSession({ project: 'demo', stage: 'dev', clients, sleep: timing.sleep });
    const error = (await deployTenantToAws({ session, tenant: 'acme', template: template(), artifact: artifactFile(), tags: {}, approve: async () => true }).catch((e: unknown) => e)) as UserError;
    expect(error.exitCode).toBe(ExitCode.notFound);
    expect(error.hint).toMatch(/sovereign bootstrap/);
  });

  it('expired credentials are exit 5 before anything changes', async () => {
    mockClient(clients.sts).on(GetCallerIdentityCommand).rejects(awsError('ExpiredToken', 'The security token included in the request is expired', 400));
    const session = openAwsSession({ project: 'demo', stage: 'dev', clients, sleep: timing.sleep });
    const error = (await deployTenantToAws({ session, tenant: 'acme', template: template(), artifact: artifactFile(), tags: {}, approve: async () => true }).catch((e: unknown) => e)) as UserError;
    expect(error.exitCode).toBe(ExitCode.denied);
    expect(error.hint).toMatch(/aws sso login|--profile/);
    expect(cfn.mock.calls()).toHaveLength(0);
  });
});

describe('clients', () => {
  it('every client uses --endpoint-url when given, with adaptive retries', async () => {
    const custom = createAwsClients({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:4566' });
    for (const client of [custom.cloudformation, custom.s3, custom.sts, custom.iam, custom.dynamodb]) {
      const endpoint = await client.config.endpoint!();
      expect(`${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`).toBe('http://127.0.0.1:4566');
    }
    expect(await custom.cloudformation.config.region()).toBe('eu-west-1');
    expect(((await custom.cloudformation.config.retryStrategy()) as { mode?: string }).mode).toBe('adaptive');
    expect(await custom.cloudformation.config.maxAttempts()).toBe(8);
  });

  async function withStsServer(run: (url: string, hits: string[]) => Promise<void>): Promise<void> {
    const hits: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        hits.push(body);
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::000000000000:user/local</Arn><UserId>AIDLOCAL</UserId><Account>000000000000</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></GetCallerIdentityResponse>');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const saved = { ...process.env };
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    try {
      await run(`http://127.0.0.1:${port}`, hits);
    } finally {
      for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_ENDPOINT_URL']) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it('talks to the endpoint given as --endpoint-url (a loopback AWS-compatible server)', async () => {
    await withStsServer(async (url, hits) => {
      const custom = createAwsClients({ region: 'eu-west-1', endpoint: url });
      const identity = await getCallerIdentity(custom.sts);
      expect(identity).toEqual({ account: '000000000000', arn: 'arn:aws:iam::000000000000:user/local', userId: 'AIDLOCAL' });
      expect(hits[0]).toMatch(/Action=GetCallerIdentity/);
    });
  });

  it('without the flag the SDK honours AWS_ENDPOINT_URL itself', async () => {
    await withStsServer(async (url, hits) => {
      process.env.AWS_ENDPOINT_URL = url;
      const plain = createAwsClients({ region: 'eu-west-1' });
      expect((await getCallerIdentity(plain.sts)).account).toBe('000000000000');
      expect(hits).toHaveLength(1);
    });
  });
});

describe('large templates', () => {
  it('a template over 51,200 bytes goes through the artifact bucket (path-style URL on a custom endpoint)', async () => {
    const custom = createAwsClients({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:4566' });
    const fake = new FakeCloudFormation(custom.cloudformation);
    const s3 = mockClient(custom.s3);
    const stored = new Map<string, string>();
    s3.on(PutObjectCommand).callsFake(async (input: { Key: string; Body: string }) => (stored.set(input.Key, input.Body), {}));
    fake.templateByUrl = (url) => stored.get(url.replace('http://127.0.0.1:4566/bucket/', ''));
    const session = openAwsSession({ project: 'demo', stage: 'dev', clients: custom, sleep: async () => undefined });
    const { templateUploader } = await import('../src/targets/aws/deploy.js');
    const big = template({ Padding: { Type: 'AWS::CloudFormation::WaitConditionHandle', Properties: {}, Metadata: { filler: 'x'.repeat(60_000) } } });
    const result = await deployStack({ cfn: custom.cloudformation, sleep: async () => undefined, stackName: STACK, template: big, tags: {}, approve: async () => true, uploadTemplate: templateUploader(session, 'bucket') });
    expect(result.outcome).toBe('created');
    expect(result.summary!.changes.map((c) => c.logicalId)).toContain('Padding');
    const put = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(put.Key).toMatch(/^templates\/[0-9a-f]{64}\.json$/);
    const url = fake.mock.commandCalls(CreateChangeSetCommand)[0]!.args[0].input.TemplateURL;
    expect(url).toBe(`http://127.0.0.1:4566/bucket/${put.Key}`);
    expect(fake.mock.commandCalls(CreateChangeSetCommand)[0]!.args[0].input.TemplateBody).toBeUndefined();
  });
});
