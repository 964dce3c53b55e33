import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { Redactor } from '../redact.js';
import { createAwsSecretFetcher, SecretFetchError } from './aws.js';
import { SecretResolver } from './resolver.js';

const ssm = mockClient(SSMClient);
const sm = mockClient(SecretsManagerClient);
afterEach(() => {
  ssm.reset();
  sm.reset();
});

function awsError(name: string): Error {
  const error = new Error(`${name} happened`);
  error.name = name;
  return error;
}

function resolver() {
  const redactor = new Redactor();
  return { redactor, resolver: new SecretResolver({ backend: createAwsSecretFetcher(), redactor }) };
}

describe('AWS secret backend', () => {
  it('reads SSM parameters with decryption, once for many concurrent callers', async () => {
    ssm.on(GetParameterCommand, { Name: '/dev/tenants/acme/a/key', WithDecryption: true }).resolves({ Parameter: { Value: 'ssm-value-123' } });
    const { resolver: r, redactor } = resolver();
    const values = await Promise.all(Array.from({ length: 100 }, () => r.resolve('ssm:/dev/tenants/acme/a/key')));
    expect(new Set(values)).toEqual(new Set(['ssm-value-123']));
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
    expect(redactor.redactString('x ssm-value-123 y')).toBe('x *** y');
  });

  it('extracts JSON keys and keeps version stages apart in the cache', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'dev/tenants/acme/a', VersionStage: 'AWSCURRENT' }).resolves({ SecretString: JSON.stringify({ token: 'current-token', port: 5432 }) });
    sm.on(GetSecretValueCommand, { SecretId: 'dev/tenants/acme/a', VersionStage: 'AWSPREVIOUS' }).resolves({ SecretString: JSON.stringify({ token: 'previous-token' }) });
    const { resolver: r } = resolver();
    expect(await r.resolve('secretsmanager:dev/tenants/acme/a:token')).toBe('current-token');
    expect(await r.resolve('secretsmanager:dev/tenants/acme/a:port')).toBe('5432');
    expect(await r.resolve('secretsmanager:dev/tenants/acme/a:token:AWSPREVIOUS')).toBe('previous-token');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(await r.status('secretsmanager:dev/tenants/acme/a:absent')).toBe('missing');
    // Invalidating the target drops every stage of it.
    expect(r.invalidate(['secretsmanager:dev/tenants/acme/a'])).toBe(2);
  });

  it('maps not-found and denied for health and wraps other failures without the value', async () => {
    ssm.on(GetParameterCommand, { Name: '/dev/tenants/acme/a/missing' }).rejects(awsError('ParameterNotFound'));
    ssm.on(GetParameterCommand, { Name: '/dev/tenants/acme/a/denied' }).rejects(awsError('AccessDeniedException'));
    ssm.on(GetParameterCommand, { Name: '/dev/tenants/acme/a/slow' }).rejects(awsError('ThrottlingException'));
    sm.on(GetSecretValueCommand).rejects(awsError('ResourceNotFoundException'));
    const { resolver: r } = resolver();
    expect(await r.status('ssm:/dev/tenants/acme/a/missing')).toBe('missing');
    expect(await r.status('ssm:/dev/tenants/acme/a/denied')).toBe('denied');
    expect(await r.status('ssm:/dev/tenants/acme/a/slow')).toBe('error');
    expect(await r.status('secretsmanager:dev/tenants/acme/b')).toBe('missing');
    const error = await r.resolve('ssm:/dev/tenants/acme/a/slow').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretFetchError);
    expect((error as Error).message).toBe('reading secret ssm:/dev/tenants/acme/a/slow failed (ThrottlingException)');
  });

  it('honours AWS_ENDPOINT_URL for lazily created clients', async () => {
    ssm.restore();
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(String(req.headers['x-amz-target']));
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ Parameter: { Name: '/x', Value: 'from-endpoint', Type: 'SecureString' } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    try {
      const backend = createAwsSecretFetcher();
      expect(await backend.fetch({ service: 'ssm', name: '/x' })).toBe('from-endpoint');
      expect(seen).toEqual(['AmazonSSM.GetParameter']);
    } finally {
      process.env = saved;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
