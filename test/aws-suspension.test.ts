/**
 * Suspension on aws that tenant code cannot undo. An extension holding its tenant's runtime
 * credentials tries to rewrite the `_sovereign` generation item that carries the suspension: the
 * rendered runtime policy, evaluated by the project's own offline IAM evaluator, denies every
 * write to sovereign's items and allows writes to the extension's own `<extension>#` items. And
 * `tenant suspend --target aws` takes the function's concurrency away (reserved concurrency 0,
 * which Lambda enforces before any tenant code runs); `tenant resume` gives the tier's back.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeleteFunctionConcurrencyCommand, LambdaClient, PutFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { run } from '../src/cli.js';
import { GENERATION_ITEM_KEY } from '../src/contract/generation.js';
import { evaluatePolicies, type EvaluablePolicy } from '../src/isolation/policy-eval.js';
import { renderTenantPolicy } from '../src/templates/policy.js';
import { UserError } from '../src/errors.js';
import { TIERS } from '../src/templates/tiers.js';
import { newTenantRecord } from '../src/tenants/tenants.js';
import { awsError, FakeDocumentTables } from './aws-fakes.js';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const TABLE_ARN = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/sovereign-prod-acme`;

describe('the runtime role of a tenant on aws (offline IAM evaluation of the rendered policy)', () => {
  const policy = renderTenantPolicy({
    tenant: 'acme',
    stage: 'prod',
    account: ACCOUNT,
    region: REGION,
    extensions: [{ name: 'avalara' }, { name: 'cetec' }],
  }) as unknown as EvaluablePolicy;
  const decide = (action: string, leadingKeys?: string[], resource = TABLE_ARN) =>
    evaluatePolicies([policy], action, resource, leadingKeys ? { 'dynamodb:LeadingKeys': leadingKeys } : {});

  it('cannot put, update or delete sovereign\'s generation item (the suspension), nor any other item outside its extensions\' prefixes', () => {
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']) {
      expect(decide(action, [GENERATION_ITEM_KEY.pk]), `${action} _sovereign`).toBe('implicitDeny');
      expect(decide(action, ['stranger#x']), `${action} of an extension not enabled`).toBe('implicitDeny');
      expect(decide(action, ['avalara']), `${action} without the "#"`).toBe('implicitDeny');
      // A batch that hides sovereign's item among the extension's own is refused whole.
      expect(decide(action, ['avalara#orders', GENERATION_ITEM_KEY.pk]), `${action} mixed batch`).toBe('implicitDeny');
      // A request IAM sees without partition keys is not allowed by the extension statement.
      expect(decide(action), `${action} without LeadingKeys`).toBe('implicitDeny');
    }
  });

  it('may write its enabled extensions\' `<extension>#` items, and still reads the generation item at cold start', () => {
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) {
      expect(decide(action, ['avalara#orders'])).toBe('allowed');
      expect(decide(action, ['cetec#jobs'])).toBe('allowed');
    }
    expect(decide('dynamodb:BatchWriteItem', ['avalara#a', 'cetec#b'])).toBe('allowed');
    expect(decide('dynamodb:GetItem', [GENERATION_ITEM_KEY.pk])).toBe('allowed');
    expect(decide('dynamodb:Query', ['avalara#orders'])).toBe('allowed');
  });

  it('gets the same decisions from an independent IAM simulator', async () => {
    const requests: Array<[string, string[] | undefined]> = [
      ['dynamodb:PutItem', [GENERATION_ITEM_KEY.pk]],
      ['dynamodb:UpdateItem', [GENERATION_ITEM_KEY.pk]],
      ['dynamodb:DeleteItem', [GENERATION_ITEM_KEY.pk]],
      ['dynamodb:BatchWriteItem', ['avalara#orders', GENERATION_ITEM_KEY.pk]],
      ['dynamodb:PutItem', ['stranger#x']],
      ['dynamodb:PutItem', ['avalara#orders']],
      ['dynamodb:UpdateItem', ['cetec#jobs']],
      ['dynamodb:GetItem', [GENERATION_ITEM_KEY.pk]],
    ];
    for (const [action, keys] of requests) {
      const answer = await runSimulation(
        {
          request: { principal: `arn:aws:iam::${ACCOUNT}:role/sovereign-prod-acme-runtime`, action, resource: { resource: TABLE_ARN, accountId: ACCOUNT }, contextVariables: keys ? { 'dynamodb:LeadingKeys': keys } : {} },
          identityPolicies: [{ name: 'runtime', policy }],
          serviceControlPolicies: [],
          resourceControlPolicies: [],
        },
        {},
      );
      if (answer.resultType === 'error') throw new Error(`iam-simulate refused ${action}: ${answer.errors.message}`);
      const independent = answer.overallResult === 'Allowed' ? 'allowed' : 'implicitDeny';
      expect(independent, `${action} ${keys?.join(',')}`).toBe(decide(action, keys));
    }
  });

  it('with no extension enabled writes nothing at all', () => {
    const bare = renderTenantPolicy({ tenant: 'acme', stage: 'prod', account: ACCOUNT, region: REGION, extensions: [] }) as unknown as EvaluablePolicy;
    expect(evaluatePolicies([bare], 'dynamodb:PutItem', TABLE_ARN, { 'dynamodb:LeadingKeys': [GENERATION_ITEM_KEY.pk] })).toBe('implicitDeny');
    expect(evaluatePolicies([bare], 'dynamodb:GetItem', TABLE_ARN, { 'dynamodb:LeadingKeys': [GENERATION_ITEM_KEY.pk] })).toBe('allowed');
  });
});

describe('an extension that declares its way around the suspension', () => {
  const withPermission = (actions: string[], resource: string, account?: string) => () =>
    renderTenantPolicy({ tenant: 'acme', stage: 'prod', ...(account ? { account, region: REGION } : {}), extensions: [{ name: 'sneaky', permissions: [{ actions, resources: [resource] }] }] });

  it('is refused (exit 2) when a statement reaches its own table, function or runtime role, in any partition, account or region', () => {
    const attempts: Array<[string[], string, RegExp]> = [
      [['dynamodb:PutItem'], 'arn:aws:dynamodb:{region}:{account}:table/sovereign-{stage}-{tenant}', /own table/],
      [['dynamodb:UpdateItem'], 'arn:aws:dynamodb:*:*:table/sovereign-{stage}-{tenant}*', /own table/],
      [['dynamodb:*'], 'arn:aws-cn:dynamodb:cn-north-1:999999999999:table/sovereign-prod-acme/index/*', /own table/],
      [['lambda:PutFunctionConcurrency'], 'arn:aws:lambda:{region}:{account}:function:sovereign-{stage}-{tenant}', /own function/],
      [['lambda:DeleteFunctionConcurrency'], 'arn:*:*:*:*:function:sovereign-{stage}-{tenant}*', /own function/],
      [['iam:PutRolePolicy'], 'arn:aws:iam::{account}:role/sovereign-{stage}-{tenant}-runtime', /own runtime role/],
    ];
    for (const [actions, resource, reason] of attempts) {
      for (const account of [undefined, ACCOUNT]) {
        const error = (() => {
          try {
            withPermission(actions, resource, account)();
          } catch (e) {
            return e;
          }
          return undefined;
        })();
        expect(error, `${actions[0]} on ${resource}`).toBeInstanceOf(UserError);
        expect((error as UserError).exitCode).toBe(2);
        expect((error as UserError).message).toMatch(reason);
      }
    }
  });

  it('keeps its other resources, including a table of its own beside the tenant\'s', () => {
    expect(withPermission(['dynamodb:PutItem'], 'arn:aws:dynamodb:{region}:{account}:table/sovereign-{stage}-{tenant}-quotes', ACCOUNT)).not.toThrow();
    expect(withPermission(['lambda:InvokeFunction'], 'arn:aws:lambda:{region}:{account}:function:sneaky-{stage}-{tenant}', ACCOUNT)).not.toThrow();
  });
});

describe('tenant suspend / resume --target aws (in process, mocked AWS)', () => {
  let stderr: string;
  let project: string;
  let sts: AwsClientStub<STSClient>;
  let docs: AwsClientStub<DynamoDBDocumentClient>;
  let lambda: AwsClientStub<LambdaClient>;
  let db: FakeDocumentTables;

  beforeEach(() => {
    stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
    project = mkdtempSync(join(tmpdir(), 'sovereign-aws-suspend-'));
    writeFileSync(join(project, 'sovereign.config.json'), JSON.stringify({ project: 'demo', region: REGION }));
    sts = mockClient(STSClient);
    sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/ci`, UserId: 'AROA:ci' });
    db = new FakeDocumentTables();
    const record = { ...newTenantRecord({ id: 'acme', tier: 'standard', stage: 'dev', extensions: [], by: 'x', now: '2026-01-01T00:00:00.000Z' }), status: 'active' as const };
    db.table('sovereign_dev_tenants').set(FakeDocumentTables.key('demo#tenant', 'acme'), { pk: 'demo#tenant', sk: 'acme', version: 1, record });
    docs = mockClient(DynamoDBDocumentClient);
    db.serve(docs);
    lambda = mockClient(LambdaClient);
    lambda.on(PutFunctionConcurrencyCommand).callsFake(async (input: { ReservedConcurrentExecutions: number }) => ({ ReservedConcurrentExecutions: input.ReservedConcurrentExecutions }));
  });

  afterEach(() => {
    vi.restoreAllMocks();
    sts.restore();
    docs.restore();
    lambda.restore();
  });

  const marker = () => db.table('sovereign-dev-acme').get(FakeDocumentTables.key(GENERATION_ITEM_KEY.pk, GENERATION_ITEM_KEY.sk));
  const concurrency = () => lambda.commandCalls(PutFunctionConcurrencyCommand).map((call) => call.args[0].input);

  it('suspend sets the function\'s reserved concurrency to 0 and records the suspension; resume restores the tier\'s value', async () => {
    expect(await run(['tenant', 'suspend', 'acme', '--target', 'aws', '--reason', 'abuse', '-C', project]), stderr).toBe(0);
    expect(concurrency()).toEqual([{ FunctionName: 'sovereign-dev-acme', ReservedConcurrentExecutions: 0 }]);
    expect(marker()).toMatchObject({ suspended: true });
    const record = db.table('sovereign_dev_tenants').get(FakeDocumentTables.key('demo#tenant', 'acme'))!.record as { status: string };
    expect(record.status).toBe('suspended');

    expect(await run(['tenant', 'resume', 'acme', '--target', 'aws', '-C', project]), stderr).toBe(0);
    expect(concurrency()).toEqual([
      { FunctionName: 'sovereign-dev-acme', ReservedConcurrentExecutions: 0 },
      { FunctionName: 'sovereign-dev-acme', ReservedConcurrentExecutions: TIERS.standard.reservedConcurrency },
    ]);
    expect(lambda.commandCalls(DeleteFunctionConcurrencyCommand)).toHaveLength(0);
    expect(marker()).toMatchObject({ suspended: false });
  });

  it('a tenant never deployed has no function: the suspension is recorded and the command succeeds', async () => {
    lambda.on(PutFunctionConcurrencyCommand).rejects(awsError('ResourceNotFoundException', 'Function not found', 404));
    expect(await run(['tenant', 'suspend', 'acme', '--target', 'aws', '-C', project]), stderr).toBe(0);
    expect(marker()).toMatchObject({ suspended: true });
    // No concurrency warning (audit checkpoints are not mocked here: test/audit-aws-anchors.test.ts covers them).
    expect(stderr).not.toMatch(/^warning: .*concurrency/m);
  });

  it('a concurrency change that fails is a warning naming what still holds; the suspension stays recorded', async () => {
    lambda.on(PutFunctionConcurrencyCommand).rejects(awsError('AccessDeniedException', 'not authorized to perform: lambda:PutFunctionConcurrency'));
    expect(await run(['tenant', 'suspend', 'acme', '--target', 'aws', '-C', project]), stderr).toBe(0);
    expect(stderr).toMatch(/reserved concurrency of acme's function was not changed \(not authorized to perform: lambda:PutFunctionConcurrency\); new invocations still start/);
    expect(marker()).toMatchObject({ suspended: true });
  });
});
