/**
 * Cells through the real CLI (in process) against several accounts: every AWS call is attributed
 * to the account of the credentials it was signed with and the region its client was made for,
 * and the tests assert where each one went.
 */
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { run } from '../src/cli.js';
import { awsError, FakeCloudFormation, FakeDocumentTables } from './aws-fakes.js';

const HOME = '123456789012';
const EU = { name: 'eu-1', account: '111111111111', region: 'eu-west-1', residency: 'eu', externalId: 'sovereign-demo-eu' };
const US = { name: 'us-1', account: '222222222222', region: 'us-east-1', residency: 'us' };
const cellOf = (c: { name: string; account: string; region: string; residency: string; externalId?: string }, over: Record<string, unknown> = {}) => ({
  ...c,
  deployRoleArn: `arn:aws:iam::${c.account}:role/sovereign-deploy`,
  ...over,
});

interface Place {
  service: string;
  command: string;
  account: string;
  region: string;
}

let stdout: string;
let stderr: string;
let project: string;
let places: Place[];
let mocks: Array<{ restore(): void }>;
/** One simulated CloudFormation per account, behind a client of its own (instance-mocked). */
let clouds: Map<string, FakeCloudFormation & { client: CloudFormationClient }>;
let db: FakeDocumentTables;
let sts: AwsClientStub<STSClient>;

const realSetTimeout = globalThis.setTimeout;

/** The account a client signs for (assumed keys name theirs; the home chain's is the home account) and its region. */
async function placeOf(client: { config: { credentials: () => Promise<{ accessKeyId: string }>; region: () => Promise<string> } }) {
  const { accessKeyId } = await client.config.credentials();
  return { account: /^AKIA-(\d{12})-/.exec(accessKeyId)?.[1] ?? (accessKeyId === 'AKIAHOME' ? HOME : `unknown:${accessKeyId}`), region: await client.config.region() };
}

/** Records where every call of a class-mocked client went, before its behaviour answers. */
function attribute<T extends AwsClientStub<any>>(service: string, stub: T): T {
  stub.send.callsFake(async function (this: any, command: any): Promise<any> {
    places.push({ service, command: command.constructor.name.replace(/Command$/, ''), ...(await placeOf(this)) });
    return behaviours.get(stub)!(command, this);
  });
  return stub;
}
const behaviours = new Map<AwsClientStub<any>, (command: any, client: any) => unknown>();

function writeConfig(cells: unknown[]): void {
  writeFileSync(join(project, 'sovereign.config.json'), JSON.stringify({ project: 'demo', target: 'aws', region: 'eu-central-1', cells }));
}

beforeEach(() => {
  vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void) => realSetTimeout(fn, 0)) as unknown as typeof setTimeout);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAHOME');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'home-secret');
  vi.stubEnv('AWS_PROFILE', '');
  stdout = '';
  stderr = '';
  places = [];
  mocks = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  project = mkdtempSync(join(tmpdir(), 'sovereign-aws-cells-'));
  writeConfig([cellOf(EU), cellOf(US)]);

  clouds = new Map();
  for (const account of [HOME, EU.account, US.account]) {
    const client = new CloudFormationClient({ region: 'us-east-1' });
    const fake = Object.assign(new FakeCloudFormation(client), { client });
    // Each cell was bootstrapped: its control plane names the cell's artifact bucket.
    fake.seed('sovereign-dev-control-plane', 'CREATE_COMPLETE', {}, { ArtifactBucketName: `artifacts-${account}` });
    clouds.set(account, fake);
    mocks.push(fake.mock);
  }
  const cfn = attribute('cloudformation', mockClient(CloudFormationClient));
  behaviours.set(cfn, async (command, client) => {
    const { account } = await placeOf(client);
    const fake = clouds.get(account);
    if (!fake) throw awsError('AccessDenied', `no such account ${account}`, 403);
    // The account's own client answers through its instance mock.
    return fake.client.send(command);
  });
  mocks.push(cfn);

  sts = mockClient(STSClient);
  let issued = 0;
  behaviours.set(sts, (command: { constructor: { name: string }; input: { RoleArn: string; RoleSessionName: string; ExternalId?: string } }) => {
    if (command.constructor.name === 'GetCallerIdentityCommand') return { Account: HOME, Arn: `arn:aws:sts::${HOME}:assumed-role/ci/run`, UserId: 'AROA:ci' };
    const account = /::(\d{12}):/.exec(command.input.RoleArn)![1]!;
    issued += 1;
    return {
      Credentials: { AccessKeyId: `AKIA-${account}-${issued}`, SecretAccessKey: 's', SessionToken: 't', Expiration: new Date(Date.now() + 3600_000) },
      AssumedRoleUser: { Arn: `arn:aws:sts::${account}:assumed-role/sovereign-deploy/${command.input.RoleSessionName}`, AssumedRoleId: 'AROA' },
    };
  });
  attribute('sts', sts);
  mocks.push(sts);

  db = new FakeDocumentTables();
  const docs = mockClient(DynamoDBDocumentClient);
  db.serve(docs);
  docsStub = docs;
  mocks.push(docs);

  const stored = new Set<string>();
  const s3 = mockClient(S3Client);
  behaviours.set(s3, (command: { constructor: { name: string }; input: { Bucket: string; Key: string } }) => {
    const key = `${command.input.Bucket}/${command.input.Key}`;
    if (command.constructor.name === 'HeadObjectCommand' && !stored.has(key)) throw awsError('NotFound', 'Not Found', 404);
    stored.add(key);
    return {};
  });
  attribute('s3', s3);
  mocks.push(s3);

  const lambda = mockClient(LambdaClient);
  behaviours.set(lambda, async (_command, client) => {
    const { account } = await placeOf(client);
    // 100 reserved in the EU cell's account already (another project's functions).
    return { AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: account === EU.account ? 900 : 1000 } };
  });
  attribute('lambda', lambda);
  mocks.push(lambda);

  const dynamodb = mockClient(DynamoDBClient);
  behaviours.set(dynamodb, () => ({ Table: { TableName: 'sovereign-dev-hanse', DeletionProtectionEnabled: false } }));
  attribute('dynamodb', dynamodb);
  mocks.push(dynamodb);
  const ssm = mockClient(SSMClient);
  behaviours.set(ssm, (command: { constructor: { name: string } }) => {
    if (command.constructor.name === 'GetParameterCommand') throw awsError('ParameterNotFound', 'not found');
    return { Version: 1, Parameters: [] };
  });
  attribute('ssm', ssm);
  mocks.push(ssm);
  const logs = mockClient(CloudWatchLogsClient);
  behaviours.set(logs, () => ({ events: [{ timestamp: Date.parse('2026-12-08T00:00:00Z'), message: JSON.stringify({ level: 'info', msg: 'served from the cell', time: '2026-12-08T00:00:00.000Z' }) }] }));
  attribute('logs', logs);
  mocks.push(logs);
  const kms = mockClient(KMSClient);
  behaviours.set(kms, () => {
    throw awsError('NotFoundException', 'Alias is not found.');
  });
  attribute('kms', kms);
  mocks.push(kms);
});

let docsStub: AwsClientStub<DynamoDBDocumentClient>;

/** Where the registry's calls went (the document client's calls, by the client that made them). */
async function registryPlaces(): Promise<string[]> {
  const all = await Promise.all(docsStub.calls().map((call) => placeOf(call.thisValue as any)));
  return [...new Set(all.map((p) => `${p.account} ${p.region}`))];
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  for (const m of mocks) m.restore();
});

const where = (service: string, command?: string) => places.filter((p) => p.service === service && (command === undefined || p.command === command));
const accountsOf = (list: Place[]) => [...new Set(list.map((p) => `${p.account} ${p.region}`))].sort();

describe('cells on aws (in process, several mocked accounts)', () => {
  it('places by residency or pin, records the cell, and keeps the registry at home', async () => {
    expect(await run(['tenant', 'create', 'hanse', '--residency', 'eu', '--no-deploy', '--json', '-C', project]), stderr).toBe(0);
    expect(JSON.parse(stdout).tenant.cell).toEqual({ name: 'eu-1', account: EU.account, region: EU.region });
    expect(stderr).toMatch(/^placing hanse in cell eu-1 \(account 111111111111, region eu-west-1\)$/m);
    stdout = '';
    expect(await run(['tenant', 'create', 'acme', '--cell', 'us-1', '--no-deploy', '--json', '-C', project]), stderr).toBe(0);
    expect(JSON.parse(stdout).tenant.cell).toEqual({ name: 'us-1', account: US.account, region: US.region });
    // Counted in each cell with its own assumed role; the ExternalId went with the EU role.
    expect(accountsOf(where('cloudformation', 'ListStacks'))).toEqual(['111111111111 eu-west-1', '222222222222 us-east-1']);
    expect(accountsOf(where('lambda', 'GetAccountSettings'))).toEqual(['111111111111 eu-west-1', '222222222222 us-east-1']);
    const assumed = sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input);
    expect(assumed).toContainEqual(expect.objectContaining({ RoleArn: 'arn:aws:iam::111111111111:role/sovereign-deploy', ExternalId: 'sovereign-demo-eu', RoleSessionName: 'sovereign-demo-tenant-create' }));
    expect(where('sts', 'AssumeRole').every((p) => p.account === HOME && p.region === 'eu-central-1')).toBe(true);
    expect(db.table('sovereign_dev_tenants').get(FakeDocumentTables.key('demo#tenant', 'hanse'))).toMatchObject({ record: { cell: { name: 'eu-1' } } });
    expect(await registryPlaces()).toEqual([`${HOME} eu-central-1`]);
    // The audit event of the create names the cell.
    const events = [...db.tables.values()].flatMap((t) => [...t.values()]).flatMap((item) => (typeof item.event === 'string' ? [JSON.parse(item.event) as { action: string; tenant: string; args: Record<string, unknown> }] : []));
    expect(events.find((e) => e.action === 'tenant.create' && e.tenant === 'hanse')?.args.cell).toEqual({ name: 'eu-1', account: EU.account, region: EU.region });
  });

  it('deploy, diff and destroy go to the tenant\'s cell only, printing its account, region and cell first', async () => {
    expect(await run(['tenant', 'create', 'hanse', '--residency', 'eu', '--no-deploy', '-C', project]), stderr).toBe(0);
    places = [];
    stderr = '';
    expect(await run(['tenant', 'deploy', 'hanse', '--yes', '--json', '-C', project]), stderr).toBe(0);
    expect(stderr).toMatch(/^aws account 111111111111, region eu-west-1, cell eu-1, stage dev \(as arn:aws:sts::111111111111:assumed-role\/sovereign-deploy\/sovereign-demo-tenant-deploy\)$/m);
    expect(clouds.get(EU.account)!.find('sovereign-dev-hanse')?.status).toBe('CREATE_COMPLETE');
    expect(clouds.get(US.account)!.find('sovereign-dev-hanse')).toBeUndefined();
    expect(clouds.get(HOME)!.find('sovereign-dev-hanse')).toBeUndefined();
    expect(accountsOf(where('cloudformation'))).toEqual(['111111111111 eu-west-1']);
    // The artifact goes to the cell's bucket; only the control plane's own reads stay at home.
    expect(accountsOf([...where('s3', 'HeadObject'), ...where('s3', 'PutObject')])).toEqual(['111111111111 eu-west-1']);
    expect(where('s3', 'PutObject')[0]).toBeDefined();

    places = [];
    stdout = '';
    expect(await run(['tenant', 'diff', 'hanse', '--exit-code', '--json', '-C', project]), stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ tenant: 'hanse', changed: false });
    expect(accountsOf(where('cloudformation'))).toEqual(['111111111111 eu-west-1']);

    places = [];
    expect(await run(['tenant', 'destroy', 'hanse', '--yes', '--json', '-C', project]), stderr).toBe(0);
    expect(where('cloudformation', 'DeleteStack').map((p) => `${p.account} ${p.region}`)).toEqual(['111111111111 eu-west-1']);
    // The stack, the table and the tenant's key are in the cell; the home KMS only signs the audit event.
    expect(accountsOf([...where('cloudformation'), ...where('dynamodb'), ...where('kms', 'DescribeKey')])).toEqual(['111111111111 eu-west-1']);
    expect(where('kms', 'DescribeKey')).not.toHaveLength(0);
    expect(where('kms').filter((p) => p.account === HOME).every((p) => p.command === 'GetPublicKey' || p.command === 'Sign')).toBe(true);
    expect(clouds.get(EU.account)!.find('sovereign-dev-hanse')?.status).toBe('DELETE_COMPLETE');
    expect(await registryPlaces()).toEqual([`${HOME} eu-central-1`]);
  }, 60_000);

  it('tenant deploy --all sends each tenant to its own cell', async () => {
    expect(await run(['tenant', 'create', 'hanse', '--cell', 'eu-1', '--no-deploy', '-C', project])).toBe(0);
    expect(await run(['tenant', 'create', 'acme', '--cell', 'us-1', '--no-deploy', '-C', project])).toBe(0);
    places = [];
    stdout = '';
    expect(await run(['tenant', 'deploy', '--all', '--yes', '--json', '-C', project]), stderr).toBe(0);
    expect(clouds.get(EU.account)!.find('sovereign-dev-hanse')?.status).toBe('CREATE_COMPLETE');
    expect(clouds.get(US.account)!.find('sovereign-dev-acme')?.status).toBe('CREATE_COMPLETE');
    expect(clouds.get(EU.account)!.find('sovereign-dev-acme')).toBeUndefined();
    expect(clouds.get(US.account)!.find('sovereign-dev-hanse')).toBeUndefined();
    const changeSets = where('cloudformation', 'CreateChangeSet').map((p) => `${p.account} ${p.region}`).sort();
    expect(changeSets).toEqual(['111111111111 eu-west-1', '222222222222 us-east-1']);
    // The fleet runs by cell: a summary per cell, and --cell deploys one cell only.
    const report = JSON.parse(stdout) as { cells: Array<{ name: string; ok: number }> };
    expect(report.cells.map((c) => [c.name, c.ok]).sort()).toEqual([['eu-1', 1], ['us-1', 1]]);
    stdout = '';
    places = [];
    expect(await run(['tenant', 'deploy', '--all', '--cell', 'us-1', '--yes', '--json', '-C', project]), stderr).toBe(0);
    expect((JSON.parse(stdout) as { tenants: Array<{ tenant: string; cell: string }> }).tenants.map((t) => [t.tenant, t.cell])).toEqual([['acme', 'us-1']]);
  }, 60_000);

  it('suspend sets the function\'s concurrency and the generation marker in the tenant\'s cell', async () => {
    expect(await run(['tenant', 'create', 'hanse', '--cell', 'eu-1', '--no-deploy', '-C', project])).toBe(0);
    // As a first deploy leaves it.
    (db.table('sovereign_dev_tenants').get(FakeDocumentTables.key('demo#tenant', 'hanse'))!.record as { status: string }).status = 'active';
    places = [];
    expect(await run(['tenant', 'suspend', 'hanse', '--yes', '-C', project]), stderr).toBe(0);
    expect(stderr).toMatch(/^aws account 111111111111, region eu-west-1, cell eu-1, stage dev /m);
    expect(accountsOf(where('lambda'))).toEqual(['111111111111 eu-west-1']);
    const markerWrites = docsStub.calls().filter((call) => JSON.stringify(call.args[0].input).includes('"sovereign-dev-hanse"'));
    expect(markerWrites).not.toHaveLength(0);
    const markerPlaces = await Promise.all(markerWrites.map((call) => placeOf(call.thisValue as any)));
    expect([...new Set(markerPlaces.map((p) => `${p.account} ${p.region}`))]).toEqual(['111111111111 eu-west-1']);
  });

  it('secrets put writes the value in the tenant\'s cell', async () => {
    expect(await run(['tenant', 'create', 'hanse', '--cell', 'eu-1', '--no-deploy', '-C', project])).toBe(0);
    places = [];
    const stdin = await import('node:stream').then(({ Readable }) => Readable.from(['s3cr3t-value']));
    vi.spyOn(process, 'stdin', 'get').mockReturnValue(stdin as unknown as typeof process.stdin);
    expect(await run(['secrets', 'put', 'ssm:/dev/tenants/hanse/billing/api_key', '--tenant', 'hanse', '--from-stdin', '--yes', '-C', project]), stderr).toBe(0);
    expect(where('ssm', 'PutParameter')).not.toHaveLength(0);
    expect(accountsOf(where('ssm'))).toEqual(['111111111111 eu-west-1']);
    expect(stderr).toMatch(/^aws account 111111111111, region eu-west-1, cell eu-1, stage dev/m);
  });

  it('tenant logs reads the log group in the tenant\'s cell', async () => {
    expect(await run(['tenant', 'create', 'hanse', '--cell', 'eu-1', '--no-deploy', '-C', project])).toBe(0);
    places = [];
    stdout = '';
    expect(await run(['tenant', 'logs', 'hanse', '-C', project]), stderr).toBe(0);
    expect(stdout).toContain('served from the cell');
    expect(accountsOf(where('logs'))).toEqual(['111111111111 eu-west-1']);
  });

  it('what does not work in cells yet is refused for a cell\'s tenant, not done in the home account', async () => {
    expect(await run(['tenant', 'create', 'hanse', '--cell', 'eu-1', '--no-deploy', '-C', project])).toBe(0);
    places = [];
    expect(await run(['verify', 'isolation', '-C', project])).toBe(2);
    expect(stderr).toMatch(/^error: `sovereign verify isolation` does not work in cells yet, and tenant "hanse" lives in cell eu-1$/m);
    expect(await run(['tenant', 'keys', 'list', 'hanse', '-C', project])).toBe(2);
    expect(where('cloudformation').concat(where('dynamodb'))).toEqual([]);
    // Refused means nothing happened: the record is not even marked as offboarding.
    stderr = '';
    expect(await run(['tenant', 'offboard', 'hanse', '--yes', '-C', project])).toBe(2);
    expect(stderr).toMatch(/^error: `sovereign tenant offboard` does not work in cells yet, and tenant "hanse" lives in cell eu-1$/m);
    stdout = '';
    expect(await run(['tenant', 'show', 'hanse', '--json', '-C', project]), stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ tenant: { status: 'provisioning' } });
  });

  it('cells list: each cell\'s tenants and utilisation, counted in the cell', async () => {
    expect(await run(['tenant', 'create', 'hanse', '--cell', 'eu-1', '--no-deploy', '-C', project])).toBe(0);
    stdout = '';
    expect(await run(['cells', 'list', '--json', '-C', project]), stderr).toBe(0);
    const { cells } = JSON.parse(stdout) as { cells: Array<{ name: string; tenants: string[]; used: Record<string, number>; utilisation: Record<string, number> }> };
    expect(cells.map((c) => [c.name, c.tenants, c.used])).toEqual([
      // hanse is registered, not deployed: its stack and reservation are counted from the registry.
      ['eu-1', ['hanse'], { stacks: 2, httpApis: 2, concurrency: 105 }],
      ['us-1', [], { stacks: 1, httpApis: 0, concurrency: 0 }],
    ]);
    expect(cells[0]!.utilisation.concurrency).toBeCloseTo(105 / 900);
    stdout = '';
    expect(await run(['cells', 'list', '-C', project])).toBe(0);
    expect(stdout).toMatch(/eu-1 +111111111111 +eu-west-1 +eu +1 +2\/2000 \(0 %\)/);
    expect(stdout).toMatch(/HTTP APIs by the registry/);
  });

  it('a config edited to point a cell at another account: the tenant\'s commands refuse, nothing reaches that account', async () => {
    expect(await run(['tenant', 'create', 'hanse', '--cell', 'eu-1', '--no-deploy', '-C', project])).toBe(0);
    writeConfig([cellOf({ ...EU, account: '333333333333' }), cellOf(US)]);
    places = [];
    stderr = '';
    expect(await run(['tenant', 'deploy', 'hanse', '--yes', '-C', project])).toBe(2);
    expect(stderr).toMatch(/^error: cell eu-1 is declared in account 333333333333, region eu-west-1, but tenant "hanse" lives in account 111111111111, region eu-west-1/m);
    expect(stderr).toMatch(/^hint: /m);
    expect(sts.commandCalls(AssumeRoleCommand).some((c) => c.args[0].input.RoleArn?.includes('333333333333'))).toBe(false);
    expect(where('cloudformation').filter((p) => p.account !== HOME)).toEqual([]);
    expect(await run(['tenant', 'diff', 'hanse', '-C', project])).toBe(2);
  });

  it('refuses a create no cell has room for, and writes nothing', async () => {
    writeConfig([cellOf(EU, { capacity: { stacks: 2 } }), cellOf(US)]);
    expect(await run(['tenant', 'create', 'hanse', '--residency', 'eu', '--no-deploy', '-C', project])).toBe(1);
    expect(stderr).toMatch(/^error: no cell with residency eu has room for tenant "hanse" below 80 % of each quota: eu-1 \(CloudFormation stacks 1 \+ 1 of 2\)$/m);
    expect(db.table('sovereign_dev_tenants').size).toBe(0);
    expect(await run(['tenant', 'create', 'hanse', '--residency', 'ap', '--no-deploy', '-C', project])).toBe(2);
    expect(stderr).toMatch(/^error: no cell has residency "ap"$/m);
  });

  it('tenants registered but not deployed yet count against their cell', async () => {
    writeConfig([cellOf(EU, { capacity: { stacks: 4 } }), cellOf(US)]);
    expect(await run(['tenant', 'create', 'hanse', '--residency', 'eu', '--no-deploy', '-C', project])).toBe(0);
    expect(await run(['tenant', 'create', 'globex', '--residency', 'eu', '--no-deploy', '-C', project])).toBe(0);
    // The control plane and two registrations: a third would pass 80 % of 4 stacks.
    expect(await run(['tenant', 'create', 'initech', '--residency', 'eu', '--no-deploy', '-C', project])).toBe(1);
    expect(stderr).toMatch(/eu-1 \(CloudFormation stacks 3 \+ 1 of 4\)/);
  });

  it('doctor checks that each cell\'s role can be assumed in its account', async () => {
    const answer = behaviours.get(sts)!;
    behaviours.set(sts, (command: { constructor: { name: string }; input: { RoleArn?: string } }, client: unknown) => {
      if (command.input.RoleArn?.includes(US.account)) throw awsError('AccessDenied', 'User is not authorized to perform: sts:AssumeRole', 403);
      return answer(command, client);
    });
    await run(['doctor', '--json', '-C', project]);
    const checks = (JSON.parse(stdout) as { checks: Array<{ id: string; status: string; detail: string }> }).checks;
    expect(checks.find((c) => c.id === 'aws-cell-eu-1')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^cell eu-1: account 111111111111, region eu-west-1, as arn:aws:sts::111111111111:assumed-role\//) });
    expect(checks.find((c) => c.id === 'aws-cell-us-1')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^cell us-1: .*sts:AssumeRole/) });
  });

  it('placement runs under the create\'s lock: two creates at once do not both take a cell\'s last headroom', async () => {
    writeConfig([cellOf(EU, { capacity: { stacks: 3 } }), cellOf(US)]);
    const codes = await Promise.all([
      run(['tenant', 'create', 'hanse', '--residency', 'eu', '--no-deploy', '-C', project]),
      run(['tenant', 'create', 'globex', '--residency', 'eu', '--no-deploy', '-C', project]),
    ]);
    expect(codes.sort()).toEqual([0, 1]);
    expect(stderr).toMatch(/eu-1 \(CloudFormation stacks 2 \+ 1 of 3\)/);
  });

  it('the local target has no cells: --cell is refused, never ignored', async () => {
    expect(await run(['tenant', 'create', 'hanse', '--cell', 'eu-1', '--no-deploy', '--target', 'local', '-C', project])).toBe(2);
    expect(stderr).toMatch(/^error: the local target has no cells: --cell places tenants in aws accounts and regions$/m);
    expect(existsSync(join(project, '.sovereign', 'tenants', 'hanse.json'))).toBe(false);
    expect(await run(['cells', 'list', '--target', 'local', '-C', project])).toBe(2);
  });
});
