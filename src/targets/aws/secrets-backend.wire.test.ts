/**
 * The aws backend with real SDK clients against a loopback HTTP endpoint: the retry mode really
 * retries, endpoints resolve from AWS_ENDPOINT_URL, and wire errors map to exit codes. (A separate
 * file: aws-sdk-client-mock replaces `send` on every client of a class.)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseReferenceOrThrow } from '../../contract/reference.js';
import { SecretStoreError } from '../../secrets/store.js';
import { AwsSecretStore, createSecretClients } from './secrets-backend.js';

const CANARY = 'canary-wire-3e8a';
const ssmRef = parseReferenceOrThrow('ssm:/dev/tenants/acme/avalara/account_id');
const smRef = parseReferenceOrThrow('secretsmanager:dev/tenants/acme/avalara:license_key');

async function caught(promise: Promise<unknown>): Promise<SecretStoreError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(SecretStoreError);
  expect(String((error as Error).message)).not.toContain(CANARY);
  return error as SecretStoreError;
}


describe('real SDK clients', () => {
  let server: Server;
  let endpoint: string;
  let requests: Array<{ target: string | undefined; body: string }>;
  let respond: (target: string | undefined, count: number) => { status: number; body: unknown };

  beforeEach(async () => {
    requests = [];
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      req.on('end', () => {
        const target = req.headers['x-amz-target'] as string | undefined;
        requests.push({ target, body });
        const answer = respond(target, requests.length);
        res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `rid-${requests.length}` });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    delete process.env.AWS_ENDPOINT_URL;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-example' };

  it('retries throttling with the adaptive retry mode, then succeeds', async () => {
    respond = (_target, count) => count <= 2
      ? { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } }
      : { status: 200, body: { Name: 'dev/tenants/acme/avalara', VersionIdsToStages: { v1: ['AWSCURRENT'] } } };
    const clients = createSecretClients({ endpoint, region: 'eu-west-1', credentials });
    expect(((await clients.secretsManager.config.retryStrategy()) as { mode?: string }).mode).toBe('adaptive');
    expect(((await clients.ssm.config.retryStrategy()) as { mode?: string }).mode).toBe('adaptive');
    const real = new AwsSecretStore(clients);
    expect(await real.describe(smRef)).toMatchObject({ currentVersionId: 'v1' });
    expect(requests.map((request) => request.target)).toEqual(['secretsmanager.DescribeSecret', 'secretsmanager.DescribeSecret', 'secretsmanager.DescribeSecret']);
  });

  it('gives up after the configured attempts with exit 1', async () => {
    respond = () => ({ status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } });
    const real = new AwsSecretStore(createSecretClients({ endpoint, region: 'eu-west-1', credentials, maxAttempts: 2 }));
    const error = await caught(real.describe(smRef));
    expect([error.reason, error.exitCode]).toEqual(['failed', 1]);
    expect(error.hint).toMatch(/throttling/);
    expect(requests).toHaveLength(2);
  });

  it('honours AWS_ENDPOINT_URL and maps AccessDenied from the wire to exit 5', async () => {
    process.env.AWS_ENDPOINT_URL = endpoint;
    respond = () => ({ status: 400, body: { __type: 'AccessDeniedException', message: `User arn:aws:iam::1:user/x is not authorized ${CANARY}` } });
    const real = new AwsSecretStore(createSecretClients({ region: 'eu-west-1', credentials }));
    const error = await caught(real.readValue(ssmRef));
    expect([error.reason, error.exitCode]).toEqual(['denied', 5]);
    expect(requests.map((request) => request.target)).toEqual(['AmazonSSM.GetParameter']);
    expect(JSON.parse(requests[0]!.body)).toEqual({ Name: ssmRef.name, WithDecryption: true });
  });

  it('reports an unreachable endpoint as a failure the user can act on', async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const real = new AwsSecretStore(createSecretClients({ endpoint, region: 'eu-west-1', credentials, maxAttempts: 1 }));
    const error = await caught(real.readValue(smRef));
    expect([error.reason, error.exitCode]).toEqual(['failed', 1]);
    expect(error.message).toMatch(/the endpoint cannot be reached \(ECONNREFUSED\)/);
  });
});
