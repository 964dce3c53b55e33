/**
 * Fleet deploy of 1,000 tenants at concurrency 20 through the aws target's real code path —
 * `createAwsDeployer` → artifact check → change set (create, wait, every page) → execute → stack
 * events followed to CREATE_COMPLETE → deploy recorded — with real SDK v3 clients whose `send` is
 * replaced by aws-sdk-client-mock answering from a simulated CloudFormation: 0.15 s per API call,
 * change sets ready after 2 s, stacks taking 48–72 s, CreateChangeSet throttled by a token bucket
 * and 2 % of all calls throttled at random. Time is scaled 100× (1 s → 10 ms). Target: total within
 * 1.2× the ideal (tenants ÷ concurrency × mean stack time), polling and throttling included.
 *
 * Run alone: `npm run build && node bench/fleet-aws.js`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TENANTS = Number(process.env.FLEET_AWS_TENANTS ?? 1000);
const CONCURRENCY = 20;
const SCALE = 100;
const STACK_MIN_S = 48;
const STACK_MAX_S = 72;
const STACK_MEAN_S = (STACK_MIN_S + STACK_MAX_S) / 2;
const API_LATENCY_S = 0.15;
const CHANGE_SET_READY_S = 2;
const BUCKET = { capacity: 10, refillPerSecond: 4 };
const RANDOM_THROTTLE = 0.02;

const load = (path) => import(pathToFileURL(join(repo, 'dist', path)).href);

function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const realMs = (simMs) => simMs / SCALE;
const sleepSim = (simMs) => new Promise((r) => setTimeout(r, realMs(simMs)));
const simNow = () => performance.now() * SCALE;

function throttled() {
  return Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });
}

function simulate(cf, random) {
  const stacks = new Map();
  const stats = { calls: 0, throttled: 0 };
  let tokens = BUCKET.capacity;
  let last = simNow();
  const call = (name, fn) => async (input) => {
    stats.calls += 1;
    await sleepSim(API_LATENCY_S * 1000);
    if (name === 'CreateChangeSet') {
      const now = simNow();
      tokens = Math.min(BUCKET.capacity, tokens + ((now - last) / 1000) * BUCKET.refillPerSecond);
      last = now;
      if (tokens < 1) {
        stats.throttled += 1;
        throw throttled();
      }
      tokens -= 1;
    }
    if (random() < RANDOM_THROTTLE) {
      stats.throttled += 1;
      throw throttled();
    }
    return fn(input);
  };
  const find = (nameOrId) => stacks.get(nameOrId) ?? [...stacks.values()].find((s) => s.id === nameOrId);
  const event = (stack, logicalId, type, status) => {
    stack.events.unshift({ EventId: `${stack.id}-${stack.events.length}`, StackId: stack.id, StackName: stack.name, LogicalResourceId: logicalId, PhysicalResourceId: logicalId === stack.name ? stack.id : `${stack.name}-${logicalId}`, ResourceType: type, ResourceStatus: status, Timestamp: new Date() });
  };
  const advance = (stack) => {
    if (stack.status !== 'CREATE_IN_PROGRESS') return;
    const elapsed = simNow() - stack.startedAt;
    if (!stack.halfway && elapsed >= stack.durationMs / 2) {
      stack.halfway = true;
      event(stack, 'Table', 'AWS::DynamoDB::Table', 'CREATE_COMPLETE');
    }
    if (elapsed >= stack.durationMs) {
      event(stack, 'Function', 'AWS::Lambda::Function', 'CREATE_COMPLETE');
      stack.status = 'CREATE_COMPLETE';
      event(stack, stack.name, 'AWS::CloudFormation::Stack', 'CREATE_COMPLETE');
    }
  };
  cf.on.DescribeStacks(call('DescribeStacks', ({ StackName }) => {
    const stack = find(StackName);
    if (!stack) throw Object.assign(new Error(`Stack with id ${StackName} does not exist`), { name: 'ValidationError' });
    advance(stack);
    return { Stacks: [{ StackId: stack.id, StackName: stack.name, StackStatus: stack.status, CreationTime: new Date(), Outputs: [] }] };
  }));
  cf.on.CreateChangeSet(call('CreateChangeSet', ({ StackName }) => {
    const id = `arn:aws:cloudformation:eu-west-1:123456789012:stack/${StackName}/1`;
    const stack = { id, name: StackName, status: 'REVIEW_IN_PROGRESS', events: [], createdAt: simNow(), durationMs: (STACK_MIN_S + random() * (STACK_MAX_S - STACK_MIN_S)) * 1000 };
    event(stack, StackName, 'AWS::CloudFormation::Stack', 'REVIEW_IN_PROGRESS');
    stacks.set(StackName, stack);
    return { Id: `${id}/changeSet`, StackId: id };
  }));
  cf.on.DescribeChangeSet(call('DescribeChangeSet', ({ StackName }) => {
    const stack = find(StackName);
    if (simNow() - stack.createdAt < CHANGE_SET_READY_S * 1000) return { Status: 'CREATE_IN_PROGRESS' };
    return {
      Status: 'CREATE_COMPLETE',
      Changes: [
        { Type: 'Resource', ResourceChange: { Action: 'Add', LogicalResourceId: 'Table', ResourceType: 'AWS::DynamoDB::Table' } },
        { Type: 'Resource', ResourceChange: { Action: 'Add', LogicalResourceId: 'Function', ResourceType: 'AWS::Lambda::Function' } },
      ],
    };
  }));
  cf.on.ExecuteChangeSet(call('ExecuteChangeSet', ({ StackName }) => {
    const stack = find(StackName);
    stack.status = 'CREATE_IN_PROGRESS';
    stack.startedAt = simNow();
    event(stack, stack.name, 'AWS::CloudFormation::Stack', 'CREATE_IN_PROGRESS');
    return {};
  }));
  cf.on.DescribeStackEvents(call('DescribeStackEvents', ({ StackName }) => {
    const stack = find(StackName);
    advance(stack);
    return { StackEvents: stack.events.slice(0, 100) };
  }));
  return stats;
}

export async function runFleetAwsBench() {
  const { mockClient } = await import('aws-sdk-client-mock');
  const cfnModule = await import('@aws-sdk/client-cloudformation');
  const s3Module = await import('@aws-sdk/client-s3');
  const stsModule = await import('@aws-sdk/client-sts');
  const [{ createAwsClients }, { openAwsSession }, { createAwsDeployer }, { planFleetDeploy }, { runFleet }, { Transaction }] = await Promise.all([
    load('targets/aws/clients.js'),
    load('targets/aws/session.js'),
    load('targets/aws/fleet.js'),
    load('fleet/plan.js'),
    load('fleet/run.js'),
    load('state/store.js'),
  ]).catch((error) => {
    throw new Error(`bench/fleet-aws.js needs the built package (npm run build): ${error.message}`);
  });

  const clients = createAwsClients({ region: 'eu-west-1' });
  const cf = mockClient(clients.cloudformation);
  const on = new Proxy({}, { get: (_, name) => (fn) => cf.on(cfnModule[`${name}Command`]).callsFake(fn) });
  const stats = simulate({ on }, mulberry32(7));
  // the control plane exists: DescribeStacks of it answers from a separate stub
  const controlPlane = { Stacks: [{ StackName: 'sovereign-prod-control-plane', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs: [{ OutputKey: 'ArtifactBucketName', OutputValue: 'artifacts' }] }] };
  cf.on(cfnModule.DescribeStacksCommand, { StackName: 'sovereign-prod-control-plane' }).resolves(controlPlane);
  mockClient(clients.s3).on(s3Module.HeadObjectCommand).resolves({});
  mockClient(clients.sts).on(stsModule.GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:sts::123456789012:assumed-role/ci/bench' });

  const ids = Array.from({ length: TENANTS }, (_, i) => `tenant${String(i).padStart(4, '0')}`);
  const tenants = new Map(ids.map((id) => [id, { id, tier: 'basic', status: 'active', stage: 'prod', extensions: [], secrets: {}, config: {}, deploys: [], transitions: [] }]));
  const state = {
    actor: 'arn:aws:sts::123456789012:assumed-role/ci/bench',
    project: { config: { project: 'bench' } },
    getTenant: async (id) => tenants.get(id),
    listTenants: async () => [...tenants.values()],
    mutate: async (_info, run) => {
      const tx = new Transaction();
      const result = await run(tx);
      for (const [id, record] of tx.tenants) if (record) tenants.set(id, record);
      return result;
    },
  };
  const dir = mkdtempSync(join(tmpdir(), 'sovereign-bench-'));
  const bytes = Buffer.from('artifact');
  const artifact = { path: join(dir, 'a.zip'), sha256: createHash('sha256').update(bytes).digest('hex') };
  writeFileSync(artifact.path, bytes);
  const session = openAwsSession({ project: 'bench', stage: 'prod', clients, sleep: sleepSim, now: simNow });
  const deployOne = createAwsDeployer(state, state.project, session, {
    approve: async () => true,
    build: async (record) => ({ template: { Resources: { Table: { Type: 'AWS::DynamoDB::Table' }, Function: { Type: 'AWS::Lambda::Function' } } }, artifact, tags: { 'sovereign:tenant': record.id } }),
  });
  let retries = 0;
  const started = performance.now();
  const report = await runFleet({
    plan: planFleetDeploy({ known: ids, all: true }),
    concurrency: CONCURRENCY,
    deployOne,
    sleep: (ms) => new Promise((r) => setTimeout(r, realMs(ms))),
    onEvent: (event) => {
      if (event.type === 'retry') retries += 1;
    },
  });
  const measuredMs = performance.now() - started;
  const idealMs = (TENANTS / CONCURRENCY) * STACK_MEAN_S * (1000 / SCALE);
  const ratio = measuredMs / idealMs;
  const simulated = (ms) => `${((ms * SCALE) / 60000).toFixed(1)} min`;
  return [
    '## fleet deploy on aws (real change-set code path, simulated CloudFormation)',
    '',
    `${TENANTS} tenants, concurrency ${CONCURRENCY}, stacks ${STACK_MIN_S}–${STACK_MAX_S} s, ${API_LATENCY_S * 1000} ms per call, change sets ready after ${CHANGE_SET_READY_S} s, CreateChangeSet bucket ${BUCKET.capacity} + ${BUCKET.refillPerSecond}/s, ${RANDOM_THROTTLE * 100} % random throttling; time scaled ${SCALE}×.`,
    '',
    '| tenants | ok | failed | API calls | throttled | tenant retries | ideal | measured | ratio | target ≤ 1.2× |',
    '|---|---|---|---|---|---|---|---|---|---|',
    `| ${TENANTS} | ${report.ok} | ${report.failed} | ${stats.calls} | ${stats.throttled} | ${retries} | ${simulated(idealMs)} | ${simulated(measuredMs)} | ${ratio.toFixed(3)}× | ${ratio <= 1.2 && report.failed === 0 ? 'met' : 'missed'} |`,
    '',
  ].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${await runFleetAwsBench()}\n`);
}
