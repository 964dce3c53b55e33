import { beforeEach, describe, expect, it } from 'vitest';
import { CreateChangeSetCommand, ExecuteChangeSetCommand, ListStacksCommand } from '@aws-sdk/client-cloudformation';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { planFleetDeploy } from '../src/fleet/plan.js';
import { runFleet } from '../src/fleet/run.js';
import type { Project } from '../src/project.js';
import type { TenantRecord } from '../src/state/registry.js';
import { Transaction, type MutationInfo, type StateStore } from '../src/state/store.js';
import { newTenantRecord } from '../src/tenants/tenants.js';
import { createAwsClients, type AwsClients } from '../src/targets/aws/clients.js';
import { createAwsDeployer, type AwsTenantBuild } from '../src/targets/aws/fleet.js';
import { scaleWarnings } from '../src/fleet/scale.js';
import { countRegionStacks, scaleWarningsOnAws } from '../src/targets/aws/scale.js';
import { openAwsSession } from '../src/targets/aws/session.js';
import { awsError, FakeCloudFormation, FakeDocumentTables } from './aws-fakes.js';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createTenant } from '../src/tenants/tenants.js';
import { AwsState, verifyAwsChain } from '../src/targets/aws/state.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** An in-memory StateStore: what the fleet deployer needs of state, nothing more. */
class MemoryState implements StateStore {
  readonly actor = 'arn:aws:sts::123456789012:assumed-role/ci/run';
  readonly project = { config: { project: 'demo' } } as unknown as Project;
  readonly tenants = new Map<string, TenantRecord>();
  readonly events: Array<MutationInfo & { outcome: string; args?: Record<string, unknown> }> = [];
  async getTenant(id: string) {
    return structuredClone(this.tenants.get(id));
  }
  async listTenants() {
    return [...this.tenants.values()];
  }
  verifyAuditTrail(): never {
    throw new Error('not used here');
  }
  async headCheckpoint() {
    return undefined;
  }
  async mutate<T>(info: MutationInfo, run: (tx: Transaction) => Promise<T> | T): Promise<T> {
    const tx = new Transaction();
    const result = await run(tx);
    for (const [id, record] of tx.tenants) if (record) this.tenants.set(id, record);
    this.events.push({ ...info, args: { ...info.args }, outcome: 'success' });
    return result;
  }
}

const template = (id: string) => ({
  Resources: {
    Table: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: `sovereign-dev-${id}` } },
    RuntimeRole: { Type: 'AWS::IAM::Role', Properties: {} },
  },
});

let clients: AwsClients;
let cfn: FakeCloudFormation;
let state: MemoryState;
let artifact: { sha256: string; path: string };

beforeEach(() => {
  clients = createAwsClients({ region: 'eu-west-1' });
  cfn = new FakeCloudFormation(clients.cloudformation);
  cfn.seed('sovereign-dev-control-plane', 'CREATE_COMPLETE', {}, { ArtifactBucketName: 'artifacts-bucket' });
  mockClient(clients.sts).on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:sts::123456789012:assumed-role/ci/run' });
  const s3 = mockClient(clients.s3);
  let stored = false;
  s3.on(HeadObjectCommand).callsFake(async () => {
    if (!stored) throw awsError('NotFound', 'Not Found', 404);
    return {};
  });
  s3.on(PutObjectCommand).callsFake(async () => {
    stored = true;
    return {};
  });
  state = new MemoryState();
  const dir = mkdtempSync(join(tmpdir(), 'sovereign-fleet-'));
  const bytes = Buffer.from('artifact');
  artifact = { path: join(dir, 'a.zip'), sha256: createHash('sha256').update(bytes).digest('hex') };
  writeFileSync(artifact.path, bytes);
});

function deployer(approve: (q: string) => Promise<boolean> = async () => true) {
  const session = openAwsSession({ project: 'demo', stage: 'dev', clients, sleep: async () => undefined });
  const build = async (record: TenantRecord): Promise<AwsTenantBuild> => ({ template: template(record.id), artifact, tags: { 'sovereign:tenant': record.id } });
  return createAwsDeployer(state, state.project, session, { approve, build });
}

describe('fleet deploys on aws', () => {
  it('deploys every tenant of the plan as its own stack, retrying tenants whose calls stay throttled, and records each deploy', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `tenant${String(i).padStart(2, '0')}`);
    for (const id of ids) state.tenants.set(id, newTenantRecord({ id, tier: 'basic', stage: 'dev', extensions: [], by: 'x', now: '2026-01-01T00:00:00.000Z' }));
    // 40 throttled answers in a row: more than the first four deploys' own backoff (8 attempts each) absorbs
    cfn.throttle.set('CreateChangeSet', 40);
    const retries: string[] = [];
    const report = await runFleet({
      plan: planFleetDeploy({ known: ids, all: true }),
      concurrency: 4,
      deployOne: deployer(),
      sleep: async () => undefined,
      onEvent: (event) => {
        if (event.type === 'retry') retries.push(event.tenant);
      },
    });
    expect(report.ok).toBe(12);
    expect(report.failed).toBe(0);
    expect(retries.length).toBeGreaterThan(0);
    for (const id of ids) expect(cfn.find(`sovereign-dev-${id}`)!.status).toBe('CREATE_COMPLETE');
    expect(cfn.mock.commandCalls(ExecuteChangeSetCommand)).toHaveLength(12);
    // one artifact upload for the whole fleet (content-addressed)
    const deploys = [...state.tenants.values()].map((t) => t.deploys);
    expect(deploys.every((d) => d.length === 1 && d[0]!.outcome === 'success' && d[0]!.target === 'aws' && d[0]!.stack !== undefined)).toBe(true);
    expect(state.events.filter((e) => e.action === 'tenant.deploy')).toHaveLength(12);
  });

  it('a failing tenant is recorded as a failed deploy with the first failed resource, the others deploy', async () => {
    for (const id of ['acme', 'globex']) state.tenants.set(id, newTenantRecord({ id, tier: 'basic', stage: 'dev', extensions: [], by: 'x', now: '2026-01-01T00:00:00.000Z' }));
    cfn.failures.set('Table', 'Table already exists');
    const report = await runFleet({ plan: planFleetDeploy({ known: ['acme', 'globex'], all: true }), concurrency: 1, deployOne: deployer(), sleep: async () => undefined });
    expect(report.ok).toBe(1);
    expect(report.failed).toBe(1);
    const failed = [...state.tenants.values()].find((t) => t.deploys[0]!.outcome === 'failure')!;
    expect(failed.deploys[0]!.error).toMatch(/Table \(AWS::DynamoDB::Table\) CREATE_FAILED: Table already exists/);
  });

  it('approval prompts of parallel deploys never overlap', async () => {
    const ids = ['aaa', 'bbb', 'ccc', 'ddd'];
    for (const id of ids) state.tenants.set(id, newTenantRecord({ id, tier: 'basic', stage: 'dev', extensions: [], by: 'x', now: '2026-01-01T00:00:00.000Z' }));
    let open = 0;
    let maxOpen = 0;
    const approve = async () => {
      open += 1;
      maxOpen = Math.max(maxOpen, open);
      await new Promise((resolve) => setImmediate(resolve));
      open -= 1;
      return true;
    };
    const report = await runFleet({ plan: planFleetDeploy({ known: ids, all: true }), concurrency: 4, deployOne: deployer(approve), sleep: async () => undefined });
    expect(report.ok).toBe(4);
    expect(maxOpen).toBe(1);
    expect(cfn.mock.commandCalls(CreateChangeSetCommand)).toHaveLength(4);
  });
});

describe('scale limits', () => {
  it('warns from 80% of the CloudFormation, HTTP API and reserved-concurrency quotas, and says when one is crossed', () => {
    expect(scaleWarnings(100, Array(100).fill('basic'))).toEqual([]);
    const apis = scaleWarnings(500, []);
    expect(apis.map((w) => w.limit)).toEqual(['http-apis']);
    expect(apis[0]!.message).toMatch(/API Gateway HTTP APIs: 500 of 600 per region \(83%\)/);
    // 180 basic tenants reserve 5 each: exactly the 900 Lambda lets you reserve; one more crosses it
    expect(scaleWarnings(180, Array(180).fill('basic')).map((w) => [w.limit, w.crossed])).toEqual([['lambda-reserved-concurrency', false]]);
    expect(scaleWarnings(181, Array(181).fill('basic')).map((w) => [w.limit, w.crossed])).toEqual([['lambda-reserved-concurrency', true]]);
    const many = scaleWarnings(2000, [...Array(1990).fill('basic'), ...Array(10).fill('premium')]);
    expect(many.map((w) => [w.limit, w.crossed])).toEqual([
      ['cloudformation-stacks', true],
      ['http-apis', true],
      ['lambda-reserved-concurrency', true],
    ]);
    // reserved concurrency: 8 premium tenants reserve 800 of the 900 Lambda lets you reserve
    expect(scaleWarnings(8, Array(8).fill('premium')).map((w) => w.limit)).toEqual(['lambda-reserved-concurrency']);
    expect(scaleWarnings(8, Array(8).fill('premium'), { quotas: { lambdaConcurrency: 5000 } })).toEqual([]);
  });

  it('counts two HTTP APIs for a tenant with a machine API (API keys)', () => {
    // 250 tenants with one API each are 42 % of the quota; with their machine APIs, 83 %.
    expect(scaleWarnings(250, [])).toEqual([]);
    const both = scaleWarnings(250, [], { httpApis: 500 });
    expect(both.map((w) => w.limit)).toEqual(['http-apis']);
    expect(both[0]!.message).toMatch(/API Gateway HTTP APIs: 500 of 600 per region/);
  });

  it('counts the region\'s stacks over every ListStacks page, skipping deleted ones', async () => {
    for (const id of ['a01', 'a02', 'a03', 'a04']) cfn.seed(`sovereign-dev-${id}`, 'UPDATE_COMPLETE');
    cfn.seed('other-app', 'CREATE_COMPLETE');
    cfn.seed('sovereign-dev-gone', 'DELETE_COMPLETE');
    const counted = await countRegionStacks({ cfn: clients.cloudformation, sleep: async () => undefined }, 'sovereign-dev-');
    expect(counted).toEqual({ total: 6, matching: 5 });
    expect(cfn.mock.commandCalls(ListStacksCommand).length).toBeGreaterThanOrEqual(4);
  });

  it('on aws the other stacks of the region count too', async () => {
    for (let i = 0; i < 7; i += 1) cfn.seed(`someone-else-${i}`, 'CREATE_COMPLETE');
    const quotas = { stacks: 10 };
    // 2 tenants + the control plane (seeded in beforeEach) + 7 other stacks = 10 of 10
    const warnings = await scaleWarningsOnAws({ cfn: clients.cloudformation, sleep: async () => undefined }, 'dev', 2, ['basic', 'basic'], { quotas });
    expect(warnings.map((w) => [w.limit, w.used, w.crossed])).toEqual([['cloudformation-stacks', 10, false]]);
  });

  it('on aws the machine APIs count against the HTTP API quota', async () => {
    const warnings = await scaleWarningsOnAws({ cfn: clients.cloudformation, sleep: async () => undefined }, 'dev', 2, ['basic', 'basic'], { quotas: { httpApis: 4 }, httpApis: 4 });
    expect(warnings.map((w) => [w.limit, w.used, w.crossed])).toEqual([['http-apis', 4, false]]);
  });
});

describe('tenant create and deploy with the aws state', () => {
  it('registers tenants in the control-plane table, deploys their stacks and records each deploy in the hash chain, the STS caller as actor', async () => {
    const db = new FakeDocumentTables();
    const docs = mockClient(clients.documents);
    docs.on(GetCommand).callsFake(async (input) => db.get(input));
    docs.on(PutCommand).callsFake(async (input) => db.put(input));
    docs.on(DeleteCommand).callsFake(async (input) => db.delete(input));
    docs.on(UpdateCommand).callsFake(async (input) => db.update(input));
    docs.on(QueryCommand).callsFake(async (input) => db.query(input));
    docs.on(TransactWriteCommand).callsFake(async (input) => db.transactWrite(input));
    const session = openAwsSession({ project: 'demo', stage: 'dev', clients, sleep: async () => undefined });
    const project = { root: '/nowhere', config: { project: 'demo' }, paths: { keys: '/nowhere/keys', vault: '/nowhere/vault' } } as unknown as Project;
    const awsState = new AwsState(project, { session, sleep: async () => undefined });
    for (const id of ['acme', 'globex']) await createTenant(awsState, 'dev', { id, tier: 'standard', extensions: [] });
    const build = async (record: TenantRecord): Promise<AwsTenantBuild> => ({ template: template(record.id), artifact, tags: {} });
    const deployOne = createAwsDeployer(awsState, project, session, { approve: async () => true, build });
    const report = await runFleet({ plan: planFleetDeploy({ known: (await awsState.listTenants()).map((t) => t.id), all: true }), concurrency: 2, deployOne, sleep: async () => undefined });
    expect(report.ok).toBe(2);
    const acme = (await awsState.getTenant('acme'))!;
    expect(acme.createdBy).toBe('arn:aws:sts::123456789012:assumed-role/ci/run');
    expect(acme.deploys).toEqual([expect.objectContaining({ target: 'aws', outcome: 'success', stack: 'sovereign-dev-acme', by: 'arn:aws:sts::123456789012:assumed-role/ci/run' })]);
    // The first successful deploy takes the new tenant from provisioning to active.
    expect(acme.status).toBe('active');
    expect(acme.transitions.map((t) => t.to)).toEqual(['provisioning', 'active']);
    const events = [];
    for await (const event of awsState.events()) events.push(`${event.action}:${event.tenant}:${event.outcome}`);
    expect(events.sort()).toEqual(['tenant.create:acme:success', 'tenant.create:globex:success', 'tenant.deploy:acme:success', 'tenant.deploy:globex:success']);
    expect(await verifyAwsChain(awsState)).toMatchObject({ ok: true, events: 4 });
  });
});
