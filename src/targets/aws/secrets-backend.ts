/**
 * The aws target's secret backend: SSM Parameter Store (SecureString parameters under the stage's
 * KMS key) and Secrets Manager, behind the {@link SecretStore} interface.
 *
 * SSM has no staging labels, so its versions are mapped onto the model: the latest parameter
 * version is `AWSCURRENT`, and `AWSPREVIOUS` is the parameter label `sovereign-previous` (SSM
 * labels may not begin with "aws"). Making an older version current again writes its value as a
 * new version, exactly like a rotation.
 *
 * AWS error messages are never passed on: validation errors can quote request fields, values
 * included. Errors carry the error name and request id instead.
 */
import type { AwsCredentials } from './clients.js';
import {
  CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, ListSecretsCommand, ListSecretVersionIdsCommand,
  PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  DescribeParametersCommand, GetParameterCommand, GetParameterHistoryCommand, LabelParameterVersionCommand, PutParameterCommand,
  SSMClient, UnlabelParameterVersionCommand,
} from '@aws-sdk/client-ssm';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import {
  GENERATION_ITEM_KEY, generationMarkerFromItem, generationMarkerToItem, nextGeneration, type GenerationMarker,
} from '../../contract/generation.js';
import { referenceTarget, type SecretReference, type SecretsManagerReference, type SsmReference } from '../../contract/reference.js';
import {
  SecretStoreError, STAGE_CURRENT, STAGE_PENDING, STAGE_PREVIOUS, type SecretStoreCapabilities, type PutVersionOptions,
  type PutVersionResult, type ReadValueOptions, type SecretStore, type SecretDescription, type SecretVersionInfo,
} from '../../secrets/store.js';

/** SSM label standing for `AWSPREVIOUS`. */
export const SSM_PREVIOUS_LABEL = 'sovereign-previous';

export interface AwsSecretClientOptions {
  region?: string;
  /** `--endpoint-url`; without it the SDK honours `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_SSM` / `…_SECRETS_MANAGER`. */
  endpoint?: string;
  profile?: string;
  /** Explicit credentials (tests, assumed roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | AwsCredentials;
  /** Attempts per call, including the first (default 8). */
  maxAttempts?: number;
}

/** The two clients, with adaptive retries (client-side rate limiting on throttling). */
export function createSecretClients(options: AwsSecretClientOptions = {}): { ssm: SSMClient; secretsManager: SecretsManagerClient } {
  const config = {
    retryMode: 'adaptive',
    maxAttempts: options.maxAttempts ?? 8,
    ...(options.region !== undefined ? { region: options.region } : {}),
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.profile !== undefined ? { profile: options.profile } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
  };
  return { ssm: new SSMClient(config), secretsManager: new SecretsManagerClient(config) };
}

export interface AwsSecretStoreOptions {
  ssm: SSMClient;
  secretsManager: SecretsManagerClient;
  /** The stage's KMS key (id, ARN or `alias/…`) for SecureString parameters and new secrets. */
  kmsKeyId?: string;
}

const DENIED = new Set([
  'AccessDeniedException', 'AccessDenied', 'UnrecognizedClientException', 'InvalidClientTokenId', 'ExpiredTokenException',
  'ExpiredToken', 'InvalidSignatureException', 'SignatureDoesNotMatch', 'DecryptionFailure', 'KMSAccessDeniedException',
  'CredentialsProviderError', 'NotAuthorized',
]);
const NOT_FOUND = new Set(['ParameterNotFound', 'ParameterVersionNotFound', 'ResourceNotFoundException']);
const CONFLICT = new Set(['ResourceExistsException', 'ParameterAlreadyExists', 'ParameterVersionLabelLimitExceeded']);

interface AwsErrorShape {
  name?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

/** Maps an AWS error to a {@link SecretStoreError}; rethrows anything that is not one. */
export function mapAwsError(error: unknown, action: string, target: string): never {
  const shape = (error ?? {}) as AwsErrorShape;
  const name = shape.name ?? 'Error';
  const code = (error as { code?: unknown } | undefined)?.code;
  if ((typeof code === 'string' && /^E[A-Z]+$/.test(code)) || name === 'TimeoutError') {
    throw new SecretStoreError('failed', `${action} ${target} failed: the endpoint cannot be reached (${typeof code === 'string' ? code : name})`, {
      hint: 'check the network, the region, and AWS_ENDPOINT_URL / --endpoint-url',
    });
  }
  const isAws = shape.$metadata !== undefined || DENIED.has(name) || NOT_FOUND.has(name);
  if (!isAws) throw error;
  const request = shape.$metadata?.requestId ? `, request ${shape.$metadata.requestId}` : '';
  const message = `${action} ${target} failed: ${name}${request}`;
  if (DENIED.has(name)) {
    throw new SecretStoreError('denied', message, {
      hint: target.startsWith('ssm:')
        ? 'the credentials need ssm:GetParameter*/PutParameter/LabelParameterVersion on the parameter and kms:Decrypt/Encrypt on the stage key'
        : 'the credentials need secretsmanager:GetSecretValue/PutSecretValue/UpdateSecretVersionStage/DescribeSecret on the secret and kms:Decrypt/GenerateDataKey on its key',
    });
  }
  if (NOT_FOUND.has(name)) throw new SecretStoreError('not-found', `${target} does not exist (${name}${request})`, { hint: 'store a value with `sovereign secrets put`' });
  if (CONFLICT.has(name)) throw new SecretStoreError('conflict', message);
  throw new SecretStoreError('failed', message, { hint: name.includes('Throttl') || name === 'TooManyRequestsException' ? 'AWS kept throttling after retries; try again later' : undefined });
}

function iso(date: Date | undefined): string | undefined {
  return date ? date.toISOString() : undefined;
}

/** {@link SecretStore} over SSM Parameter Store and Secrets Manager. */
export class AwsSecretStore implements SecretStore {
  readonly kind = 'aws' as const;

  constructor(private readonly options: AwsSecretStoreOptions) {}

  capabilities(service: SecretReference['service']): SecretStoreCapabilities {
    return { pendingStage: service === 'secretsmanager' };
  }

  async describe(reference: SecretReference): Promise<SecretDescription | undefined> {
    return reference.service === 'ssm' ? this.describeParameter(reference) : this.describeSecret(reference);
  }

  async readValue(reference: SecretReference, options: ReadValueOptions = {}): Promise<string> {
    return reference.service === 'ssm' ? this.readParameter(reference, options) : this.readSecret(reference, options);
  }

  async putVersion(reference: SecretReference, value: string, options: PutVersionOptions): Promise<PutVersionResult> {
    return reference.service === 'ssm' ? this.putParameter(reference, value, options) : this.putSecret(reference, value, options);
  }

  async moveLabel(reference: SecretReference, label: string, toVersionId: string, options: { fromVersionId?: string; by?: string } = {}): Promise<{ versionId: string }> {
    return reference.service === 'ssm'
      ? this.moveParameterLabel(reference, label, toVersionId, options)
      : this.moveSecretLabel(reference, label, toVersionId, options);
  }

  async removeLabel(reference: SecretReference, label: string, fromVersionId: string): Promise<void> {
    const target = referenceTarget(reference);
    if (label === STAGE_CURRENT) throw new SecretStoreError('conflict', `${STAGE_CURRENT} of ${target} can only be moved, not removed`);
    if (reference.service === 'ssm') {
      try {
        await this.options.ssm.send(new UnlabelParameterVersionCommand({ Name: reference.name, ParameterVersion: Number(fromVersionId), Labels: [ssmLabel(label, target)] }));
      } catch (error) {
        mapAwsError(error, 'unlabelling', target);
      }
      return;
    }
    try {
      await this.options.secretsManager.send(new UpdateSecretVersionStageCommand({ SecretId: reference.name, VersionStage: label, RemoveFromVersionId: fromVersionId }));
    } catch (error) {
      mapAwsError(error, 'updating the stages of', target);
    }
  }

  async history(reference: SecretReference): Promise<SecretVersionInfo[]> {
    return reference.service === 'ssm' ? this.parameterHistory(reference) : this.secretHistory(reference);
  }

  async list(prefixes: { ssm?: string; secretsmanager?: string }): Promise<string[]> {
    const found: string[] = [];
    if (prefixes.ssm !== undefined) {
      const prefix = prefixes.ssm;
      let nextToken: string | undefined;
      do {
        try {
          const page = await this.options.ssm.send(new DescribeParametersCommand({
            ParameterFilters: [{ Key: 'Name', Option: 'BeginsWith', Values: [prefix] }], MaxResults: 50, NextToken: nextToken,
          }));
          for (const parameter of page.Parameters ?? []) if (parameter.Name?.startsWith(prefix)) found.push(`ssm:${parameter.Name}`);
          nextToken = page.NextToken;
        } catch (error) {
          mapAwsError(error, 'listing', `ssm:${prefix}`);
        }
      } while (nextToken);
    }
    if (prefixes.secretsmanager !== undefined) {
      const prefix = prefixes.secretsmanager;
      let nextToken: string | undefined;
      do {
        try {
          const page = await this.options.secretsManager.send(new ListSecretsCommand({
            Filters: [{ Key: 'name', Values: [prefix] }], MaxResults: 100, NextToken: nextToken,
          }));
          for (const secret of page.SecretList ?? []) if (secret.Name?.startsWith(prefix)) found.push(`secretsmanager:${secret.Name}`);
          nextToken = page.NextToken;
        } catch (error) {
          mapAwsError(error, 'listing', `secretsmanager:${prefix}`);
        }
      } while (nextToken);
    }
    return found.sort();
  }

  // ---- SSM --------------------------------------------------------------------------------------

  private async describeParameter(reference: SsmReference): Promise<SecretDescription | undefined> {
    const target = referenceTarget(reference);
    let nextToken: string | undefined;
    let found: { LastModifiedDate?: Date; LastModifiedUser?: string; Version?: number } | undefined;
    // DescribeParameters may return empty pages with a NextToken before the match: walk them all.
    do {
      try {
        const page = await this.options.ssm.send(new DescribeParametersCommand({
          ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [reference.name] }], MaxResults: 50, NextToken: nextToken,
        }));
        found = page.Parameters?.find((parameter) => parameter.Name === reference.name);
        nextToken = found ? undefined : page.NextToken;
      } catch (error) {
        mapAwsError(error, 'describing', target);
      }
    } while (nextToken);
    if (!found) return undefined;
    const history = await this.parameterHistory(reference);
    const holder = (label: string) => history.find((version) => version.labels.includes(label))?.versionId;
    return {
      target,
      currentVersionId: found.Version !== undefined ? String(found.Version) : holder(STAGE_CURRENT),
      pendingVersionId: undefined,
      previousVersionId: holder(STAGE_PREVIOUS),
      lastChangedAt: iso(found.LastModifiedDate),
      lastChangedBy: found.LastModifiedUser,
    };
  }

  private async readParameter(reference: SsmReference, options: ReadValueOptions): Promise<string> {
    const target = referenceTarget(reference);
    let name = reference.name;
    if (options.versionId !== undefined) name = `${reference.name}:${options.versionId}`;
    else if (options.versionStage !== undefined && options.versionStage !== STAGE_CURRENT) name = `${reference.name}:${ssmLabel(options.versionStage, target)}`;
    try {
      const response = await this.options.ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      const value = response.Parameter?.Value;
      if (value === undefined) throw new SecretStoreError('not-found', `${target} has no value`);
      return value;
    } catch (error) {
      return mapAwsError(error, 'reading', target);
    }
  }

  private async putParameter(reference: SsmReference, value: string, options: PutVersionOptions): Promise<PutVersionResult> {
    const target = referenceTarget(reference);
    const labels = options.labels ?? [STAGE_CURRENT];
    if (!labels.includes(STAGE_CURRENT)) {
      throw new SecretStoreError('failed', `SSM parameters have no ${labels.join('/')} stage: a new version of ${target} is always the current one`);
    }
    const current = await this.describeParameter(reference);
    if (current?.currentVersionId !== undefined) {
      // Label first: if the put below never happens, the current version merely carries the label too.
      await this.labelParameter(reference, current.currentVersionId, SSM_PREVIOUS_LABEL);
    }
    let version: number | undefined;
    try {
      const response = await this.options.ssm.send(new PutParameterCommand({
        Name: reference.name,
        Value: value,
        Type: 'SecureString',
        Overwrite: true,
        ...(this.options.kmsKeyId !== undefined ? { KeyId: this.options.kmsKeyId } : {}),
      }));
      version = response.Version;
    } catch (error) {
      mapAwsError(error, 'writing', target);
    }
    const versionId = String(version ?? '');
    for (const label of labels) if (label !== STAGE_CURRENT) await this.labelParameter(reference, versionId, ssmLabel(label, target));
    return { versionId, created: true };
  }

  private async labelParameter(reference: SsmReference, versionId: string, label: string): Promise<void> {
    try {
      // A label sits on one version at a time: SSM moves it from the version that had it.
      await this.options.ssm.send(new LabelParameterVersionCommand({ Name: reference.name, ParameterVersion: Number(versionId), Labels: [label] }));
    } catch (error) {
      mapAwsError(error, 'labelling', referenceTarget(reference));
    }
  }

  private async moveParameterLabel(reference: SsmReference, label: string, toVersionId: string, options: { fromVersionId?: string; by?: string }): Promise<{ versionId: string }> {
    const target = referenceTarget(reference);
    if (label !== STAGE_CURRENT) {
      await this.labelParameter(reference, toVersionId, ssmLabel(label, target));
      return { versionId: toVersionId };
    }
    const description = await this.describeParameter(reference);
    if (!description) throw new SecretStoreError('not-found', `${target} does not exist`);
    if (description.currentVersionId === toVersionId) return { versionId: toVersionId };
    if (options.fromVersionId !== undefined && description.currentVersionId !== options.fromVersionId) {
      throw new SecretStoreError('conflict', `${target} changed meanwhile: its current version is ${description.currentVersionId ?? 'none'}, not ${options.fromVersionId}`);
    }
    // The latest SSM version is always current: bring the old value back as a new version.
    const value = await this.readParameter(reference, { versionId: toVersionId });
    const put = await this.putParameter(reference, value, { by: options.by ?? 'sovereign' });
    return { versionId: put.versionId };
  }

  private async parameterHistory(reference: SsmReference): Promise<SecretVersionInfo[]> {
    const target = referenceTarget(reference);
    const versions: SecretVersionInfo[] = [];
    let nextToken: string | undefined;
    do {
      try {
        // WithDecryption false: history never needs values.
        const page = await this.options.ssm.send(new GetParameterHistoryCommand({ Name: reference.name, WithDecryption: false, MaxResults: 50, NextToken: nextToken }));
        for (const entry of page.Parameters ?? []) {
          versions.push({
            versionId: String(entry.Version ?? ''),
            createdAt: iso(entry.LastModifiedDate),
            createdBy: entry.LastModifiedUser,
            labels: (entry.Labels ?? []).map((label) => (label === SSM_PREVIOUS_LABEL ? STAGE_PREVIOUS : label)),
          });
        }
        nextToken = page.NextToken;
      } catch (error) {
        mapAwsError(error, 'reading the history of', target);
      }
    } while (nextToken);
    versions.sort((a, b) => Number(b.versionId) - Number(a.versionId));
    if (versions[0]) versions[0].labels = [STAGE_CURRENT, ...versions[0].labels];
    return versions;
  }

  // ---- Secrets Manager ----------------------------------------------------------------------------

  private async describeStages(reference: SecretsManagerReference): Promise<{ stages: Record<string, string[]>; lastChangedAt: string | undefined } | undefined> {
    try {
      const response = await this.options.secretsManager.send(new DescribeSecretCommand({ SecretId: reference.name }));
      return { stages: response.VersionIdsToStages ?? {}, lastChangedAt: iso(response.LastChangedDate) };
    } catch (error) {
      if ((error as AwsErrorShape).name === 'ResourceNotFoundException') return undefined;
      return mapAwsError(error, 'describing', referenceTarget(reference));
    }
  }

  private async describeSecret(reference: SecretsManagerReference): Promise<SecretDescription | undefined> {
    const described = await this.describeStages(reference);
    if (!described) return undefined;
    const holder = (label: string) => Object.entries(described.stages).find(([, stages]) => stages.includes(label))?.[0];
    return {
      target: referenceTarget(reference),
      currentVersionId: holder(STAGE_CURRENT),
      pendingVersionId: holder(STAGE_PENDING),
      previousVersionId: holder(STAGE_PREVIOUS),
      lastChangedAt: described.lastChangedAt,
      lastChangedBy: undefined,
    };
  }

  private async readSecret(reference: SecretsManagerReference, options: ReadValueOptions): Promise<string> {
    const target = referenceTarget(reference);
    const selector = options.versionId !== undefined
      ? { VersionId: options.versionId }
      : { VersionStage: options.versionStage ?? reference.versionStage ?? STAGE_CURRENT };
    try {
      const response = await this.options.secretsManager.send(new GetSecretValueCommand({ SecretId: reference.name, ...selector }));
      if (response.SecretString === undefined) {
        throw new SecretStoreError('failed', `${target} holds a binary value; references read text secrets`);
      }
      return response.SecretString;
    } catch (error) {
      if (error instanceof SecretStoreError) throw error;
      return mapAwsError(error, 'reading', target);
    }
  }

  private async putSecret(reference: SecretsManagerReference, value: string, options: PutVersionOptions): Promise<PutVersionResult> {
    const target = referenceTarget(reference);
    const labels = options.labels ?? [STAGE_CURRENT];
    const token = options.versionId ?? randomUUID();
    const described = await this.describeStages(reference);
    if (!described) {
      if (labels.length !== 1 || labels[0] !== STAGE_CURRENT) {
        throw new SecretStoreError('not-found', `${target} does not exist`, { hint: 'store a first value with `sovereign secrets put`' });
      }
      try {
        const response = await this.options.secretsManager.send(new CreateSecretCommand({
          Name: reference.name,
          SecretString: value,
          ClientRequestToken: token,
          ...(this.options.kmsKeyId !== undefined ? { KmsKeyId: this.options.kmsKeyId } : {}),
        }));
        return { versionId: response.VersionId ?? token, created: true };
      } catch (error) {
        // Created meanwhile by someone else: fall through to a new version.
        if ((error as AwsErrorShape).name !== 'ResourceExistsException') mapAwsError(error, 'creating', target);
      }
    }
    const existed = described !== undefined && Object.prototype.hasOwnProperty.call(described.stages, token);
    try {
      const response = await this.options.secretsManager.send(new PutSecretValueCommand({
        SecretId: reference.name,
        SecretString: value,
        ClientRequestToken: token,
        VersionStages: labels,
      }));
      return { versionId: response.VersionId ?? token, created: !existed };
    } catch (error) {
      if ((error as AwsErrorShape).name === 'ResourceExistsException') {
        throw new SecretStoreError('conflict', `${target} already has a version ${token} with another value`, {
          hint: 'a retried rotation must use the same value; start a new rotation instead',
        });
      }
      return mapAwsError(error, 'writing', target);
    }
  }

  private async moveSecretLabel(reference: SecretsManagerReference, label: string, toVersionId: string, options: { fromVersionId?: string }): Promise<{ versionId: string }> {
    const target = referenceTarget(reference);
    const described = await this.describeStages(reference);
    if (!described) throw new SecretStoreError('not-found', `${target} does not exist`);
    const holder = Object.entries(described.stages).find(([, stages]) => stages.includes(label))?.[0];
    if (holder === toVersionId) return { versionId: toVersionId };
    if (options.fromVersionId !== undefined && holder !== options.fromVersionId) {
      throw new SecretStoreError('conflict', `${label} of ${target} is on version ${holder ?? 'none'}, not ${options.fromVersionId}: it changed meanwhile`);
    }
    try {
      await this.options.secretsManager.send(new UpdateSecretVersionStageCommand({
        SecretId: reference.name,
        VersionStage: label,
        MoveToVersionId: toVersionId,
        ...(holder !== undefined ? { RemoveFromVersionId: holder } : {}),
      }));
    } catch (error) {
      mapAwsError(error, 'updating the stages of', target);
    }
    return { versionId: toVersionId };
  }

  private async secretHistory(reference: SecretsManagerReference): Promise<SecretVersionInfo[]> {
    const target = referenceTarget(reference);
    const versions: Array<SecretVersionInfo & { time: number }> = [];
    let nextToken: string | undefined;
    do {
      try {
        const page = await this.options.secretsManager.send(new ListSecretVersionIdsCommand({
          SecretId: reference.name, IncludeDeprecated: true, MaxResults: 100, NextToken: nextToken,
        }));
        for (const entry of page.Versions ?? []) {
          versions.push({
            versionId: entry.VersionId ?? '',
            createdAt: iso(entry.CreatedDate),
            createdBy: undefined,
            labels: [...(entry.VersionStages ?? [])],
            time: entry.CreatedDate?.getTime() ?? 0,
          });
        }
        nextToken = page.NextToken;
      } catch (error) {
        mapAwsError(error, 'reading the history of', target);
      }
    } while (nextToken);
    versions.sort((a, b) => b.time - a.time);
    return versions.map(({ time: _time, ...version }) => version);
  }
}

/** The SSM label standing for a stage; SSM refuses labels beginning with "aws" or "ssm". */
function ssmLabel(stage: string, target: string): string {
  if (stage === STAGE_PREVIOUS) return SSM_PREVIOUS_LABEL;
  if (stage === STAGE_PENDING || /^(aws|ssm)/i.test(stage) || /^[0-9]/.test(stage)) {
    throw new SecretStoreError('failed', `SSM parameters cannot carry the stage ${stage} (${target})`);
  }
  return stage;
}

/**
 * Records changed references in the tenant's generation marker item (its table, key
 * `_sovereign`/`generation`), so every warm runtime environment refetches them within about a
 * second. Optimistic: the put is conditional on the generation read, retried on a race.
 */
export async function publishGenerationItem(
  doc: DynamoDBDocumentClient,
  tableName: string,
  references: string[],
  now = new Date(),
  options: { suspended?: boolean } = {},
): Promise<GenerationMarker> {
  for (let attempt = 0; attempt < 5; attempt++) {
    let current: GenerationMarker | undefined;
    try {
      const got = await doc.send(new GetCommand({ TableName: tableName, Key: { ...GENERATION_ITEM_KEY }, ConsistentRead: true }));
      current = got.Item ? generationMarkerFromItem(got.Item) : undefined;
    } catch (error) {
      mapAwsError(error, 'reading the generation marker of', `table ${tableName}`);
    }
    const next = nextGeneration(current, { references, now, ...options });
    try {
      await doc.send(new PutCommand({
        TableName: tableName,
        Item: generationMarkerToItem(next),
        ...(current
          ? { ConditionExpression: '#generation = :generation', ExpressionAttributeNames: { '#generation': 'generation' }, ExpressionAttributeValues: { ':generation': current.generation } }
          : { ConditionExpression: 'attribute_not_exists(pk)' }),
      }));
      return next;
    } catch (error) {
      if ((error as AwsErrorShape).name !== 'ConditionalCheckFailedException') mapAwsError(error, 'writing the generation marker of', `table ${tableName}`);
    }
  }
  throw new SecretStoreError('conflict', `the generation marker in table ${tableName} kept changing; try again`);
}
