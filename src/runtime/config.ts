/**
 * The runtime's reader of its environment. The variables, their defaults and the tenant
 * configuration they carry are the contract's (`contract/runtime-environment.ts`,
 * `contract/tenant-runtime-config.ts`): the `dev` server (local target) and the CloudFormation
 * templates (aws target) build them with the same module; nothing else configures the runtime.
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
import { isStage, isTenantId } from '../contract/names.js';
import {
  isUnknownRuntimeVariable, parseGenerationSource, RUNTIME_DEFAULTS, RUNTIME_ENV, RUNTIME_LOG_LEVELS, TENANT_TIERS,
  type GenerationSource, type RuntimeSettings, type SecretsBackendSetting,
} from '../contract/runtime-environment.js';
import { parseTenantRuntimeConfig, type TenantRuntimeConfig } from '../contract/tenant-runtime-config.js';
import { RuntimeConfigError } from './errors.js';

export type { GenerationSource, TenantRuntimeConfig };
export { RUNTIME_ENV_VARS } from '../contract/runtime-environment.js';

/** The runtime's configuration: the target's settings and the tuning, defaults applied. */
export interface RuntimeConfig extends RuntimeSettings {
  apiKeySource: GenerationSource;
  generationIntervalMs: number;
  secretTtlMs: number;
  secretCacheMax: number;
  secretMaxStaleMs: number;
  logLevel: (typeof RUNTIME_LOG_LEVELS)[number];
}

/** Reads and validates the runtime configuration; throws {@link RuntimeConfigError} listing every problem. */
export function loadRuntimeConfig(env: Record<string, string | undefined> = process.env): RuntimeConfig {
  const problems: string[] = [];
  for (const name of Object.keys(env)) if (isUnknownRuntimeVariable(name)) problems.push(`unknown variable ${name}`);
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

  const tenant = required(RUNTIME_ENV.tenant);
  if (tenant && !isTenantId(tenant)) problems.push(`${RUNTIME_ENV.tenant} "${tenant}" is not a valid tenant id`);
  const stage = required(RUNTIME_ENV.stage);
  if (stage && !isStage(stage)) problems.push(`${RUNTIME_ENV.stage} "${stage}" is not a valid stage`);
  const tier = env[RUNTIME_ENV.tier] || RUNTIME_DEFAULTS.tier;
  if (!(TENANT_TIERS as readonly string[]).includes(tier)) problems.push(`${RUNTIME_ENV.tier} "${tier}" must be basic, standard or premium`);
  const table = required(RUNTIME_ENV.table);
  const artifact = env[RUNTIME_ENV.artifact] || RUNTIME_DEFAULTS.artifact;

  const backendName = env[RUNTIME_ENV.secretsBackend] || 'aws';
  let secretsBackend: SecretsBackendSetting = { kind: 'aws' };
  if (backendName === 'vault') {
    secretsBackend = { kind: 'vault', path: required(RUNTIME_ENV.vaultPath), keyFile: required(RUNTIME_ENV.vaultKeyFile) };
    const floor = env[RUNTIME_ENV.vaultMinGeneration];
    if (floor !== undefined && floor !== '') {
      if (/^\d{1,15}$/.test(floor)) secretsBackend.minGeneration = Number(floor);
      else problems.push(`${RUNTIME_ENV.vaultMinGeneration} "${floor}" must be a whole number`);
    }
  } else if (backendName !== 'aws') {
    problems.push(`${RUNTIME_ENV.secretsBackend} "${backendName}" must be aws or vault`);
  }

  const sourceText = env[RUNTIME_ENV.generationSource] || 'dynamodb';
  const parsedSource = parseGenerationSource(sourceText);
  const generationSource: GenerationSource = parsedSource ?? { kind: 'dynamodb' };
  if (parsedSource === undefined) problems.push(`${RUNTIME_ENV.generationSource} "${sourceText}" must be dynamodb or file:<path>`);

  const keyText = env[RUNTIME_ENV.apiKeySource] || 'dynamodb';
  const parsedKeys = parseGenerationSource(keyText);
  const apiKeySource: GenerationSource = parsedKeys ?? { kind: 'dynamodb' };
  if (parsedKeys === undefined) problems.push(`${RUNTIME_ENV.apiKeySource} "${keyText}" must be dynamodb or file:<folder>`);

  const logLevel = env[RUNTIME_ENV.logLevel] || RUNTIME_DEFAULTS.logLevel;
  if (!(RUNTIME_LOG_LEVELS as readonly string[]).includes(logLevel)) problems.push(`${RUNTIME_ENV.logLevel} "${logLevel}" must be debug, info, warn or error`);

  const tenantConfig = parseTenantRuntimeConfig(required(RUNTIME_ENV.tenantConfig), problems);

  const config: RuntimeConfig = {
    tenant,
    stage,
    tier,
    table,
    artifact,
    tenantConfig,
    secretsBackend,
    generationSource,
    apiKeySource,
    generationIntervalMs: integer(RUNTIME_ENV.generationIntervalMs, RUNTIME_DEFAULTS.generationIntervalMs, 0),
    secretTtlMs: integer(RUNTIME_ENV.secretTtlMs, RUNTIME_DEFAULTS.secretTtlMs, 0),
    secretCacheMax: integer(RUNTIME_ENV.secretCacheMax, RUNTIME_DEFAULTS.secretCacheMax, 1),
    secretMaxStaleMs: integer(RUNTIME_ENV.secretMaxStaleMs, RUNTIME_DEFAULTS.secretMaxStaleMs, 0),
    logLevel: logLevel as RuntimeConfig['logLevel'],
  };
  if (problems.length > 0) throw new RuntimeConfigError(problems);
  return config;
}
