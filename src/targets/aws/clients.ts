/**
 * The one place AWS SDK clients are created. Everything else in the aws target receives them
 * (injected), so tests hand in clients whose `send` aws-sdk-client-mock replaces.
 *
 * Settings come from the resolved global options; what they leave out the SDK's default chain
 * fills in (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`, the
 * shared config files, instance and container roles, web identity tokens).
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient, type STSClientConfig } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Credentials every client accepts: a provider the SDK calls again when they near expiry. */
export type AwsCredentials = NonNullable<STSClientConfig['credentials']>;

/** What the global options say about AWS; every field is optional. */
export interface AwsSettings {
  region?: string | undefined;
  profile?: string | undefined;
  /** `--endpoint-url`: one AWS-compatible endpoint for every service. */
  endpoint?: string | undefined;
  /** Attempts per call in the SDK's adaptive retry (default 8: fleet deploys meet throttling). */
  maxAttempts?: number | undefined;
  /** Credentials of an assumed role (a cell's session); the default chain's otherwise. */
  credentials?: AwsCredentials | undefined;
}

/** The clients the aws target uses. */
export interface AwsClients {
  cloudformation: CloudFormationClient;
  s3: S3Client;
  sts: STSClient;
  iam: IAMClient;
  dynamodb: DynamoDBClient;
  /** Document client over `dynamodb` (plain JavaScript values in and out). */
  documents: DynamoDBDocumentClient;
}

export const DEFAULT_MAX_ATTEMPTS = 8;

/** The global options as client settings. */
export function awsSettingsFrom(globals: { region?: string | undefined; profile?: string | undefined; endpointUrl?: string | undefined }): AwsSettings {
  return { region: globals.region, profile: globals.profile, endpoint: globals.endpointUrl };
}

/** The configuration every client gets: only what is set, so the default chain fills the rest. */
export function clientConfig(settings: AwsSettings): {
  region?: string;
  profile?: string;
  endpoint?: string;
  credentials?: AwsCredentials;
  retryMode: string;
  maxAttempts: number;
} {
  return {
    ...(settings.region ? { region: settings.region } : {}),
    // Assumed credentials replace the profile's: a cell's clients never fall back to the home chain.
    ...(settings.credentials ? { credentials: settings.credentials } : settings.profile ? { profile: settings.profile } : {}),
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    retryMode: 'adaptive',
    maxAttempts: settings.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
  };
}

/** Creates every client from the same settings. */
export function createAwsClients(settings: AwsSettings = {}): AwsClients {
  const config = clientConfig(settings);
  const dynamodb = new DynamoDBClient(config);
  // IAM is a global service: without an endpoint override it signs for us-east-1 in the partition.
  return {
    cloudformation: new CloudFormationClient(config),
    s3: new S3Client({ ...config, ...(settings.endpoint ? { forcePathStyle: true } : {}) }),
    sts: new STSClient(config),
    iam: new IAMClient(config),
    dynamodb,
    documents: DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } }),
  };
}

/** The region the clients resolved (flag, environment or profile), for messages. */
export async function resolvedRegion(clients: Pick<AwsClients, 'sts'>): Promise<string> {
  const region = await clients.sts.config.region();
  if (!region) throw new Error('no AWS region');
  return region;
}

/**
 * A client of a service only some commands call (Lambda for suspension, KMS for offboarding),
 * created on first use from the session's settings and kept for the session: its SDK package is
 * imported by the module that needs it, not at every command's start.
 */
export function lazyClientFactory<C>(create: (config: ReturnType<typeof clientConfig>) => C): (settings: AwsSettings) => C {
  const made = new WeakMap<AwsSettings, C>();
  return (settings) => {
    let client = made.get(settings);
    if (!client) {
      client = create(clientConfig(settings));
      made.set(settings, client);
    }
    return client;
  };
}
