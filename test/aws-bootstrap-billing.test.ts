/**
 * `sovereign bootstrap` with a billing section: the billing function's artifact is built, uploaded
 * to the artifact bucket the same stack creates (so the first bootstrap deploys twice), and the
 * template names it by its hash. The built bundle is then run in a plain Node process.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { beforeEach, describe, expect, it } from 'vitest';
import { CreateChangeSetCommand, ExecuteChangeSetCommand } from '@aws-sdk/client-cloudformation';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { buildBillingWebhookArtifact } from '../src/artifact/control-plane.js';
import { readArtifactManifest } from '../src/artifact/pack.js';
import { readZip } from '../src/artifact/zip.js';
import { bootstrapControlPlane, type BootstrapBillingOptions } from '../src/targets/aws/bootstrap.js';
import { createAwsClients, type AwsClients } from '../src/targets/aws/clients.js';
import { openAwsSession } from '../src/targets/aws/session.js';
import { awsError, FakeCloudFormation, instantSleep } from './aws-fakes.js';

type Json = Record<string, any>;

let clients: AwsClients;
let cfn: FakeCloudFormation;
let stored: Map<string, Buffer>;
let artifactsDir: string;

beforeEach(() => {
  clients = createAwsClients({ region: 'eu-west-1' });
  cfn = new FakeCloudFormation(clients.cloudformation);
  mockClient(clients.sts).on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:sts::123456789012:assumed-role/deployer/ci', UserId: 'AROA:ci' });
  stored = new Map();
  const s3 = mockClient(clients.s3);
  s3.on(HeadObjectCommand).callsFake(async (input: { Key: string }) => {
    if (!stored.has(input.Key)) throw awsError('NotFound', 'Not Found', 404);
    return {};
  });
  s3.on(PutObjectCommand).callsFake(async (input: { Key: string; Body: Buffer }) => (stored.set(input.Key, Buffer.from(input.Body)), {}));
  artifactsDir = join(mkdtempSync(join(tmpdir(), 'sovereign-bootstrap-')), 'artifacts');
});

function billing(built: string[] = []): BootstrapBillingOptions {
  return {
    artifact: async () => {
      const packed = await buildBillingWebhookArtifact(artifactsDir);
      built.push(packed.sha256);
      return packed;
    },
    config: { suspendAfterFailures: 3, offboardGracePeriod: '30d', plans: { price_pro: 'premium' } },
    webhookSecret: 'ssm:/dev/_sovereign/billing/webhook_secret',
  };
}

function templates(): Json[] {
  return cfn.mock.commandCalls(CreateChangeSetCommand).map((c) => JSON.parse(c.args[0].input.TemplateBody!) as Json);
}

describe('bootstrap with the billing webhook', () => {
  it('creates the bucket first, uploads the function artifact, then deploys the function naming its hash; the next run changes nothing', async () => {
    const session = openAwsSession({ project: 'demo', stage: 'dev', clients, sleep: instantSleep().sleep });
    const questions: string[] = [];
    const built: string[] = [];
    const first = await bootstrapControlPlane({ session, approve: async (q) => (questions.push(q), true), billing: billing(built) });

    const [sha] = built;
    expect(sha).toMatch(/^[0-9a-f]{64}$/);
    expect(first).toMatchObject({ outcome: 'created', stackName: 'sovereign-dev-control-plane', billingWebhook: { sha256: sha, key: `artifacts/${sha}.zip`, uploaded: true } });
    // Two change sets: without the function (the bucket does not exist yet), then with it.
    const [before, after] = templates();
    expect(Object.keys(before!.Resources)).not.toContain('BillingWebhookFunction');
    expect(after!.Resources.BillingWebhookFunction.Properties.Code).toEqual({ S3Bucket: { Ref: 'ArtifactBucket' }, S3Key: `artifacts/${sha}.zip` });
    expect(after!.Metadata.Sovereign.billingWebhookArtifact).toBe(sha);
    // The uploaded bytes are the artifact the template names.
    const body = stored.get(`artifacts/${sha}.zip`)!;
    expect(createHash('sha256').update(body).digest('hex')).toBe(sha);
    expect(readZip(body).map((e) => e.name).sort()).toEqual(['index.mjs', 'manifest.json']);
    // Both steps reported as one creation; the new role was approved.
    expect(first.summary!.changes.map((c) => c.logicalId)).toEqual(expect.arrayContaining(['TenantTable', 'ArtifactBucket', 'BillingWebhookFunction', 'BillingWebhookRole', 'BillingWebhookUrl']));
    expect(first.summary!.iamBroadening).toBe(true);
    expect(questions).toHaveLength(1);
    expect(cfn.find('sovereign-dev-control-plane')!.status).toBe('UPDATE_COMPLETE');

    const second = await bootstrapControlPlane({ session, approve: async () => true, billing: billing(built) });
    expect(built[1]).toBe(sha); // deterministic: same sources, same bytes
    expect(second).toMatchObject({ outcome: 'unchanged', billingWebhook: { uploaded: false } });
    expect(cfn.mock.commandCalls(CreateChangeSetCommand)).toHaveLength(3);
    expect(cfn.mock.commandCalls(ExecuteChangeSetCommand)).toHaveLength(2);
  }, 60_000);

  it('without billing inputs the control plane has no function and nothing is uploaded', async () => {
    const session = openAwsSession({ project: 'demo', stage: 'dev', clients, sleep: instantSleep().sleep });
    const result = await bootstrapControlPlane({ session, approve: async () => true });
    expect(result.billingWebhook).toBeUndefined();
    expect(Object.keys(templates()[0]!.Resources).filter((id) => id.startsWith('Billing'))).toEqual([]);
    expect(stored.size).toBe(0);
  });

  it('the built function loads in plain Node and answers from its handler', async () => {
    const packed = await buildBillingWebhookArtifact(artifactsDir);
    expect(readArtifactManifest(packed.path)).toMatchObject({ component: 'billing-webhook', awsSdk: 'bundle', extensions: [] });
    const dir = mkdtempSync(join(tmpdir(), 'sovereign-billing-fn-'));
    mkdirSync(dir, { recursive: true });
    for (const entry of readZip(readFileSync(packed.path))) writeFileSync(join(dir, entry.name), entry.data);
    // Without its environment the function says it is misconfigured (validated at cold start), as JSON.
    const script = `const m = await import(${JSON.stringify(pathToFileURL(join(dir, 'index.mjs')).href)});
const r = await m.handler({ version: '2.0', rawPath: '/', headers: {}, requestContext: { http: { method: 'POST' } }, body: '{}', isBase64Encoded: false });
process.stderr.write(JSON.stringify(r));`;
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH ?? '' } });
    expect(JSON.parse(stderr)).toMatchObject({ statusCode: 500, body: expect.stringContaining('misconfigured') });
    expect(JSON.parse(stdout.trim().split('\n')[0]!)).toMatchObject({ level: 'error', component: 'billing-webhook', message: expect.stringContaining('SOVEREIGN_PROJECT is not set') });
  }, 60_000);
});
