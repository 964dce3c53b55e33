/**
 * The runtime's environment contract. The `dev` server (local target) and the CloudFormation
 * templates (aws target) both start the runtime with these variables; nothing else configures it.
 *
 * | variable | meaning |
 * |---|---|
 * | `SOVEREIGN_TENANT` | tenant id (required) |
 * | `SOVEREIGN_STAGE` | stage, e.g. `dev` (required) |
 * | `SOVEREIGN_TIER` | `basic` \| `standard` \| `premium` (default `standard`) |
 * | `SOVEREIGN_TABLE` | name of the tenant's DynamoDB table (required); key schema `TENANT_TABLE_KEY_SCHEMA` (`table.ts`) |
 * | `SOVEREIGN_ARTIFACT` | sha256 of the deployed artifact, reported by health (default `unknown`) |
 * | `SOVEREIGN_TENANT_CONFIG` | JSON {@link TenantRuntimeConfig} (required) |
 * | `SOVEREIGN_SECRETS_BACKEND` | `aws` (SSM + Secrets Manager) or `vault` (local encrypted vault); default `aws` |
 * | `SOVEREIGN_VAULT_PATH` | vault file, required with `vault` |
 * | `SOVEREIGN_VAULT_KEY_FILE` | file holding the tenant's vault key, required with `vault` |
 * | `SOVEREIGN_GENERATION_SOURCE` | `dynamodb` (item `{ pk: '_sovereign', sk: 'generation' }` of the table; default) or `file:<path>` |
 * | `SOVEREIGN_GENERATION_INTERVAL_MS` | how often at most the generation marker is read (default 1000) |
 * | `SOVEREIGN_SECRET_TTL_MS` | secret cache TTL (default 300000) |
 * | `SOVEREIGN_SECRET_CACHE_MAX` | secret cache entries (default 1000) |
 * | `SOVEREIGN_SECRET_MAX_STALE_MS` | stale-if-error bound past the TTL (default 900000) |
 * | `SOVEREIGN_LOG_LEVEL` | `debug` \| `info` \| `warn` \| `error` (default `info`) |
 *
 * The DynamoDB, SSM and Secrets Manager endpoints come from the SDK's normal chain
 * (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SSM`, `AWS_ENDPOINT_URL`, …; locally a dynalite).
 *
 * Any unknown `SOVEREIGN_*` variable (the CLI's own option twins, `SOVEREIGN_PORT` and
 * `SOVEREIGN_DEV_*` of the `dev` server are tolerated), unknown key or malformed value is a cold-start error: it is
 * logged as one JSON line and every request answers 500 `runtime-misconfigured`.
 *
 * @module
 */
import { isExtensionName, isStage, isTenantId } from '../contract/names.js';
import { parseSecretMapping } from '../contract/secret-mapping.js';
import { RuntimeConfigError } from './errors.js';
import { parseReference } from '../contract/reference.js';

/** `SOVEREIGN_TENANT_CONFIG`: the tenant's configuration as deployed. */
export interface TenantRuntimeConfig {
  /** Extensions enabled for the tenant; only these are served. */
  extensions: string[];
  /** `"<extension>.<key>"` → secret reference (`ssm:…` / `secretsmanager:…`). */
  secrets: Record<string, string>;
  /** Extension name → its tenant-level settings (validated with the manifest's config schema). */
  config: Record<string, unknown>;
  /** Reference of the rotation webhook's signing secret, e.g. `ssm:/dev/tenants/acme/_sovereign/webhook_secret`. */
  webhookSecret: string;
}

export type GenerationSource = { kind: 'dynamodb' } | { kind: 'file'; path: string };

export interface RuntimeConfig {
  tenant: string;
  stage: string;
  tier: string;
  table: string;
  artifact: string;
  tenantConfig: TenantRuntimeConfig;
  secretsBackend: { kind: 'aws' } | { kind: 'vault'; path: string; keyFile: string };
  generationSource: GenerationSource;
  generationIntervalMs: number;
  secretTtlMs: number;
  secretCacheMax: number;
  secretMaxStaleMs: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** Every variable of the contract; any other `SOVEREIGN_*` variable is refused. */
export const RUNTIME_ENV_VARS = [
  'SOVEREIGN_TENANT', 'SOVEREIGN_STAGE', 'SOVEREIGN_TIER', 'SOVEREIGN_TABLE', 'SOVEREIGN_ARTIFACT',
  'SOVEREIGN_TENANT_CONFIG', 'SOVEREIGN_SECRETS_BACKEND', 'SOVEREIGN_VAULT_PATH', 'SOVEREIGN_VAULT_KEY_FILE',
  'SOVEREIGN_GENERATION_SOURCE', 'SOVEREIGN_GENERATION_INTERVAL_MS', 'SOVEREIGN_SECRET_TTL_MS',
  'SOVEREIGN_SECRET_CACHE_MAX', 'SOVEREIGN_SECRET_MAX_STALE_MS', 'SOVEREIGN_LOG_LEVEL',
] as const;

/** `SOVEREIGN_*` variables the CLI itself reads (global option twins); tolerated, not used here. */
const CLI_ENV_VARS = new Set(['SOVEREIGN_TARGET', 'SOVEREIGN_PROFILE', 'SOVEREIGN_REGION', 'SOVEREIGN_ENDPOINT_URL', 'SOVEREIGN_VERBOSE', 'SOVEREIGN_JSON', 'SOVEREIGN_CWD', 'SOVEREIGN_YES', 'SOVEREIGN_NO_COLOR', 'SOVEREIGN_HOME']);

const TIERS = new Set(['basic', 'standard', 'premium']);
const TENANT_CONFIG_KEYS = new Set(['extensions', 'secrets', 'config', 'webhookSecret']);

/** Reads and validates the runtime configuration; throws {@link RuntimeConfigError} listing every problem. */
export function loadRuntimeConfig(env: Record<string, string | undefined> = process.env): RuntimeConfig {
  const problems: string[] = [];
  const known = new Set<string>(RUNTIME_ENV_VARS);
  for (const name of Object.keys(env)) {
    if (name.startsWith('SOVEREIGN_') && !known.has(name) && !CLI_ENV_VARS.has(name) && name !== 'SOVEREIGN_PORT' && !name.startsWith('SOVEREIGN_DEV_')) problems.push(`unknown variable ${name}`);
  }
  const required = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '') {
      problems.push(`${name} is not set`);
      return '';
    }
    return value;
  };
  const integer = (name: string, fallback: number, min: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) {
      problems.push(`${name} must be an integer ≥ ${min}`);
      return fallback;
    }
    return value;
  };

  const tenant = required('SOVEREIGN_TENANT');
  if (tenant && !isTenantId(tenant)) problems.push(`SOVEREIGN_TENANT "${tenant}" is not a valid tenant id`);
  const stage = required('SOVEREIGN_STAGE');
  if (stage && !isStage(stage)) problems.push(`SOVEREIGN_STAGE "${stage}" is not a valid stage`);
  const tier = env.SOVEREIGN_TIER || 'standard';
  if (!TIERS.has(tier)) problems.push(`SOVEREIGN_TIER "${tier}" must be basic, standard or premium`);
  const table = required('SOVEREIGN_TABLE');
  const artifact = env.SOVEREIGN_ARTIFACT || 'unknown';

  const backendName = env.SOVEREIGN_SECRETS_BACKEND || 'aws';
  let secretsBackend: RuntimeConfig['secretsBackend'] = { kind: 'aws' };
  if (backendName === 'vault') {
    secretsBackend = { kind: 'vault', path: required('SOVEREIGN_VAULT_PATH'), keyFile: required('SOVEREIGN_VAULT_KEY_FILE') };
  } else if (backendName !== 'aws') {
    problems.push(`SOVEREIGN_SECRETS_BACKEND "${backendName}" must be aws or vault`);
  }

  const sourceText = env.SOVEREIGN_GENERATION_SOURCE || 'dynamodb';
  let generationSource: GenerationSource = { kind: 'dynamodb' };
  if (sourceText.startsWith('file:') && sourceText.length > 5) generationSource = { kind: 'file', path: sourceText.slice(5) };
  else if (sourceText !== 'dynamodb') problems.push(`SOVEREIGN_GENERATION_SOURCE "${sourceText}" must be dynamodb or file:<path>`);

  const logLevel = env.SOVEREIGN_LOG_LEVEL || 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) problems.push(`SOVEREIGN_LOG_LEVEL "${logLevel}" must be debug, info, warn or error`);

  const tenantConfig = parseTenantConfig(required('SOVEREIGN_TENANT_CONFIG'), problems);

  const config: RuntimeConfig = {
    tenant,
    stage,
    tier,
    table,
    artifact,
    tenantConfig,
    secretsBackend,
    generationSource,
    generationIntervalMs: integer('SOVEREIGN_GENERATION_INTERVAL_MS', 1000, 0),
    secretTtlMs: integer('SOVEREIGN_SECRET_TTL_MS', 300_000, 0),
    secretCacheMax: integer('SOVEREIGN_SECRET_CACHE_MAX', 1000, 1),
    secretMaxStaleMs: integer('SOVEREIGN_SECRET_MAX_STALE_MS', 900_000, 0),
    logLevel: logLevel as RuntimeConfig['logLevel'],
  };
  if (problems.length > 0) throw new RuntimeConfigError(problems);
  return config;
}

/** Validates `SOVEREIGN_TENANT_CONFIG`; pushes problems (never values) and returns what it could read. */
export function parseTenantConfig(text: string, problems: string[]): TenantRuntimeConfig {
  const empty: TenantRuntimeConfig = { extensions: [], secrets: {}, config: {}, webhookSecret: '' };
  if (text === '') return empty;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    problems.push(`SOVEREIGN_TENANT_CONFIG is not JSON (${(error as Error).message})`);
    return empty;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push('SOVEREIGN_TENANT_CONFIG must be a JSON object');
    return empty;
  }
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) if (!TENANT_CONFIG_KEYS.has(key)) problems.push(`SOVEREIGN_TENANT_CONFIG has unknown key "${key}"`);

  const extensions: string[] = [];
  if (!Array.isArray(v.extensions)) problems.push('SOVEREIGN_TENANT_CONFIG.extensions must be an array of extension names');
  else {
    for (const name of v.extensions) {
      if (typeof name !== 'string' || !isExtensionName(name)) problems.push(`SOVEREIGN_TENANT_CONFIG.extensions: "${String(name)}" is not an extension name`);
      else if (extensions.includes(name)) problems.push(`SOVEREIGN_TENANT_CONFIG.extensions lists "${name}" twice`);
      else extensions.push(name);
    }
  }

  const secrets: Record<string, string> = {};
  const rawSecrets = v.secrets ?? {};
  if (typeof rawSecrets !== 'object' || rawSecrets === null || Array.isArray(rawSecrets)) {
    problems.push('SOVEREIGN_TENANT_CONFIG.secrets must be an object of "<extension>.<key>": reference');
  } else {
    for (const [key, reference] of Object.entries(rawSecrets)) {
      if (!parseSecretMapping(key).ok) {
        problems.push(`SOVEREIGN_TENANT_CONFIG.secrets: "${key}" is not "<extension>.<key>"`);
        continue;
      }
      if (typeof reference !== 'string') {
        problems.push(`SOVEREIGN_TENANT_CONFIG.secrets["${key}"] must be a reference string`);
        continue;
      }
      const parsed = parseReference(reference);
      if (!parsed.ok) problems.push(`SOVEREIGN_TENANT_CONFIG.secrets["${key}"]: ${parsed.problem.message}`);
      else secrets[key] = reference;
    }
  }

  const config: Record<string, unknown> = {};
  const rawConfig = v.config ?? {};
  if (typeof rawConfig !== 'object' || rawConfig === null || Array.isArray(rawConfig)) {
    problems.push('SOVEREIGN_TENANT_CONFIG.config must be an object keyed by extension');
  } else {
    for (const [ext, settings] of Object.entries(rawConfig)) {
      if (!isExtensionName(ext)) problems.push(`SOVEREIGN_TENANT_CONFIG.config: "${ext}" is not an extension name`);
      else config[ext] = settings;
    }
  }

  let webhookSecret = '';
  if (typeof v.webhookSecret !== 'string') problems.push('SOVEREIGN_TENANT_CONFIG.webhookSecret must be a secret reference');
  else {
    const parsed = parseReference(v.webhookSecret);
    if (!parsed.ok) problems.push(`SOVEREIGN_TENANT_CONFIG.webhookSecret: ${parsed.problem.message}`);
    else webhookSecret = v.webhookSecret;
  }
  return { extensions, secrets, config, webhookSecret };
}
