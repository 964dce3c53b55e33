import { z } from 'zod';
import { EXTENSION_NAME_LENGTH, SEGMENTED_NAME, STAGE, stageProblem } from './contract/names.js';
import { TENANT_TIERS } from './contract/runtime-environment.js';
import { DEFAULT_CHECKPOINT_RETENTION_DAYS } from './audit/checkpoint.js';
import { badInput } from './errors.js';
import { DEFAULT_TENANT_CLAIM } from './contract/auth.js';
import { secretsConfigSchema } from './secrets/scope.js';
import { DEFAULT_LAMBDA_RUNTIME, LAMBDA_RUNTIMES } from './templates/lambda-runtime.js';
import { DEFAULT_QUOTAS } from './fleet/scale.js';
import { billingConfigSchema } from './billing/config.js';
import { SCHEDULE_NAME, SCHEDULE_SETTINGS_KEY } from './contract/schedules.js';

export { CONFIG_FILE } from './project.js';

const name = z
  .string()
  .regex(SEGMENTED_NAME, 'lower-case letters, digits and single "-", starting with a letter')
  .min(EXTENSION_NAME_LENGTH.min)
  .max(EXTENSION_NAME_LENGTH.max);

export const tierSchema = z.enum(TENANT_TIERS);
export type Tier = z.infer<typeof tierSchema>;

/** Settings of the aws target's stacks (see docs/aws.md). */
export const awsConfigSchema = z
  .object({
    lambdaRuntime: z.enum(LAMBDA_RUNTIMES).default(DEFAULT_LAMBDA_RUNTIME).describe('Node.js runtime of tenant and billing functions; artifacts are built for that Node'),
    tableKey: z
      .enum(['tenant', 'stage'])
      .default('tenant')
      .describe("KMS key of each tenant's table and log group: its own (offboarding schedules its deletion: crypto-shredding) or the stage's data key"),
    keyDeletionWindowDays: z.number().int().min(7).max(30).default(30).describe("Days KMS waits before deleting an offboarded tenant's key (7–30)"),
  })
  .strict();
export type AwsConfig = z.infer<typeof awsConfigSchema>;

/** The `aws` section with its defaults filled in (a config without one gets every default). */
export function awsConfigOf(config: { aws?: Partial<AwsConfig> | undefined }): AwsConfig {
  return awsConfigSchema.parse(config.aws ?? {});
}

/**
 * Cells: the aws accounts and regions tenants are placed in (docs/aws.md, "Cells"). The control
 * plane (registry, audit log) stays in the home account and region, the one the global options
 * and the SDK's chain resolve; each cell is reached through STS AssumeRole of its deploy role.
 *
 * Capacity defaults are AWS's default quotas: 2,000 CloudFormation stacks per region
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html),
 * 600 API Gateway HTTP APIs per account per region
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html), 1,000 Lambda
 * concurrent executions per account per region
 * (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
 */
const AWS_ACCOUNT = /^\d{12}$/;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
/** An IAM role ARN; group 1 is its account. */
const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;

export const cellCapacitySchema = z
  .object({
    stacks: z.number().int().positive().default(DEFAULT_QUOTAS.stacks).describe('CloudFormation stacks the cell\'s region allows (default quota 2,000)'),
    httpApis: z.number().int().positive().default(DEFAULT_QUOTAS.httpApis).describe('API Gateway HTTP APIs the cell\'s account and region allow (default quota 600)'),
    concurrency: z.number().int().positive().default(DEFAULT_QUOTAS.lambdaConcurrency).describe('Lambda concurrent executions of the cell\'s account and region (default quota 1,000); tiers reserve from it'),
  })
  .strict();
export type CellCapacity = z.infer<typeof cellCapacitySchema>;

export const cellSchema = z
  .object({
    name: name.describe('The cell\'s name, as `tenant create --cell` and the tenant record give it'),
    account: z.string().regex(AWS_ACCOUNT, 'a 12-digit AWS account id').describe('The AWS account the cell\'s tenant stacks live in'),
    region: z.string().regex(AWS_REGION, 'an AWS region such as eu-west-1').describe('The region the cell\'s tenant stacks live in'),
    deployRoleArn: z.string().regex(ROLE_ARN, 'an IAM role ARN such as arn:aws:iam::123456789012:role/sovereign-deploy').describe('The role sovereign assumes (STS AssumeRole) to work in the cell; it must be in the cell\'s account'),
    externalId: z.string().regex(/^[\w+=,.@:/-]{2,1224}$/, '2–1224 characters of letters, digits and +=,.@:/-').optional().describe('The ExternalId the deploy role\'s trust policy requires'),
    capacity: cellCapacitySchema.default({ stacks: DEFAULT_QUOTAS.stacks, httpApis: DEFAULT_QUOTAS.httpApis, concurrency: DEFAULT_QUOTAS.lambdaConcurrency }).describe('The cell\'s quotas; placement keeps each below 80 %'),
    residency: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a short lower-case label such as eu or us').optional().describe('Where the cell\'s data stays (eu, us, …): `tenant create --residency` places only in cells with that label'),
  })
  .strict()
  .refine((cell) => ROLE_ARN.exec(cell.deployRoleArn)?.[1] === cell.account, { path: ['deployRoleArn'], message: 'the deploy role must be in the cell\'s account' });
export type Cell = z.infer<typeof cellSchema>;

const cellsSchema = z.array(cellSchema).superRefine((cells, check) => {
  const names = new Set<string>();
  const places = new Map<string, string>();
  cells.forEach((cell, index) => {
    if (names.has(cell.name)) check.addIssue({ code: 'custom', path: [index, 'name'], message: `cell "${cell.name}" is declared twice` });
    names.add(cell.name);
    // Two cells in one account and region would share (and each count) the same quotas.
    const place = `${cell.account} ${cell.region}`;
    const other = places.get(place);
    if (other !== undefined) check.addIssue({ code: 'custom', path: [index, 'region'], message: `cell "${cell.name}" has the account and region of cell "${other}"` });
    else places.set(place, cell.name);
  });
});

const jwtSettingsSchema = z
  .object({
    issuer: z.string().min(1).describe('The JWT issuer (`iss`); `{tenant}` gives each tenant its own, e.g. a Cognito user pool URL per tenant'),
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).describe('Accepted audience(s) (`aud`, or `client_id` without `aud`); `{tenant}` allowed'),
    tenantClaim: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9:._/-]{0,127}$/, 'a claim name such as tenant_id or custom:tenant_id')
      .nullable()
      .optional()
      .describe(`The claim that must equal the tenant id (default "${DEFAULT_TENANT_CLAIM}"); null only with {tenant} in the issuer`),
    jwksUri: z.url().optional().describe("The issuer's JWKS URL (default: from its /.well-known/openid-configuration)"),
  })
  .strict();

const apiKeysSetting = z.boolean().optional().describe('Whether machine clients may call with API keys (`sovereign tenant keys`); default true');

/** `auth`: who may call each tenant's API (docs/auth.md). */
export const authConfigSchema = z
  .object({
    jwt: jwtSettingsSchema
      // The project's issuer is shared by every tenant unless it names {tenant}; a tenant's own (below) is its alone.
      .refine((jwt) => jwt.tenantClaim !== null || jwt.issuer.includes('{tenant}'), {
        path: ['tenantClaim'],
        message: 'an issuer without {tenant} is shared by every tenant, so tenantClaim must name the claim carrying the tenant id',
      })
      .meta({ if: { properties: { tenantClaim: { const: null } }, required: ['tenantClaim'] }, then: { properties: { issuer: { type: 'string', pattern: '\\{tenant\\}' } } } })
      .optional()
      .describe('JWT callers: the issuer and audience tokens must have'),
    apiKeys: apiKeysSetting,
    tenants: z
      .record(z.string(), z.object({ jwt: jwtSettingsSchema.optional().describe("The tenant's own issuer; tenantClaim may be null"), apiKeys: apiKeysSetting }).strict().describe("One tenant's own settings, by tenant id"))
      .optional()
      .describe('Per-tenant overrides of jwt and apiKeys'),
  })
  .strict();

/**
 * `tenantConfig.<extension>`: the extension's own settings (its manifest's `config` schema checks
 * them; `ext validate` and `configJsonSchema` know it) and the platform's `_schedules` switches.
 */
export const scheduleSwitchesSchema = z
  .record(z.string().regex(SCHEDULE_NAME, 'a schedule name of the extension'), z.boolean())
  .describe("Turns the extension's schedules off (false) or on (true) for the tenant, by schedule name");

const extensionSettingsSchema = z
  .object({ [SCHEDULE_SETTINGS_KEY]: scheduleSwitchesSchema.optional() })
  .catchall(z.unknown())
  .describe("The extension's settings, as its manifest's config schema defines them");

export const configSchema = z
  .object({
    $schema: z.string().optional().describe('Where editors find this JSON Schema (a path or URL); the CLI ignores it'),
    project: name.describe('Project name; tags every AWS resource as sovereign:project'),
    target: z.enum(['local', 'aws']).default('local').describe('Where tenants run: the embedded local target or AWS'),
    stage: z
      .string()
      .regex(STAGE, '1–12 lower-case letters and digits, starting with a letter')
      .refine((stage) => !STAGE.test(stage) || stageProblem(stage) === undefined, 'must not start with "aws" or "ssm", which AWS reserves for its own parameter names')
      // The refinement, for JSON Schema readers (a refinement has no JSON Schema of its own).
      .meta({ pattern: `^(?!aws|ssm)${STAGE.source.slice(1)}` })
      .default('dev')
      .describe('Deployment stage (dev, prod, …)'),
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1')
      .optional()
      .describe('AWS region of the aws target (else AWS_REGION or the profile\'s); --region and SOVEREIGN_REGION override it'),
    profile: z.string().min(1).optional().describe('AWS profile of the aws target (else AWS_PROFILE or the default chain); --profile overrides it'),
    endpointUrl: z.url().optional().describe('An AWS-compatible endpoint for every service'),
    extensionsDir: z.string().min(1).default('extensions').describe('The folder of extensions, from the project folder'),
    defaults: z
      .object({
        tier: tierSchema.default('basic').describe('Tier of a new tenant without --tier: its Lambda memory, concurrency and throttles'),
        extensions: z.array(name).default([]).describe('Extensions enabled for every new tenant'),
      })
      .strict()
      .default({ tier: 'basic', extensions: [] })
      .describe('What `sovereign tenant create` gives a new tenant'),
    secrets: secretsConfigSchema.optional().describe('Where each tenant\'s secret references must lie'),
    tenantConfig: z
      .record(name, extensionSettingsSchema)
      .optional()
      .describe("Settings per extension, by extension name, merged under each tenant's own; `sovereign ext validate` checks them against each extension's config schema"),
    dev: z
      .object({ port: z.number().int().min(0).max(65535).default(4000).describe('Port of the local gateway (0: any free port); --port overrides it') })
      .strict()
      .default({ port: 4000 })
      .describe('Settings of `sovereign dev`'),
    billing: billingConfigSchema.optional().describe('How billing events drive tenants: suspension after failed payments, offboarding, plans → tiers'),
    aws: awsConfigSchema.optional().describe('Settings of the aws target\'s stacks'),
    cells: cellsSchema.optional().describe('The aws accounts and regions tenants are placed in (docs/aws.md, "Cells"); without it every tenant lives in the home account and region'),
    auth: authConfigSchema.optional().describe("Who may call each tenant's API: JWT issuer and audience, API keys"),
    audit: z
      .object({
        trustedKeys: z
          .array(z.string().min(1))
          .default([])
          .describe('The signers `audit verify`, `tenant certificate-verify` and `audit log --verify` trust: public keys as base64 SPKI, or paths (from the project folder) of PEM files'),
        checkpointRetentionDays: z
          .number()
          .int()
          .min(1)
          .max(36500)
          .default(DEFAULT_CHECKPOINT_RETENTION_DAYS)
          .describe('On aws: days each audit checkpoint object stays under S3 Object Lock (compliance mode) in the control-plane bucket'),
      })
      .strict()
      .optional()
      .describe('Audit checkpoints and pinned signers'),
  })
  .strict();

export type ProjectConfig = z.infer<typeof configSchema>;

/**
 * Whether a problem's value must not be shown: a reference the schema refused (a value may have been
 * pasted where the reference belongs), or an extension's setting (whose meaning only the
 * extension knows, so it may be a credential).
 */
function concealed(issue: z.core.$ZodIssue): boolean {
  return (issue.code === 'custom' && issue.params?.conceal === true) || issue.path[0] === 'tenantConfig';
}

/** What a problem found, for its message: the value (shortened), its kind alone when concealed, or "nothing". */
function foundText(found: unknown, conceal: boolean): string {
  if (found === undefined) return 'nothing';
  if (conceal) {
    if (typeof found === 'string') return `a string of ${found.length} characters`;
    if (Array.isArray(found)) return 'a list';
    return found === null ? 'null' : `${typeof found === 'object' ? 'an object' : `a ${typeof found}`}`;
  }
  const shown = JSON.stringify(found);
  return shown.length > 60 ? `${shown.slice(0, 57)}...` : shown;
}

/** One problem of a config: its path inside the file (`billing.plans`), what was expected and what was found. */
export function describeConfigIssue(issue: z.core.$ZodIssue, input: unknown, prefix: ReadonlyArray<PropertyKey> = []): string {
  const path = [...prefix, ...issue.path];
  const where = path.length > 0 ? path.map(String).join('.') : '(top level)';
  let found: unknown = input;
  for (const key of issue.path) found = found && typeof found === 'object' ? (found as Record<PropertyKey, unknown>)[key] : undefined;
  if (issue.code === 'unrecognized_keys') return `${where}: unknown key${issue.keys.length === 1 ? '' : 's'} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_key') return `${where}: "${String(path.at(-1))}" is not a valid key here (${issue.issues[0]?.message ?? issue.message})`;
  return `${where}: ${issue.message} (found ${foundText(found, concealed({ ...issue, path } as z.core.$ZodIssue))})`;
}

/**
 * Every problem of a file in one message: the first on the `error:` line with the file's name,
 * each further one on a line of its own (a user fixes them all in one edit, not one per run).
 */
export function problemsMessage(subject: string, problems: readonly string[]): string {
  const [first, ...rest] = problems;
  return [`${subject}: ${first}`, ...rest.map((problem) => `  also ${problem}`)].join('\n');
}

/** Parses and validates a config file's text; errors name the file, the path, what was expected and found. */
export function parseConfig(text: string, file: string): ProjectConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw badInput(`${file} is not valid JSON: ${(error as Error).message}`, 'fix the syntax, or run `sovereign init` in an empty folder for a fresh one');
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw badInput(
      problemsMessage(file, parsed.error.issues.map((issue) => describeConfigIssue(issue, raw))),
      'docs/configuration.md in the sovereign repository says what each key takes; editors that read "$schema" check the file as you type',
    );
  }
  return parsed.data;
}

/** The JSON Schema shipped with the package (written at build time). */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input' });
}
