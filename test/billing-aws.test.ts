/**
 * The billing webhook on aws: the control-plane function's handler driven with Function URL and
 * API Gateway v2 events, on the aws state and ledger over a simulated DynamoDB (conditions
 * evaluated for real), the signing secret read from a mocked SSM. A canary secret is planted and
 * looked for in every answer and log line.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { CreateChangeSetCommand, DeleteChangeSetCommand, DescribeChangeSetCommand, ExecuteChangeSetCommand, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { LambdaClient, PutFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { createBillingLambdaHandler, readBillingLambdaSettings } from '../src/billing/lambda.js';
import { ledgerConflict } from '../src/billing/ledger.js';
import { signatureHeader } from '../src/billing/signature.js';
import { toApiGatewayEvent } from '../src/targets/local/dev/event.js';
import type { HttpEventV2, HttpResultV2 } from '../src/runtime/http.js';
import type { TenantRecord } from '../src/state/registry.js';
import { tagList } from '../src/templates/cfn.js';
import { BILLING_FUNCTION_ENV, renderControlPlaneStack } from '../src/templates/control-plane.js';
import { RETIERED_RESOURCES, tenantTags } from '../src/templates/tenant-stack.js';
import { TIERS, type Tier } from '../src/templates/tiers.js';
import { newTenantRecord } from '../src/tenants/tenants.js';
import { awsBillingLedger, PROCESSED_RETENTION_DAYS } from '../src/targets/aws/billing-ledger.js';
import { controlPlaneProject, createAwsBillingHost, type AwsBillingHostOptions } from '../src/targets/aws/billing-host.js';
import { createAwsClients, type AwsClients } from '../src/targets/aws/clients.js';
import { openAwsSession } from '../src/targets/aws/session.js';
import { AwsState } from '../src/targets/aws/state.js';
import { awsError, FakeCloudFormation, FakeDocumentTables, plainTenantTemplate } from './aws-fakes.js';

const CANARY = 'whsec_canary_5b7e0f2d9a41c3';
const OLD_CANARY = 'whsec_canary_old_77aa19c2';
const REFERENCE = 'ssm:/dev/_sovereign/billing/webhook_secret';
const ROLE_ARN = 'arn:aws:sts::123456789012:assumed-role/sovereign_dev_billing_webhook/sovereign_dev_billing_webhook';
const NOW = 1_790_000_000_000;
const TENANTS = 'sovereign_dev_tenants';
const AUDIT = 'sovereign_dev_audit';
const ACME_TABLE = 'sovereign-dev-acme';

const ENV = {
  [BILLING_FUNCTION_ENV.project]: 'demo',
  [BILLING_FUNCTION_ENV.stage]: 'dev',
  [BILLING_FUNCTION_ENV.config]: JSON.stringify({ suspendAfterFailures: 2, offboardGracePeriod: '1h', plans: { price_pro: 'premium' } }),
  [BILLING_FUNCTION_ENV.secretReference]: REFERENCE,
};

let clients: AwsClients;
let db: FakeDocumentTables;
let cfn: FakeCloudFormation;
let ssm: AwsClientStub<SSMClient>;
let secretValue: string | undefined;
let clock: number;
/** Every log line and answer body of the test, searched for the canary. */
let seen: string[];
/** Outcome of every TransactWriteItems: the ledger partitions it held and whether it was cancelled. */
let transactions: Array<{ partitions: string[]; cancelled: boolean }>;

let lambda: AwsClientStub<LambdaClient>;

beforeAll(() => {
  process.env.AWS_REGION = 'eu-west-1';
  ssm = mockClient(SSMClient);
  // Class-level: a suspension sets the tenant function's reserved concurrency with a client of its own.
  lambda = mockClient(LambdaClient);
});
afterAll(() => {
  ssm.restore();
  lambda.restore();
});

beforeEach(() => {
  clients = createAwsClients({ region: 'eu-west-1' });
  db = new FakeDocumentTables();
  cfn = new FakeCloudFormation(clients.cloudformation);
  clock = NOW;
  seen = [];
  transactions = [];
  secretValue = CANARY;
  ssm.reset();
  lambda.reset();
  lambda.on(PutFunctionConcurrencyCommand).resolves({});
  ssm.on(GetParameterCommand).callsFake(async (input: { Name: string; WithDecryption?: boolean }) => {
    if (input.Name !== '/dev/_sovereign/billing/webhook_secret' || !input.WithDecryption) throw awsError('AccessDeniedException', 'not allowed');
    if (secretValue === undefined) throw awsError('ParameterNotFound', 'ParameterNotFound');
    return { Parameter: { Name: input.Name, Type: 'SecureString', Value: secretValue, Version: 1 } };
  });
  mockClient(clients.sts).on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: ROLE_ARN, UserId: 'AROA:fn' });
  const docs = mockClient(clients.documents);
  db.serve(docs);
  // Recorded on top: which ledger claims each transaction held, and whether it was cancelled.
  docs.on(TransactWriteCommand).callsFake(async (input: { TransactItems: Array<{ Put?: { Item: Record<string, unknown> } }> }) => {
    const partitions = input.TransactItems.map((op) => String(op.Put?.Item.pk ?? '')).filter((pk) => pk.startsWith('demo#billing'));
    try {
      const result = db.transactWrite(input as Parameters<FakeDocumentTables['transactWrite']>[0]);
      transactions.push({ partitions, cancelled: false });
      return result;
    } catch (error) {
      transactions.push({ partitions, cancelled: true });
      throw error;
    }
  });
  seedTenant({ status: 'active', billing: { customerId: 'cus_acme' } });
});

afterEach(() => {
  for (const text of seen) {
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain(OLD_CANARY);
  }
});

function seedTenant(changes: Partial<TenantRecord>): void {
  const record = { ...newTenantRecord({ id: 'acme', tier: 'basic', stage: 'dev', extensions: [], by: 'x', now: '2026-01-01T00:00:00.000Z' }), ...changes };
  db.table(TENANTS).set(FakeDocumentTables.key('demo#tenant', 'acme'), { pk: 'demo#tenant', sk: 'acme', version: 1, record });
}

function tenant(): TenantRecord {
  return db.table(TENANTS).get(FakeDocumentTables.key('demo#tenant', 'acme'))!.record as TenantRecord;
}

function marker(): Record<string, unknown> | undefined {
  return db.table(ACME_TABLE).get(FakeDocumentTables.key('_sovereign', 'generation'));
}

/** One environment of the function (its own state, lock owner, secret cache). */
function environment(env: Record<string, string> = ENV, hostOptions: AwsBillingHostOptions = {}) {
  return createBillingLambdaHandler({
    env,
    now: () => clock,
    host: (settings, log) => createAwsBillingHost(settings, { clients, log, now: () => clock, sleep: async () => undefined, ...hostOptions }),
    write: (line) => void seen.push(line),
  });
}

let counter = 0;
function billingEvent(type: string, createdOffset: number, object: Record<string, unknown> = {}, id = `evt_aws_${++counter}`): { id: string; text: string } {
  return { id, text: JSON.stringify({ id, object: 'event', type, created: NOW / 1000 + createdOffset, data: { object: { customer: 'cus_acme', ...object } } }) };
}

/** A Lambda Function URL event as AWS delivers it (payload 2.0). */
function functionUrlEvent(body: Buffer | string, headers: Record<string, string>, options: { base64?: boolean; method?: string; path?: string } = {}): HttpEventV2 {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const path = options.path ?? '/';
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(bytes.length),
      host: 'n4xkq2example.lambda-url.eu-west-1.on.aws',
      'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      'x-amzn-trace-id': 'Root=1-6a5f3c2e-0123456789abcdef01234567',
      'x-forwarded-for': '3.18.12.63',
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
      ...headers,
    },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'n4xkq2example',
      domainName: 'n4xkq2example.lambda-url.eu-west-1.on.aws',
      domainPrefix: 'n4xkq2example',
      http: { method: options.method ?? 'POST', path, protocol: 'HTTP/1.1', sourceIp: '3.18.12.63', userAgent: 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
      requestId: `req-${++counter}`,
      routeKey: '$default',
      stage: '$default',
      time: '27/Nov/2026:10:00:00 +0000',
      timeEpoch: NOW,
    },
    body: options.base64 ? bytes.toString('base64') : bytes.toString('utf8'),
    isBase64Encoded: options.base64 ?? false,
  };
}

function signed(payload: { text: string } | Buffer, options: { secrets?: string[]; at?: number; base64?: boolean } = {}): HttpEventV2 {
  const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.text);
  const t = Math.floor((options.at ?? clock) / 1000);
  return functionUrlEvent(bytes, { 'stripe-signature': signatureHeader(options.secrets ?? [CANARY], t, bytes) }, { base64: options.base64 ?? false });
}

async function call(handler: ReturnType<typeof environment>, event: HttpEventV2): Promise<{ status: number; body: Record<string, unknown>; raw: HttpResultV2 }> {
  const raw = await handler(event);
  seen.push(raw.body);
  return { status: raw.statusCode, body: JSON.parse(raw.body) as Record<string, unknown>, raw };
}

function auditEvents(): Array<{ action: string; outcome: string; actor: string; args: Record<string, unknown> }> {
  return [...db.table(AUDIT).values()].sort((a, b) => String(a.sk).localeCompare(String(b.sk))).map((item) => JSON.parse(item.event as string));
}

describe('billing webhook function (Function URL events)', () => {
  it('suspends after the configured failures, writing the suspension into the tenant table; a payment resumes', async () => {
    const handler = environment();
    expect((await call(handler, signed(billingEvent('invoice.payment_failed', 1, { id: 'in_1' })))).body).toMatchObject({ action: 'record' });
    expect(marker()).toBeUndefined();
    const suspended = await call(handler, signed(billingEvent('invoice.payment_failed', 2, { id: 'in_1' })));
    expect(suspended).toMatchObject({ status: 200, body: { action: 'suspend', status: 'suspended', tenant: 'acme' } });
    expect(suspended.raw.headers['content-type']).toBe('application/json');
    expect(tenant()).toMatchObject({ status: 'suspended', billing: { failedPayments: 2, suspendedForPayment: true } });
    expect(marker()).toMatchObject({ suspended: true, generation: 1 });
    expect((await call(handler, signed(billingEvent('invoice.paid', 3, { id: 'in_1' })))).body).toMatchObject({ action: 'resume', status: 'active' });
    expect(marker()).toMatchObject({ suspended: false, generation: 2 });
    // The function is throttled while suspended and gets its tier's concurrency back on payment.
    expect(lambda.commandCalls(PutFunctionConcurrencyCommand).map((c) => c.args[0].input)).toEqual([
      { FunctionName: 'sovereign-dev-acme', ReservedConcurrentExecutions: 0 },
      { FunctionName: 'sovereign-dev-acme', ReservedConcurrentExecutions: TIERS[tenant().tier as Tier].reservedConcurrency },
    ]);
    const events = auditEvents();
    expect(events.map((e) => e.action)).toEqual(['billing.recorded', 'tenant.suspend', 'tenant.resume']);
    expect(events.every((e) => e.actor === ROLE_ARN && e.outcome === 'success')).toBe(true);
    // The lock is released after every delivery.
    expect(db.table(TENANTS).get(FakeDocumentTables.key('demo#lock', 'project'))).toBeUndefined();
  });

  it('verifies the exact bytes of a base64 body (not a re-encoding of them)', async () => {
    const handler = environment();
    // Not valid UTF-8: decoding to text and back would change these bytes and break the signature.
    const text = billingEvent('invoice.payment_failed', 1, { id: 'in_b64', description: 'X' }).text;
    const bytes = Buffer.from(text.replace('"X"', '"\u0001"'));
    bytes[bytes.indexOf(0x01)] = 0xff;
    const answer = await call(handler, signed(bytes, { base64: true }));
    expect(answer).toMatchObject({ status: 200, body: { action: 'record', tenant: 'acme' } });
    const tampered = Buffer.from(bytes);
    tampered[tampered.indexOf(0xff)] = 0xfe;
    const event = signed(bytes, { base64: true });
    event.body = tampered.toString('base64');
    expect(await call(handler, event)).toMatchObject({ status: 400, body: { error: 'signature-mismatch' } });
  });

  it('accepts API Gateway HTTP API (payload 2.0) events on the webhook path', async () => {
    const handler = environment();
    const e = billingEvent('invoice.payment_failed', 1, { id: 'in_api' });
    const header = signatureHeader([CANARY], NOW / 1000, e.text);
    const event = toApiGatewayEvent({
      method: 'POST',
      path: '/_sovereign/billing/webhook',
      query: '',
      rawHeaders: ['Content-Type', 'application/octet-stream', 'Stripe-Signature', header],
      body: Buffer.from(e.text),
      sourceIp: '3.18.12.63',
      protocol: 'HTTP/1.1',
      host: 'api.example.com',
      port: 443,
      now: NOW,
    });
    expect(event.isBase64Encoded).toBe(true);
    expect(await call(handler, event as unknown as HttpEventV2)).toMatchObject({ status: 200, body: { action: 'record', event: e.id } });
  });

  it('answers 400 for wrong, stale, future and missing signatures, 405/404 for other methods and paths, and changes nothing', async () => {
    const handler = environment();
    const e = billingEvent('invoice.payment_failed', 0);
    expect(await call(handler, signed(e, { secrets: ['whsec_wrong'] }))).toMatchObject({ status: 400, body: { error: 'signature-mismatch' } });
    expect(await call(handler, signed(e, { at: clock - 301_000 }))).toMatchObject({ status: 400, body: { error: 'signature-stale' } });
    expect(await call(handler, signed(e, { at: clock + 301_000 }))).toMatchObject({ status: 400, body: { error: 'signature-future' } });
    expect(await call(handler, functionUrlEvent(e.text, {}))).toMatchObject({ status: 400, body: { error: 'signature-missing' } });
    expect(await call(handler, functionUrlEvent('', {}, { method: 'GET' }))).toMatchObject({ status: 405 });
    expect(await call(handler, functionUrlEvent(e.text, {}, { path: '/admin' }))).toMatchObject({ status: 404 });
    expect(auditEvents()).toEqual([]);
    expect(tenant().billing).toEqual({ customerId: 'cus_acme' });
  });

  it('accepts every secret of a rotating value and fetches a rotated secret again when an old copy does not match', async () => {
    secretValue = `${OLD_CANARY},${CANARY}`;
    const handler = environment();
    expect((await call(handler, signed(billingEvent('invoice.paid', 1), { secrets: [OLD_CANARY] }))).status).toBe(200);
    secretValue = 'whsec_canary_new_0c0ffee1';
    clock += 61_000;
    // The cached copy does not know the new secret: one fresh read, then it matches.
    expect((await call(handler, signed(billingEvent('invoice.paid', 62), { secrets: ['whsec_canary_new_0c0ffee1'] }))).status).toBe(200);
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
    expect(seen.join('\n')).not.toContain('whsec_canary_new_0c0ffee1');
  });

  it('answers 503 naming the reference when the secret is not stored, and 503 (retried) when SSM fails', async () => {
    secretValue = undefined;
    const handler = environment();
    expect(await call(handler, signed(billingEvent('invoice.paid', 1)))).toMatchObject({ status: 503, body: { error: 'not-configured', message: expect.stringContaining(REFERENCE) } });
    ssm.on(GetParameterCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
    expect(await call(environment(), signed(billingEvent('invoice.paid', 1)))).toMatchObject({ status: 503, body: { error: 'secret-unavailable' } });
    expect(seen.some((line) => line.includes('"level":"error"') && line.includes(REFERENCE))).toBe(true);
    expect(auditEvents()).toEqual([]);
  });

  it('validates its environment at cold start: a bad config is 500, the log names the variable', async () => {
    const handler = environment({ ...ENV, [BILLING_FUNCTION_ENV.config]: JSON.stringify({ suspendAfterFailures: 0 }) });
    expect(await call(handler, signed(billingEvent('invoice.paid', 1)))).toMatchObject({ status: 500, body: { error: 'misconfigured' } });
    expect(seen.join('\n')).toMatch(/billing\.suspendAfterFailures/);
    expect(() => readBillingLambdaSettings({ ...ENV, [BILLING_FUNCTION_ENV.secretReference]: CANARY })).toThrow(/SOVEREIGN_BILLING_WEBHOOK_SECRET_REF is not a secret reference/);
    let message = '';
    try {
      readBillingLambdaSettings({ ...ENV, [BILLING_FUNCTION_ENV.secretReference]: CANARY });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toContain(CANARY);
  });
});

describe('exactly once across environments', () => {
  it('the same delivery raced into two environments is applied once; the loser answers 200 duplicate', async () => {
    const [one, two] = [environment(), environment()];
    const e = billingEvent('invoice.payment_failed', 5, { id: 'in_race' });
    const answers = await Promise.all([call(one, signed(e)), call(two, signed(e))]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(answers.filter((a) => a.body.duplicate === true)).toHaveLength(1);
    expect(answers.filter((a) => a.body.action === 'record')).toHaveLength(1);
    expect(tenant().billing?.failedPayments).toBe(1);
    expect([...db.table(TENANTS).keys()].filter((k) => k.startsWith('demo#billing-event'))).toHaveLength(1);
    expect(auditEvents().filter((a) => a.outcome === 'success' && a.args.event === e.id)).toHaveLength(1);
  });

  it('when both environments reach the commit, the conditional put of the event id fails for the second', async () => {
    // No tenant to re-check: both decide, both commit; only the ledger's condition stands between them.
    const [one, two] = [environment(), environment()];
    const e = { id: 'evt_stranger', text: JSON.stringify({ id: 'evt_stranger', type: 'invoice.paid', created: NOW / 1000, data: { object: { customer: 'cus_nobody' } } }) };
    const answers = await Promise.all([call(one, signed(e)), call(two, signed(e))]);
    expect(answers.map((a) => a.body.duplicate ?? false).sort()).toEqual([false, true]);
    const claims = transactions.filter((t) => t.partitions.includes('demo#billing-event'));
    expect(claims.map((t) => t.cancelled)).toEqual([false, true]);
    expect(auditEvents().filter((a) => a.outcome === 'success')).toHaveLength(1);
  });

  it('the ledger claim and the tenant change commit together: a claimed event id cancels the whole transaction', async () => {
    const session = openAwsSession({ project: 'demo', stage: 'dev', clients, sleep: async () => undefined });
    const project = controlPlaneProject(readBillingLambdaSettings(ENV));
    const state = new AwsState(project, { session, sleep: async () => undefined, now: () => clock });
    const ledger = awsBillingLedger(state, { now: () => clock });
    const entry = { id: 'evt_once', type: 'invoice.paid', created: NOW / 1000, tenant: 'acme', outcome: 'record', at: new Date(clock).toISOString() };
    const apply = (failedPayments: number) =>
      state.mutate({ command: 'billing webhook', action: 'billing.recorded', tenant: 'acme' }, async (tx) => {
        const current = (await state.getTenant('acme'))!;
        await ledger.stage(tx, entry, { key: 'cus_acme:invoices', created: entry.created });
        tx.putTenant({ ...current, billing: { ...current.billing, failedPayments } });
      });
    await apply(1);
    const error = await apply(7).catch((e: unknown) => e);
    expect(ledgerConflict(error)).toBe('duplicate');
    expect(tenant().billing?.failedPayments).toBe(1);
    const item = db.table(TENANTS).get(FakeDocumentTables.key('demo#billing-event', 'evt_once'))!;
    expect(item).toMatchObject({ type: 'invoice.paid', tenant: 'acme', outcome: 'record', purgeAt: Math.floor(clock / 1000) + PROCESSED_RETENTION_DAYS * 86_400 });
    expect(await ledger.findProcessed('evt_once')).toMatchObject({ id: 'evt_once', outcome: 'record' });
  });

  it('a watermark only moves forward: staging an older one than stored fails the commit', async () => {
    const session = openAwsSession({ project: 'demo', stage: 'dev', clients, sleep: async () => undefined });
    const state = new AwsState(controlPlaneProject(readBillingLambdaSettings(ENV)), { session, sleep: async () => undefined, now: () => clock });
    const ledger = awsBillingLedger(state, { now: () => clock });
    const stage = (id: string, created: number) =>
      state.mutate({ command: 'billing webhook', action: 'billing.recorded', tenant: null }, (tx) =>
        ledger.stage(tx, { id, type: 'invoice.paid', created, tenant: null, outcome: 'record', at: '' }, { key: 'cus_acme:invoices', created }),
      );
    await stage('evt_w1', 200);
    await stage('evt_w2', 200);
    expect(ledgerConflict(await stage('evt_w3', 100).catch((e: unknown) => e))).toBe('watermark');
    expect(await ledger.watermark('cus_acme:invoices')).toBe(200);
    expect(await ledger.findProcessed('evt_w3')).toBeUndefined();
  });
});

function planChange(): { id: string; text: string } {
  return billingEvent('customer.subscription.updated', 5, { id: 'sub_1', items: { data: [{ price: { id: 'price_pro' } }] } });
}

function acmeTemplate(tier: Tier) {
  return plainTenantTemplate('demo', 'dev', 'acme', tier);
}

/** acme's stack as a deploy leaves it: its template, resources and tags. */
function deployAcme(template: unknown = acmeTemplate('basic')) {
  const stack = cfn.seed('sovereign-dev-acme', 'UPDATE_COMPLETE', (template as { Resources: Record<string, unknown> }).Resources ?? {});
  stack.body = JSON.stringify(template);
  stack.tags = tagList(tenantTags({ project: 'demo', stage: 'dev', tenant: 'acme' }));
  return stack;
}

type Json = Record<string, any>;

/** A value only AWS error text holds (the signing secret would be masked by the redactor anyway). */
const AWS_TEXT = 'quoted-template-value-7f3a91';

describe('plan changes re-tier the deployed stack on aws', () => {
  it('updates the stack to the new tier\'s limits through a change set: GetTemplate → CreateChangeSet → ExecuteChangeSet', async () => {
    const stack = deployAcme();
    const answer = await call(environment(), signed(planChange()));
    expect(answer).toMatchObject({ status: 200, body: { action: 'change-tier', tier: 'premium', redeployed: true, redeploy: 'complete', stackStatus: 'UPDATE_COMPLETE' } });
    expect(answer.body.changeSet).toMatch(/^arn:aws:cloudformation:eu-west-1:123456789012:changeSet\/sovereign-/);
    expect(tenant().tier).toBe('premium');

    expect(cfn.mock.commandCalls(GetTemplateCommand)[0]!.args[0].input).toMatchObject({ StackName: stack.id, TemplateStage: 'Original' });
    const create = cfn.mock.commandCalls(CreateChangeSetCommand)[0]!.args[0].input;
    expect(create).toMatchObject({ StackName: 'sovereign-dev-acme', ChangeSetType: 'UPDATE', Capabilities: ['CAPABILITY_NAMED_IAM'], Tags: stack.tags });
    const sent = JSON.parse(create.TemplateBody!) as Json;
    expect(sent).toEqual(acmeTemplate('premium'));
    const fn = sent.Resources.Function.Properties;
    expect([fn.MemorySize, fn.ReservedConcurrentExecutions, fn.Environment.Variables.SOVEREIGN_TIER]).toEqual([TIERS.premium.memorySize, TIERS.premium.reservedConcurrency, 'premium']);
    expect(sent.Resources.HttpApiStage.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: TIERS.premium.rateLimit, ThrottlingBurstLimit: TIERS.premium.burstLimit });
    expect(sent.Resources.LogGroup.Properties.RetentionInDays).toBe(TIERS.premium.logRetentionDays);
    // Everything else is the template as deployed.
    const old = acmeTemplate('basic') as Json;
    for (const id of Object.keys(old.Resources).filter((id) => !RETIERED_RESOURCES.includes(id))) expect(sent.Resources[id]).toEqual(old.Resources[id]);
    expect({ ...fn, MemorySize: 0, ReservedConcurrentExecutions: 0, Environment: { Variables: { ...fn.Environment.Variables, SOVEREIGN_TIER: '' } } }).toEqual({
      ...old.Resources.Function.Properties,
      MemorySize: 0,
      ReservedConcurrentExecutions: 0,
      Environment: { Variables: { ...old.Resources.Function.Properties.Environment.Variables, SOVEREIGN_TIER: '' } },
    });
    expect(sent.Outputs).toEqual(old.Outputs);

    expect(cfn.mock.commandCalls(ExecuteChangeSetCommand)).toHaveLength(1);
    expect(stack.status).toBe('UPDATE_COMPLETE');
    expect(JSON.parse(stack.body!)).toEqual(acmeTemplate('premium'));
    expect(seen.some((line) => line.includes('sovereign-dev-acme updated to tier premium'))).toBe(true);
  });

  it('a stack already at the tier is success without executing anything (the empty change set is deleted)', async () => {
    deployAcme(acmeTemplate('premium'));
    const answer = await call(environment(), signed(planChange()));
    expect(answer.body).toMatchObject({ redeployed: true, redeploy: 'unchanged' });
    expect(cfn.mock.commandCalls(DeleteChangeSetCommand)).toHaveLength(1);
    expect(cfn.mock.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
  });

  it('answers in-progress with the change set when the update outlasts the wait, and CloudFormation finishes it', async () => {
    const stack = deployAcme();
    const handler = environment(ENV, { redeployWaitMs: 2_500, sleep: async (ms) => void (clock += ms) });
    const answer = await call(handler, signed(planChange()));
    expect(answer.body).toMatchObject({ redeployed: true, redeploy: 'in-progress', stackStatus: 'UPDATE_IN_PROGRESS', changeSet: expect.stringContaining(':changeSet/') });
    expect(tenant().tier).toBe('premium');
    expect(stack.status).toBe('UPDATE_IN_PROGRESS');
    expect(seen.some((line) => line.includes('CloudFormation finishes it'))).toBe(true);
  });

  it('a change set CloudFormation cannot compute is reported without its text; nothing is executed, the tier stays recorded', async () => {
    const stack = deployAcme();
    // The status reason is AWS text that can quote template values: it must not reach the answer or the log.
    cfn.mock.on(DescribeChangeSetCommand).resolves({ Status: 'FAILED', StatusReason: `Template error: value ${AWS_TEXT} is invalid` });
    const answer = await call(environment(), signed(planChange()));
    expect(answer.body).toMatchObject({ action: 'change-tier', tier: 'premium', redeployed: false });
    expect(answer.body.redeployReason).toMatch(/CloudFormation could not compute the change set of sovereign-dev-acme .*sovereign tenant diff acme/);
    expect(answer.body.redeployReason).toContain('sovereign tenant deploy acme');
    expect(cfn.mock.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
    expect(cfn.mock.commandCalls(DeleteChangeSetCommand)).toHaveLength(1);
    expect(JSON.parse(stack.body!)).toEqual(acmeTemplate('basic'));
    expect(tenant().tier).toBe('premium');
    expect(seen.join('\n')).not.toContain(AWS_TEXT);
  });

  it('a change set still being computed when the wait ends is deleted and reported; nothing is executed', async () => {
    deployAcme();
    cfn.mock.on(DescribeChangeSetCommand).resolves({ Status: 'CREATE_IN_PROGRESS' });
    const answer = await call(environment(ENV, { redeployWaitMs: 5_000, sleep: async (ms) => void (clock += ms) }), signed(planChange()));
    expect(answer.body).toMatchObject({ redeployed: false, redeployReason: expect.stringContaining('did not compute the change set of sovereign-dev-acme in time') });
    expect(cfn.mock.commandCalls(DeleteChangeSetCommand)).toHaveLength(1);
    expect(cfn.mock.commandCalls(ExecuteChangeSetCommand)).toHaveLength(0);
    expect(cfn.mock.commandCalls(DescribeChangeSetCommand).length).toBeLessThanOrEqual(7);
  });

  it('an update that fails and rolls back is redeployed:false naming the resource, not the AWS message', async () => {
    const stack = deployAcme();
    cfn.failures.set('Function', `Resource handler returned message: "${AWS_TEXT}"`);
    const answer = await call(environment(), signed(planChange()));
    expect(answer.body).toMatchObject({ redeployed: false, redeployReason: expect.stringContaining('ended in UPDATE_ROLLBACK_COMPLETE (Function, AWS::Lambda::Function, UPDATE_FAILED)') });
    expect(stack.status).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(tenant().tier).toBe('premium');
    expect(seen.join('\n')).not.toContain(AWS_TEXT);
  });

  it('refuses a stack whose template is not acme\'s sovereign template, and leaves it alone', async () => {
    for (const foreign of [renderControlPlaneStack({ project: 'demo', stage: 'dev' }), { ...acmeTemplate('basic'), Metadata: { Sovereign: { ...(acmeTemplate('basic').Metadata as Json).Sovereign, tenant: 'globex' } } }]) {
      cfn.stacks.clear();
      cfn.mock.resetHistory();
      deployAcme(foreign);
      seedTenant({ tier: 'basic', status: 'active', billing: { customerId: 'cus_acme' } });
      const answer = await call(environment(), signed(planChange()));
      expect(answer.body).toMatchObject({ redeployed: false, redeployReason: expect.stringMatching(/not a sovereign tenant template.*left alone/) });
      expect(cfn.mock.commandCalls(GetTemplateCommand)).toHaveLength(1);
      expect(cfn.mock.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
    }
  });

  it('a stack that is busy, or a denied call, is a reason naming the step and the error code only', async () => {
    const stack = deployAcme();
    stack.status = 'UPDATE_IN_PROGRESS';
    expect((await call(environment(), signed(planChange()))).body.redeployReason).toContain('is UPDATE_IN_PROGRESS, not ready for an update');
    stack.status = 'UPDATE_COMPLETE';
    seedTenant({ tier: 'basic', status: 'active', billing: { customerId: 'cus_acme' } });
    cfn.mock.on(GetTemplateCommand).rejects(awsError('AccessDenied', `User: ${ROLE_ARN} is not authorized to perform: cloudformation:GetTemplate ${AWS_TEXT}`, 403));
    const denied = await call(environment(), signed(billingEvent('customer.subscription.updated', 6, { id: 'sub_1', items: { data: [{ price: { id: 'price_pro' } }] } })));
    expect(denied.body.redeployReason).toMatch(/^AWS denied reading the template of sovereign-dev-acme \(AccessDenied\)/);
    expect(denied.body.redeployReason).not.toContain('not authorized');
    expect(cfn.mock.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
    expect(seen.join('\n')).not.toContain(AWS_TEXT);
  });
});

describe('ordering, plans and offboarding on aws', () => {
  it('an older payment failure arriving after a newer payment does not count (watermark in DynamoDB)', async () => {
    const handler = environment();
    await call(handler, signed(billingEvent('invoice.payment_failed', 10, { id: 'in_1' })));
    await call(handler, signed(billingEvent('invoice.paid', 30, { id: 'in_1' })));
    const late = await call(handler, signed(billingEvent('invoice.payment_failed', 20, { id: 'in_1' })));
    expect(late.body).toMatchObject({ action: 'ignored', reason: expect.stringContaining('older') });
    expect(tenant().billing?.failedPayments).toBe(0);
    expect(db.table(TENANTS).get(FakeDocumentTables.key('demo#billing-watermark', 'cus_acme:invoices'))).toMatchObject({ created: NOW / 1000 + 30 });
    // A replay of an applied event is a duplicate, answered from the ledger.
    const replay = billingEvent('invoice.payment_failed', 40, { id: 'in_2' }, 'evt_replayed');
    await call(handler, signed(replay));
    expect((await call(handler, signed(replay))).body).toMatchObject({ duplicate: true, outcome: 'record' });
    expect(tenant().billing?.failedPayments).toBe(1);
  });

  it('a plan change for a tenant without a stack records the tier and says the next deploy applies it', async () => {
    const answer = await call(environment(), signed(planChange()));
    expect(answer.body).toMatchObject({ action: 'change-tier', tier: 'premium', redeployed: false, redeployReason: expect.stringContaining('sovereign tenant deploy acme') });
    expect(answer.body.redeployReason).toContain('stack sovereign-dev-acme does not exist');
    expect(tenant()).toMatchObject({ tier: 'premium', billing: { plan: 'price_pro', subscriptionId: 'sub_1' } });
    expect(auditEvents().at(-1)).toMatchObject({ action: 'tenant.tier', args: { from: 'basic', to: 'premium' } });
    expect(cfn.mock.commandCalls(GetTemplateCommand)).toHaveLength(0);
    expect(cfn.mock.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
  });

  it('a deleted subscription schedules offboarding; once due it is reported for `sovereign tenant offboard`, not performed', async () => {
    const handler = environment();
    const answer = await call(handler, signed(billingEvent('customer.subscription.deleted', 0, { id: 'sub_1' })));
    expect(answer.body).toMatchObject({ action: 'schedule-offboard', offboardAfter: new Date(NOW + 3_600_000).toISOString() });
    clock = NOW + 3_600_000 + 1000;
    const later = await call(handler, signed(billingEvent('invoice.paid', 3700)));
    expect(later.body).toMatchObject({ offboardDue: ['acme'], offboardHint: expect.stringContaining('sovereign tenant offboard --due') });
    expect(later.body.offboarded).toBeUndefined();
    expect(tenant().status).toBe('active');
    expect(seen.some((line) => line.includes('offboarding due for acme'))).toBe(true);
  });
});
