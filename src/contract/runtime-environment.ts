/**
 * The runtime environment: the variables a tenant runtime is started with. The `dev` server
 * (local target) and the CloudFormation template (aws target) both build them with
 * {@link runtimeEnvironment}; the runtime reads them back (`runtime/config.ts`) by the names and
 * defaults defined here, so a variable cannot be spelled one way on one side and another way on
 * the other.
 *
 * | variable | meaning |
 * |---|---|
 * | `SOVEREIGN_TENANT` | tenant id (required) |
 * | `SOVEREIGN_STAGE` | stage, e.g. `dev` (required) |
 * | `SOVEREIGN_TIER` | `basic` \| `standard` \| `premium` (default `standard`) |
 * | `SOVEREIGN_TABLE` | name of the tenant's DynamoDB table (required); key schema `TENANT_TABLE_KEY_SCHEMA` (`runtime/table.ts`) |
 * | `SOVEREIGN_ARTIFACT` | sha256 of the deployed artifact, reported by health (default `unknown`) |
 * | `SOVEREIGN_TENANT_CONFIG` | JSON `TenantRuntimeConfig` (`tenant-runtime-config.ts`, required) |
 * | `SOVEREIGN_SECRETS_BACKEND` | `aws` (SSM + Secrets Manager) or `vault` (local encrypted vault); default `aws` |
 * | `SOVEREIGN_VAULT_PATH` | vault file, required with `vault` |
 * | `SOVEREIGN_VAULT_KEY_FILE` | file holding the tenant's vault key, required with `vault` |
 * | `SOVEREIGN_VAULT_MIN_GENERATION` | the vault generation the registry recorded; an older vault file is refused (default 0) |
 * | `SOVEREIGN_GENERATION_SOURCE` | `dynamodb` (item `{ pk: '_sovereign', sk: 'generation' }` of the table; default) or `file:<path>` |
 * | `SOVEREIGN_API_KEY_SOURCE` | where API keys are looked up (`contract/api-keys.ts`): `dynamodb` (the table; default) or `file:<dir>` (the tenant's data folder) |
 * | `SOVEREIGN_GENERATION_INTERVAL_MS` | how often at most the generation marker is read (default 1000) |
 * | `SOVEREIGN_SECRET_TTL_MS` | secret cache TTL (default 300000) |
 * | `SOVEREIGN_SECRET_CACHE_MAX` | secret cache entries (default 1000) |
 * | `SOVEREIGN_SECRET_MAX_STALE_MS` | stale-if-error bound past the TTL (default 900000) |
 * | `SOVEREIGN_LOG_LEVEL` | `debug` \| `info` \| `warn` \| `error` (default `info`) |
 *
 * Pure and dependency-free: it is bundled into every tenant runtime.
 */
import { serializeTenantRuntimeConfig, type TenantRuntimeConfig } from './tenant-runtime-config.js';

/** The name of every variable of the contract, by what it holds. */
export const RUNTIME_ENV = {
  tenant: 'SOVEREIGN_TENANT',
  stage: 'SOVEREIGN_STAGE',
  tier: 'SOVEREIGN_TIER',
  table: 'SOVEREIGN_TABLE',
  artifact: 'SOVEREIGN_ARTIFACT',
  tenantConfig: 'SOVEREIGN_TENANT_CONFIG',
  secretsBackend: 'SOVEREIGN_SECRETS_BACKEND',
  vaultPath: 'SOVEREIGN_VAULT_PATH',
  vaultKeyFile: 'SOVEREIGN_VAULT_KEY_FILE',
  vaultMinGeneration: 'SOVEREIGN_VAULT_MIN_GENERATION',
  generationSource: 'SOVEREIGN_GENERATION_SOURCE',
  apiKeySource: 'SOVEREIGN_API_KEY_SOURCE',
  generationIntervalMs: 'SOVEREIGN_GENERATION_INTERVAL_MS',
  secretTtlMs: 'SOVEREIGN_SECRET_TTL_MS',
  secretCacheMax: 'SOVEREIGN_SECRET_CACHE_MAX',
  secretMaxStaleMs: 'SOVEREIGN_SECRET_MAX_STALE_MS',
  logLevel: 'SOVEREIGN_LOG_LEVEL',
} as const;

export type RuntimeEnvName = (typeof RUNTIME_ENV)[keyof typeof RUNTIME_ENV];

/** Every variable of the contract; any other `SOVEREIGN_*` variable is refused unless tolerated. */
export const RUNTIME_ENV_VARS: readonly RuntimeEnvName[] = Object.values(RUNTIME_ENV);

/** Tuning variables: optional, with defaults; a developer may set them on `sovereign dev` itself. */
export const RUNTIME_TUNING_VARS = [
  RUNTIME_ENV.logLevel, RUNTIME_ENV.secretTtlMs, RUNTIME_ENV.secretCacheMax, RUNTIME_ENV.secretMaxStaleMs, RUNTIME_ENV.generationIntervalMs,
] as const;

export type RuntimeTuningVar = (typeof RUNTIME_TUNING_VARS)[number];

/** The service tiers, for the CLI's configuration and templates and for `SOVEREIGN_TIER`. */
export const TENANT_TIERS = ['basic', 'standard', 'premium'] as const;

/** The log levels of `SOVEREIGN_LOG_LEVEL`. */
export const RUNTIME_LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** What an unset optional variable means. */
export const RUNTIME_DEFAULTS = {
  tier: 'standard',
  artifact: 'unknown',
  generationIntervalMs: 1000,
  secretTtlMs: 300_000,
  secretCacheMax: 1000,
  secretMaxStaleMs: 900_000,
  logLevel: 'info',
} as const;

/**
 * `SOVEREIGN_*` variables that are not the runtime's but may reach it: the CLI's own option
 * twins, and `SOVEREIGN_PORT` / `SOVEREIGN_DEV_*` of the `dev` server. Tolerated, not used.
 */
export const TOLERATED_ENV_VARS: ReadonlySet<string> = new Set([
  'SOVEREIGN_TARGET', 'SOVEREIGN_PROFILE', 'SOVEREIGN_REGION', 'SOVEREIGN_ENDPOINT_URL', 'SOVEREIGN_VERBOSE', 'SOVEREIGN_JSON',
  'SOVEREIGN_CWD', 'SOVEREIGN_YES', 'SOVEREIGN_NO_COLOR', 'SOVEREIGN_HOME', 'SOVEREIGN_PORT',
]);

/** The prefix of the `dev` server's own variables (`SOVEREIGN_DEV_ENTRY`, …), tolerated by the runtime. */
export const DEV_ENV_PREFIX = 'SOVEREIGN_DEV_';

/** Whether the runtime refuses `name` as an unknown variable of its contract. */
export function isUnknownRuntimeVariable(name: string): boolean {
  return name.startsWith('SOVEREIGN_') && !(RUNTIME_ENV_VARS as readonly string[]).includes(name)
    && !TOLERATED_ENV_VARS.has(name) && !name.startsWith(DEV_ENV_PREFIX);
}

/** Where the runtime reads its secrets. */
export type SecretsBackendSetting = { kind: 'aws' } | { kind: 'vault'; path: string; keyFile: string; minGeneration?: number };

/** Where the runtime reads its generation marker. */
export type GenerationSource = { kind: 'dynamodb' } | { kind: 'file'; path: string };

const FILE_SOURCE = 'file:';

/** The text of `SOVEREIGN_GENERATION_SOURCE`; {@link parseGenerationSource} reads it back. */
export function formatGenerationSource(source: GenerationSource): string {
  return source.kind === 'file' ? `${FILE_SOURCE}${source.path}` : 'dynamodb';
}

/** Reads `SOVEREIGN_GENERATION_SOURCE`: `dynamodb` or `file:<path>` (non-empty path); undefined otherwise. */
export function parseGenerationSource(text: string): GenerationSource | undefined {
  if (text === 'dynamodb') return { kind: 'dynamodb' };
  if (text.startsWith(FILE_SOURCE) && text.length > FILE_SOURCE.length) return { kind: 'file', path: text.slice(FILE_SOURCE.length) };
  return undefined;
}

/** What a target chooses for one tenant's runtime; the runtime's configuration holds the same. */
export interface RuntimeSettings {
  tenant: string;
  stage: string;
  tier: string;
  /** The tenant's table name. */
  table: string;
  /** SHA-256 of the artifact the runtime runs. */
  artifact: string;
  tenantConfig: TenantRuntimeConfig;
  secretsBackend: SecretsBackendSetting;
  generationSource: GenerationSource;
  /** Where API keys are looked up; default the table (`dynamodb`). For `file`, `path` is a folder. */
  apiKeySource?: GenerationSource;
}

/** Everything a tenant runtime is told: its settings and, optionally, tuning. */
export interface RuntimeEnvironmentInput extends RuntimeSettings {
  /** Tuning variables to pass on; empty values are left out (the runtime's default applies). */
  tuning?: Partial<Record<RuntimeTuningVar, string | undefined>>;
}

/**
 * The variables (names and values) of the runtime's contract for one tenant, in a fixed order:
 * what `loadRuntimeConfig` (`runtime/config.ts`) reads back into the same configuration.
 * Targets add their own platform variables (AWS credentials, the `dev` server's) around it.
 */
export function runtimeEnvironment(input: RuntimeEnvironmentInput): Record<string, string> {
  const env: Record<string, string> = {
    [RUNTIME_ENV.tenant]: input.tenant,
    [RUNTIME_ENV.stage]: input.stage,
    [RUNTIME_ENV.tier]: input.tier,
    [RUNTIME_ENV.table]: input.table,
    [RUNTIME_ENV.artifact]: input.artifact,
    [RUNTIME_ENV.tenantConfig]: serializeTenantRuntimeConfig(input.tenantConfig),
    [RUNTIME_ENV.secretsBackend]: input.secretsBackend.kind,
  };
  if (input.secretsBackend.kind === 'vault') {
    env[RUNTIME_ENV.vaultPath] = input.secretsBackend.path;
    env[RUNTIME_ENV.vaultKeyFile] = input.secretsBackend.keyFile;
    if (input.secretsBackend.minGeneration !== undefined) env[RUNTIME_ENV.vaultMinGeneration] = String(input.secretsBackend.minGeneration);
  }
  env[RUNTIME_ENV.generationSource] = formatGenerationSource(input.generationSource);
  if (input.apiKeySource !== undefined && input.apiKeySource.kind !== 'dynamodb') env[RUNTIME_ENV.apiKeySource] = formatGenerationSource(input.apiKeySource);
  for (const name of RUNTIME_TUNING_VARS) {
    const value = input.tuning?.[name];
    if (value !== undefined && value !== '') env[name] = value;
  }
  return env;
}
