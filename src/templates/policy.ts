/**
 * The tenant runtime's IAM policy: exactly the base runtime policy (its own log group, its own
 * table, its own secret scope, the stage key through SSM / Secrets Manager) plus the enabled
 * extensions' declared permissions. Pure: the isolation check, the audit bundle and the tenant
 * template all render it from here.
 */
import { badInput } from '../errors.js';
import type { PermissionStatement } from '../runtime/extension.js';
import { extensionKeyPrefix } from '../runtime/table.js';
import { USAGE_PARTITION } from '../contract/api-keys.js';
import { resourceMatches } from '../isolation/policy-eval.js';
import { secretsKeyAlias, tenantFunctionName, tenantLogGroupName, tenantRoleName, tenantTableName } from './names.js';

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** Name patterns (not ARNs) of the secrets a tenant may read; `*` is a wildcard. */
export interface TenantSecretScope {
  /** SSM parameter name patterns, e.g. `/prod/tenants/acme/*`. */
  ssmParameters: string[];
  /** Secrets Manager secret name patterns, e.g. `prod/tenants/acme/*`. */
  secrets: string[];
}

/** What an enabled extension contributes to the policy. */
export interface PolicyExtension {
  name: string;
  permissions?: PermissionStatement[];
}

export interface TenantPolicyInputs {
  tenant: string;
  stage: string;
  /** Enabled extensions; their permissions are added in name order. */
  extensions: PolicyExtension[];
  /** Defaults to {@link defaultSecretScope}. */
  scope?: TenantSecretScope;
  /**
   * Concrete account and region (for offline policy simulation). Without them the document holds
   * `${AWS::AccountId}`, `${AWS::Region}` and `${AWS::Partition}` for `Fn::Sub` in the template.
   */
  account?: string;
  region?: string;
  partition?: string;
}

/** Inline policies of an IAM role are limited to 10,240 characters (whitespace excluded). */
export const MAX_INLINE_POLICY_LENGTH = 10_240;

/** What the runtime may read in its table: every item, sovereign's generation marker included (read at cold start and about once a second). */
export const RUNTIME_TABLE_READ_ACTIONS = ['dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:Query'];

/** What the runtime may write in its table: only items whose partition key carries an enabled extension's `<extension>#` prefix. */
export const RUNTIME_TABLE_WRITE_ACTIONS = ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];

export const RUNTIME_TABLE_ACTIONS = [...RUNTIME_TABLE_READ_ACTIONS, ...RUNTIME_TABLE_WRITE_ACTIONS].sort();

/** The product's default secret scope: `/<stage>/tenants/<tenant>/…` and `<stage>/tenants/<tenant>/…`. */
export function defaultSecretScope(stage: string, tenant: string): TenantSecretScope {
  return { ssmParameters: [`/${stage}/tenants/${tenant}/*`], secrets: [`${stage}/tenants/${tenant}/*`] };
}

const PSEUDO = { partition: '${AWS::Partition}', region: '${AWS::Region}', account: '${AWS::AccountId}' };

/** Replaces `{tenant}` `{stage}` `{region}` `{account}` in an extension's resource or action. */
export function substitutePlaceholders(
  text: string,
  values: { tenant: string; stage: string; region: string; account: string },
): string {
  return text.replace(/\{(tenant|stage|region|account)\}/g, (_, key: keyof typeof values) => values[key]);
}

function ssmParameterArn(prefix: string, pattern: string): string {
  // An SSM parameter ARN drops the name's leading slash: parameter/prod/tenants/acme/x.
  return `${prefix}:ssm:{region}:{account}:parameter/${pattern.replace(/^\//, '')}`;
}

function secretArn(prefix: string, pattern: string): string {
  // Secret ARNs end in "-" plus six random characters; an exact name must allow that suffix only.
  const suffix = pattern.endsWith('*') ? '' : '-??????';
  return `${prefix}:secretsmanager:{region}:{account}:secret:${pattern}${suffix}`;
}

function sidFor(extension: string, index: number): string {
  const pascal = extension
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
  return `Ext${pascal}${index + 1}`;
}

/** Resources an extension may never be granted: they reach every tenant. */
function unconfinedResource(resource: string): boolean {
  return resource === '*' || /^arn:[^:]*:[^:]*:[^:]*:[^:]*:\*$/.test(resource);
}

/** Sids of the statements that use the stage's secrets key (the template narrows their resource to that key). */
export const SECRETS_KEY_SIDS = ['RuntimeParametersKey', 'RuntimeSecretsKey'];

/**
 * Which of the tenant's own control resources an extension's resource pattern reaches, whatever
 * partition, region and account it names: its table (writes there are confined to the
 * extension's `<extension>#` items, and a statement of its own would lift that), its function
 * (reserved concurrency 0 is how a suspension holds) or its runtime role (its policy is this
 * document).
 */
function ownControlResource(resource: string, names: { table: string; fn: string; role: string }): string | undefined {
  // `${AWS::Region}` and the like stand for any value (and hold colons of their own).
  const parts = resource.replace(/\$\{[^}]*\}/g, '*').split(':');
  if (parts[0] !== 'arn' || parts.length < 6) return undefined;
  const service = parts[2]!;
  const rest = parts.slice(5).join(':');
  const reaches = (svc: string, candidates: string[]) => resourceMatches(service, svc) && candidates.some((candidate) => resourceMatches(rest, candidate));
  if (reaches('dynamodb', [`table/${names.table}`, `table/${names.table}/index/x`, `table/${names.table}/stream/x`])) return 'table';
  if (reaches('lambda', [`function:${names.fn}`, `function:${names.fn}:x`])) return 'function';
  if (reaches('iam', [`role/${names.role}`])) return 'runtime role';
  return undefined;
}

/** Renders the tenant runtime's policy document. */
export function renderTenantPolicy(inputs: TenantPolicyInputs): PolicyDocument {
  const { tenant, stage } = inputs;
  const values = {
    tenant,
    stage,
    region: inputs.region ?? PSEUDO.region,
    account: inputs.account ?? PSEUDO.account,
  };
  const partition = inputs.partition ?? (inputs.region === undefined ? PSEUDO.partition : partitionOf(inputs.region));
  const arn = `arn:${partition}`;
  const fill = (text: string): string => substitutePlaceholders(text, values);
  const scope = inputs.scope ?? defaultSecretScope(stage, tenant);
  const table = fill(`${arn}:dynamodb:{region}:{account}:table/${tenantTableName(stage, tenant)}`);

  const statements: PolicyStatement[] = [
    {
      Sid: 'RuntimeLogs',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: [fill(`${arn}:logs:{region}:{account}:log-group:${tenantLogGroupName(stage, tenant)}:*`)],
    },
    {
      Sid: 'RuntimeTable',
      Effect: 'Allow',
      Action: [...RUNTIME_TABLE_READ_ACTIONS],
      Resource: [table, fill(`${arn}:dynamodb:{region}:{account}:table/${tenantTableName(stage, tenant)}/index/*`)],
    },
  ];
  // Sovereign's own items (the `_sovereign` generation marker that carries suspension, the
  // `_sovereign#apikey` key records) are written by the CLI and the billing function only: a write
  // whose partition keys are not all an enabled extension's (or `_usage`, where the runtime records
  // when a key was last used) is denied, so tenant code cannot lift its own suspension or mint keys.
  const prefixes = [...new Set(inputs.extensions.map((e) => `${extensionKeyPrefix(e.name)}*`))].sort();
  if (prefixes.length > 0) {
    statements.push({
      Sid: 'RuntimeExtensionItems',
      Effect: 'Allow',
      Action: [...RUNTIME_TABLE_WRITE_ACTIONS],
      Resource: [table],
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...prefixes, USAGE_PARTITION] }, Null: { 'dynamodb:LeadingKeys': 'false' } },
    });
  }
  if (scope.ssmParameters.length > 0) {
    statements.push({
      Sid: 'RuntimeParameters',
      Effect: 'Allow',
      Action: ['ssm:GetParameter', 'ssm:GetParameters'],
      Resource: scope.ssmParameters.map((pattern) => fill(ssmParameterArn(arn, pattern))),
    });
  }
  if (scope.secrets.length > 0) {
    statements.push({
      Sid: 'RuntimeSecrets',
      Effect: 'Allow',
      Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
      Resource: scope.secrets.map((pattern) => fill(secretArn(arn, pattern))),
    });
  }
  // The stage key decrypts only through SSM and Secrets Manager, and only for this tenant's own
  // parameters and secrets: both services name the item in the encryption context they send.
  const keyArn = fill(`${arn}:kms:{region}:{account}:key/*`);
  const decryptThrough = (Sid: string, service: string, contextKey: string, items: string[]): PolicyStatement => ({
    Sid,
    Effect: 'Allow',
    Action: ['kms:Decrypt'],
    Resource: [keyArn],
    Condition: {
      'ForAnyValue:StringEquals': { 'kms:ResourceAliases': secretsKeyAlias(stage) },
      StringEquals: { 'kms:ViaService': fill(`${service}.{region}.amazonaws.com`) },
      StringLike: { [`kms:EncryptionContext:${contextKey}`]: items },
    },
  });
  if (scope.ssmParameters.length > 0) {
    statements.push(decryptThrough('RuntimeParametersKey', 'ssm', 'PARAMETER_ARN', scope.ssmParameters.map((pattern) => fill(ssmParameterArn(arn, pattern)))));
  }
  if (scope.secrets.length > 0) {
    statements.push(decryptThrough('RuntimeSecretsKey', 'secretsmanager', 'SecretARN', scope.secrets.map((pattern) => fill(secretArn(arn, pattern)))));
  }

  const extensions = [...inputs.extensions].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const extension of extensions) {
    (extension.permissions ?? []).forEach((permission, index) => {
      if ((permission.effect ?? 'Allow') !== 'Allow') {
        throw badInput(`extension "${extension.name}" declares a permission with effect "${permission.effect}"; only Allow is accepted`);
      }
      const resources = permission.resources.map(fill);
      const unconfined = resources.find(unconfinedResource);
      if (unconfined !== undefined) {
        throw badInput(
          `extension "${extension.name}" asks for "${unconfined}", which is not confined to tenant "${tenant}"`,
          'scope resources with the {tenant} and {stage} placeholders',
        );
      }
      const own = { table: tenantTableName(stage, tenant), fn: tenantFunctionName(stage, tenant), role: tenantRoleName(stage, tenant) };
      for (const resource of resources) {
        const reached = ownControlResource(resource, own);
        if (reached !== undefined) {
          throw badInput(
            `extension "${extension.name}" asks for "${resource}", which reaches tenant "${tenant}"'s own ${reached}`,
            reached === 'table' ? 'extensions use their table through ctx.db, which the runtime policy already allows' : 'sovereign alone manages the tenant function and its role; remove that permission',
          );
        }
      }
      statements.push({
        Sid: sidFor(extension.name, index),
        Effect: 'Allow',
        Action: [...permission.actions],
        Resource: resources,
      });
    });
  }

  const document: PolicyDocument = { Version: '2012-10-17', Statement: statements };
  const length = JSON.stringify(document).length;
  if (length > MAX_INLINE_POLICY_LENGTH) {
    throw badInput(
      `the runtime policy of tenant "${tenant}" is ${length} characters; IAM allows ${MAX_INLINE_POLICY_LENGTH}`,
      'enable fewer extensions for this tenant or narrow their permissions',
    );
  }
  return document;
}

/** The partition of a region: `aws`, `aws-cn` or `aws-us-gov`. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

