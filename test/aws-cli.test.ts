import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CloudFormationClient, ExecuteChangeSetCommand } from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { newTenantRecord } from '../src/tenants/tenants.js';
import { mockClient } from 'aws-sdk-client-mock';
import { run } from '../src/cli.js';
import { awsError, FakeCloudFormation, FakeDocumentTables } from './aws-fakes.js';

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

/** A class-level S3 mock holding uploaded keys: HeadObject answers 404 until PutObject stored the key. */
function mockArtifactBucket() {
  const s3 = mockClient(S3Client);
  const stored = new Set<string>();
  s3.on(HeadObjectCommand).callsFake(async (input: { Key: string }) => {
    if (!stored.has(input.Key)) throw awsError('NotFound', 'Not Found', 404);
    return {};
  });
  s3.on(PutObjectCommand).callsFake(async (input: { Key: string }) => (stored.add(input.Key), {}));
  return { s3, stored };
}

describe('sovereign bootstrap with a billing section (in process, mocked AWS)', () => {
  function withBilling(billing: Record<string, unknown>): void {
    writeFileSync(join(project, 'sovereign.config.json'), JSON.stringify({ project: 'demo', target: 'aws', region: 'eu-west-1', billing }));
  }

  it('builds and uploads the billing function, asks for its new role (--yes), and deploys it naming the artifact hash', async () => {
    withBilling({ suspendAfterFailures: 2, plans: { price_pro: 'premium' } });
    const { s3, stored } = mockArtifactBucket();
    try {
      // The function's role is an IAM change: without a terminal it needs --yes.
      expect(await run(['bootstrap', '-C', project])).toBe(2);
      expect(stderr).toMatch(/--yes/);
      expect(cfn.stacks.size).toBe(0); // asked before anything was deployed
      stdout = '';
      expect(await run(['bootstrap', '--yes', '--json', '-C', project])).toBe(0);
      const result = JSON.parse(stdout) as { billingWebhook: { sha256: string; key: string }; changes: Array<{ logicalId: string }> };
      expect(result.billingWebhook.key).toBe(`artifacts/${result.billingWebhook.sha256}.zip`);
      expect(stored.has(result.billingWebhook.key)).toBe(true);
      const template = cfn.find('sovereign-dev-control-plane')!.resources as Record<string, { Properties: Record<string, any> }>;
      expect(template.BillingWebhookFunction!.Properties.Code.S3Key).toBe(result.billingWebhook.key);
      expect(template.BillingWebhookFunction!.Properties.Environment.Variables.SOVEREIGN_BILLING_WEBHOOK_SECRET_REF).toBe('ssm:/dev/_sovereign/billing/webhook_secret');
    } finally {
      s3.restore();
    }
  }, 60_000);

  it('a billing.webhookSecret that is not a reference is exit 2 before anything is deployed, and never echoed', async () => {
    withBilling({ webhookSecret: 'whsec_pasted_by_mistake_123' });
    expect(await run(['bootstrap', '--yes', '-C', project])).toBe(2);
    expect(stderr).toMatch(/^error: .*billing\.webhookSecret: not a secret reference/m);
    expect(stderr + stdout).not.toContain('whsec_pasted_by_mistake_123');
    expect(cfn.stacks.size).toBe(0);
  });
});

describe('sovereign tenant deploy / diff --target aws (in process, mocked AWS)', () => {
  it('builds the artifact, uploads it once, deploys the stack through a change set, then diff finds nothing to change', async () => {
    const { s3, stored } = mockArtifactBucket();
    // The registry may be local or in the control-plane table: the tenant exists in both.
    const db = new FakeDocumentTables();
    db.table('sovereign_dev_tenants').set(FakeDocumentTables.key('demo#tenant', 'acme'), { pk: 'demo#tenant', sk: 'acme', version: 1, record: newTenantRecord({ id: 'acme', tier: 'basic', stage: 'dev', extensions: [], by: 'x', now: '2026-01-01T00:00:00.000Z' }) });
    const docs = mockClient(DynamoDBDocumentClient);
    db.serve(docs);
    try {
      expect(await run(['tenant', 'create', 'acme', '--no-deploy', '--target', 'local', '-C', project])).toBe(0);
      expect(await run(['bootstrap', '-C', project])).toBe(0);
      stdout = '';
      stderr = '';
      // A new tenant stack adds an IAM role: without --yes and without a terminal that stops (exit 2) and changes nothing
      expect(await run(['tenant', 'deploy', 'acme', '-C', project])).not.toBe(0);
      expect(stderr, stderr).toMatch(/--yes/);
      expect(cfn.find('sovereign-dev-acme')?.status ?? 'absent').not.toBe('CREATE_COMPLETE');
      stdout = '';
      expect(await run(['tenant', 'deploy', 'acme', '--yes', '--json', '-C', project])).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ target: 'aws' });
      const stack = cfn.find('sovereign-dev-acme')!;
      expect(stack.status).toBe('CREATE_COMPLETE');
      expect(stack.tags).toContainEqual({ Key: 'sovereign:tenant', Value: 'acme' });
      expect([...stored].some((key) => /^artifacts\/[0-9a-f]{64}\.zip$/.test(key))).toBe(true);
      stdout = '';
      expect(await run(['tenant', 'diff', 'acme', '--exit-code', '--json', '-C', project])).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ tenant: 'acme', target: 'aws', status: 'up-to-date', changed: false });
    } finally {
      s3.restore();
      docs.restore();
    }
  });
});

describe('sovereign tenant create --target aws (in process, mocked AWS)', () => {
  it('refuses before it registers anything when the first deploy must confirm its IAM and cannot ask', async () => {
    const db = new FakeDocumentTables();
    const docs = mockClient(DynamoDBDocumentClient);
    db.serve(docs);
    try {
      expect(await run(['tenant', 'create', 'initech', '-C', project])).toBe(2);
      expect(stderr).toMatch(/^error: the first deploy of tenant "initech" creates its IAM role and policies \(every first deploy creates them\): this needs confirmation, and there is no terminal to ask$/m);
      expect(stderr).toMatch(/^hint: pass --yes to confirm it, or create the tenant with --no-deploy/m);
      expect(db.table('sovereign_dev_tenants').has(FakeDocumentTables.key('demo#tenant', 'initech'))).toBe(false);
      expect(docs.calls().filter((c) => c.args[0].constructor.name !== 'GetCommand' && c.args[0].constructor.name !== 'QueryCommand')).toEqual([]);
      expect(cfn.mock.calls()).toEqual([]);
    } finally {
      docs.restore();
    }
  });

  it('registers the tenant in the control-plane table and writes no local key or vault', async () => {
    const db = new FakeDocumentTables();
    const docs = mockClient(DynamoDBDocumentClient);
    db.serve(docs);
    try {
      expect(await run(['tenant', 'create', 'globex', '--no-deploy', '--json', '-C', project]), stderr).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ tenant: { id: 'globex', status: 'provisioning' }, deployed: false });
      expect(db.table('sovereign_dev_tenants').has(FakeDocumentTables.key('demo#tenant', 'globex'))).toBe(true);
      // The aws target keeps a tenant's secrets in SSM and Secrets Manager, never in the project folder.
      expect(existsSync(join(project, '.sovereign', 'keys'))).toBe(false);
      expect(existsSync(join(project, '.sovereign', 'vault', 'globex.vault'))).toBe(false);
    } finally {
      docs.restore();
    }
  });
});
