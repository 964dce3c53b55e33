/**
 * SSM Parameter Store and Secrets Manager backend. The SDK clients are imported lazily, only when
 * the first reference of that service is fetched, and may be injected (tests, custom endpoints).
 * Endpoints follow the SDK's normal chain (`AWS_ENDPOINT_URL_SSM`, `AWS_ENDPOINT_URL`, …).
 */
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretAccessDeniedError, SecretNotFoundError, RuntimeError } from '../errors.js';
import type { SecretFetcher } from './fetcher.js';
import { formatReference, type SecretReference } from '../../contract/reference.js';

export interface AwsSecretFetcherOptions {
  ssm?: SSMClient;
  secretsManager?: SecretsManagerClient;
}

const NOT_FOUND = new Set(['ParameterNotFound', 'ParameterVersionNotFound', 'ResourceNotFoundException']);
const DENIED = new Set(['AccessDeniedException', 'AccessDenied', 'UnrecognizedClientException', 'KMSAccessDeniedException']);

/** A backend failure that is neither "not found" nor "denied" (throttling, network, KMS, …). */
export class SecretFetchError extends RuntimeError {
  constructor(reference: string, options?: { cause?: unknown }) {
    const code = (options?.cause as { name?: string } | undefined)?.name;
    super(`reading secret ${reference} failed${code ? ` (${code})` : ''}`, 503, options);
    this.name = 'SecretFetchError';
  }
}

function mapError(reference: SecretReference, error: unknown): Error {
  const name = (error as { name?: string } | null)?.name ?? '';
  const text = formatReference(reference);
  if (NOT_FOUND.has(name)) return new SecretNotFoundError(text, { cause: error });
  if (DENIED.has(name)) return new SecretAccessDeniedError(text, { cause: error });
  return new SecretFetchError(text, { cause: error });
}

export function createAwsSecretFetcher(options: AwsSecretFetcherOptions = {}): SecretFetcher {
  let ssm: Promise<SSMClient> | undefined = options.ssm ? Promise.resolve(options.ssm) : undefined;
  let secretsManager: Promise<SecretsManagerClient> | undefined = options.secretsManager
    ? Promise.resolve(options.secretsManager)
    : undefined;

  return {
    name: 'aws',
    async fetch(reference) {
      if (reference.service === 'ssm') {
        ssm ??= import('@aws-sdk/client-ssm').then((m) => new m.SSMClient({}));
        const [client, { GetParameterCommand }] = await Promise.all([ssm, import('@aws-sdk/client-ssm')]);
        try {
          const out = await client.send(new GetParameterCommand({ Name: reference.name, WithDecryption: true }));
          const value = out.Parameter?.Value;
          if (value === undefined) throw new SecretNotFoundError(formatReference(reference), { detail: 'no value' });
          return value;
        } catch (error) {
          if (error instanceof RuntimeError) throw error;
          throw mapError(reference, error);
        }
      }
      secretsManager ??= import('@aws-sdk/client-secrets-manager').then((m) => new m.SecretsManagerClient({}));
      const [client, { GetSecretValueCommand }] = await Promise.all([
        secretsManager,
        import('@aws-sdk/client-secrets-manager'),
      ]);
      try {
        const out = await client.send(
          new GetSecretValueCommand({ SecretId: reference.name, VersionStage: reference.versionStage ?? 'AWSCURRENT' }),
        );
        if (out.SecretString !== undefined) return out.SecretString;
        if (out.SecretBinary !== undefined) return Buffer.from(out.SecretBinary).toString('utf8');
        throw new SecretNotFoundError(formatReference(reference), { detail: 'no value' });
      } catch (error) {
        if (error instanceof RuntimeError) throw error;
        throw mapError(reference, error);
      }
    },
  };
}
