/**
 * Cells at 10,000 tenants. (1) Placement: 10,000 creates over 6 cells (2 regions × 3 accounts)
 * through the pure placer, one at a time as `tenant create` does, with a tier mix (80 % basic,
 * 15 % standard, 5 % premium) and quotas raised as a fleet of that size needs; reports the
 * fullest quota of every cell afterwards (must stay ≤ 80 %) and the time per placement. (2)
 * `sovereign tenant list` and `sovereign cells list` over 10,000 registered tenants through the real
 * CLI (in process, dist/) against aws-sdk-client-mock: the registry in a simulated control-plane
 * table (Query pages of 500 items), each cell's ListStacks (100 summaries a page) and Lambda
 * GetAccountSettings, AssumeRole per cell. No simulated latency: these are the CLI's own costs.
 * Medians of 5 runs, `tenant list` against `cells list` in the same run.
 *
 * Run alone: `npm run build && node bench/cells.js`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.AWS_ACCESS_KEY_ID = 'AKIABENCH';
process.env.AWS_SECRET_ACCESS_KEY = 'bench';
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const load = (path) => import(pathToFileURL(join(repo, 'dist', path)).href);
const TENANTS = Number(process.env.CELLS_TENANTS ?? 10_000);
const RUNS = 5;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const CELLS = [];
for (const region of ['eu-west-1', 'us-east-1']) {
  for (const n of [1, 2, 3]) {
    const account = String(100000000000 + n * 11111 + (region === 'eu-west-1' ? 0 : 7));
    CELLS.push({
      name: `${region.slice(0, 2)}-${n}`,
      account,
      region,
      deployRoleArn: `arn:aws:iam::${account}:role/sovereign-deploy`,
      residency: region.slice(0, 2),
      // Raised quotas: at AWS's defaults six cells hold 6 × 480 HTTP APIs within 80 %.
      capacity: { stacks: 2500, httpApis: 2500, concurrency: 30000 },
    });
  }
}
const tierOf = (i) => (i % 20 === 0 ? 'premium' : i % 20 < 4 ? 'standard' : 'basic');

async function benchPlacement() {
  const [{ placeTenant, utilisationOf }, { TIERS }] = await Promise.all([load('fleet/placement.js'), load('templates/tiers.js')]);
  const times = [];
  let final;
  for (let run = 0; run < RUNS; run += 1) {
    const cells = CELLS.map((c) => ({ name: c.name, residency: c.residency, capacity: c.capacity, used: { stacks: 1, httpApis: 0, concurrency: 0 } }));
    const t0 = performance.now();
    for (let i = 0; i < TENANTS; i += 1) {
      const demand = { stacks: 1, httpApis: 1, concurrency: TIERS[tierOf(i)].reservedConcurrency };
      // Every tenth asks for the EU: residency on top of balancing.
      const placed = placeTenant(cells, { tenant: `t${i}`, residency: i % 10 === 3 ? 'eu' : undefined, demand });
      placed.used = { stacks: placed.used.stacks + 1, httpApis: placed.used.httpApis + 1, concurrency: placed.used.concurrency + demand.concurrency };
    }
    times.push(performance.now() - t0);
    final = cells;
  }
  const fullest = final.map((c) => ({ cell: c.name, stacks: c.used.stacks - 1, max: utilisationOf(c.used, c.capacity).max }));
  return { totalMs: median(times), perPlacementUs: (median(times) / TENANTS) * 1000, fullest };
}

async function benchLists() {
  const { mockClient } = await import('aws-sdk-client-mock');
  const { CloudFormationClient, ListStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const { STSClient, AssumeRoleCommand, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const { LambdaClient, GetAccountSettingsCommand } = await import('@aws-sdk/client-lambda');
  const { DynamoDBDocumentClient, QueryCommand } = await import('@aws-sdk/lib-dynamodb');
  const [{ run }, { newTenantRecord }] = await Promise.all([load('cli.js'), load('tenants/tenants.js')]);

  const project = mkdtempSync(join(tmpdir(), 'sovereign-bench-cells-'));
  writeFileSync(join(project, 'sovereign.config.json'), JSON.stringify({ project: 'demo', target: 'aws', region: 'eu-central-1', cells: CELLS }));
  const items = [];
  for (let i = 0; i < TENANTS; i += 1) {
    const cell = CELLS[i % CELLS.length];
    const id = `tenant-${String(i).padStart(5, '0')}`;
    const record = newTenantRecord({ id, tier: tierOf(i), stage: 'dev', extensions: [], by: 'bench', now: '2026-12-01T00:00:00.000Z', cell: { name: cell.name, account: cell.account, region: cell.region } });
    // Deployed: its stack is among the cell's ListStacks answers.
    record.status = 'active';
    record.deploys = [{ at: '2026-12-01T00:00:00.000Z', by: 'bench', target: 'aws', artifact: 'a'.repeat(64), extensions: [], outcome: 'success', stack: `sovereign-dev-${id}` }];
    items.push({ pk: 'demo#tenant', sk: id, version: 1, record });
  }
  const docs = mockClient(DynamoDBDocumentClient);
  docs.on(QueryCommand).callsFake((input) => {
    if (input.ExpressionAttributeValues[':pk'] !== 'demo#tenant') return { Items: [] };
    const start = input.ExclusiveStartKey ? items.findIndex((it) => it.sk === input.ExclusiveStartKey.sk) + 1 : 0;
    const page = items.slice(start, start + 500);
    return { Items: structuredClone(page), ...(start + 500 < items.length ? { LastEvaluatedKey: { pk: 'demo#tenant', sk: page.at(-1).sk } } : {}) };
  });
  const perCell = Math.ceil(TENANTS / CELLS.length);
  const cfn = mockClient(CloudFormationClient);
  cfn.on(ListStacksCommand).callsFake((input) => {
    const start = Number(input.NextToken ?? 0);
    const size = Math.min(100, perCell + 1 - start);
    const StackSummaries = Array.from({ length: size }, (_, k) => ({ StackName: `sovereign-dev-s${start + k}`, StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(0) }));
    return { StackSummaries, ...(start + size < perCell + 1 ? { NextToken: String(start + size) } : {}) };
  });
  const sts = mockClient(STSClient);
  sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:sts::123456789012:assumed-role/ci/bench' });
  sts.on(AssumeRoleCommand).callsFake((input) => {
    const account = /::(\d{12}):/.exec(input.RoleArn)[1];
    return { Credentials: { AccessKeyId: `AKIA${account}`, SecretAccessKey: 's', SessionToken: 't', Expiration: new Date(Date.now() + 3600_000) }, AssumedRoleUser: { Arn: `arn:aws:sts::${account}:assumed-role/sovereign-deploy/${input.RoleSessionName}` } };
  });
  mockClient(LambdaClient).on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 30000, UnreservedConcurrentExecutions: 20000 } });

  const write = process.stdout.write.bind(process.stdout);
  const timed = async (args) => {
    let out = '';
    process.stdout.write = (chunk) => ((out += String(chunk)), true);
    const t0 = performance.now();
    const code = await run([...args, '--json', '-C', project]);
    const ms = performance.now() - t0;
    process.stdout.write = write;
    if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}`);
    return { ms, out: JSON.parse(out) };
  };
  const lists = { tenant: [], cells: [] };
  let report;
  for (let i = 0; i < RUNS; i += 1) {
    const t = await timed(['tenant', 'list']);
    if (t.out.tenants.length !== TENANTS) throw new Error('tenant list lost tenants');
    lists.tenant.push(t.ms);
    const c = await timed(['cells', 'list']);
    lists.cells.push(c.ms);
    report = c.out;
  }
  return { tenantListMs: median(lists.tenant), cellsListMs: median(lists.cells), counted: report.cells.map((c) => `${c.name}: ${c.tenants.length} tenants, ${c.used.stacks} stacks`) };
}

const placement = await benchPlacement();
const lists = await benchLists();
const over = placement.fullest.filter((c) => c.max > 0.8);
console.log(`placement of ${TENANTS} creates over ${CELLS.length} cells: ${placement.totalMs.toFixed(1)} ms (${placement.perPlacementUs.toFixed(2)} µs each, median of ${RUNS})`);
for (const c of placement.fullest) console.log(`  ${c.cell}: ${c.stacks} tenants, fullest quota ${(c.max * 100).toFixed(1)} %`);
console.log(`  cells above 80 %: ${over.length}`);
console.log(`tenant list over ${TENANTS} tenants: ${lists.tenantListMs.toFixed(0)} ms; cells list: ${lists.cellsListMs.toFixed(0)} ms (${(lists.cellsListMs / lists.tenantListMs).toFixed(2)}× tenant list), medians of ${RUNS}`);
console.log(`  ${lists.counted.join('; ')}`);
if (over.length > 0) process.exitCode = 1;
