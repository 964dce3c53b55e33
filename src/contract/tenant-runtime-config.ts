/**
 * The tenant runtime configuration: what the CLI deploys as `SOVEREIGN_TENANT_CONFIG` (the local
 * launcher and the CloudFormation template alike) and what the runtime validates at cold start.
 * One shape, one printer, one reader.
 *
 * Pure and dependency-free: it is bundled into every tenant runtime.
 */
import { SCOPE, type TenantAuth } from './auth.js';
import { isExtensionName } from './names.js';
import { parseReference } from './reference.js';
import { parseSecretMapping } from './secret-mapping.js';

/** `SOVEREIGN_TENANT_CONFIG`: the tenant's configuration as deployed. */
export interface TenantRuntimeConfig {
  /** Extensions enabled for the tenant; only these are served. */
  extensions: string[];
  /** `"<extension>.<key>"` (see `secret-mapping.ts`) → secret reference (`ssm:…` / `secretsmanager:…`). */
  secrets: Record<string, string>;
  /** Extension name → its tenant-level settings (validated with the manifest's config schema). */
  config: Record<string, unknown>;
  /** Reference of the rotation webhook's signing secret, e.g. `ssm:/dev/tenants/acme/_sovereign/webhook_secret`. */
  webhookSecret: string;
  /** Who may call the tenant's API (`contract/auth.ts`); absent: no JWT issuer, API keys accepted. */
  auth?: TenantAuth;
}

/** The caller rules of a configuration without `auth`. */
export const NO_JWT_AUTH: TenantAuth = Object.freeze({ issuers: [], audiences: [], tenantClaim: 'tenant_id', apiKeys: true }) as TenantAuth;

/** The members of {@link TenantRuntimeConfig}; any other member is refused. */
export const TENANT_CONFIG_KEYS: ReadonlySet<string> = new Set(['extensions', 'secrets', 'config', 'webhookSecret', 'auth']);

export { webhookSecretReference } from './names.js';

/**
 * The text of `SOVEREIGN_TENANT_CONFIG`. Deterministic: extensions and secret mappings sorted,
 * members in a fixed order, so the same configuration always deploys the same template and
 * starts the same process. {@link parseTenantRuntimeConfig} reads it back unchanged.
 */
export function serializeTenantRuntimeConfig(config: TenantRuntimeConfig): string {
  return JSON.stringify({
    extensions: [...config.extensions].sort(),
    secrets: Object.fromEntries(Object.keys(config.secrets).sort().map((key) => [key, config.secrets[key]])),
    config: config.config,
    webhookSecret: config.webhookSecret,
    ...(config.auth === undefined ? {} : { auth: config.auth }),
  });
}

/** `value` as a JSON object (not null, not an array), or undefined. */
function jsonObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined;
}

/**
 * Validates the text of `SOVEREIGN_TENANT_CONFIG`: pushes every problem onto `problems` (naming
 * keys and characters, never a value that might be a pasted secret) and returns what it could read.
 */
export function parseTenantRuntimeConfig(text: string, problems: string[]): TenantRuntimeConfig {
  const empty: TenantRuntimeConfig = { extensions: [], secrets: {}, config: {}, webhookSecret: '' };
  if (text === '') return empty;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    problems.push(`SOVEREIGN_TENANT_CONFIG is not JSON (${(error as Error).message})`);
    return empty;
  }
  const v = jsonObject(value);
  if (v === undefined) {
    problems.push('SOVEREIGN_TENANT_CONFIG must be a JSON object');
    return empty;
  }
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
  const rawSecrets = jsonObject(v.secrets ?? {});
  if (rawSecrets === undefined) {
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
  const rawConfig = jsonObject(v.config ?? {});
  if (rawConfig === undefined) {
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
  const auth = v.auth === undefined ? undefined : parseAuth(v.auth, problems);
  return { extensions, secrets, config, webhookSecret, ...(auth === undefined ? {} : { auth }) };
}

function stringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string' && item !== '');
}

function parseAuth(value: unknown, problems: string[]): TenantAuth | undefined {
  const a = jsonObject(value);
  if (a === undefined) {
    problems.push('SOVEREIGN_TENANT_CONFIG.auth must be an object');
    return undefined;
  }
  for (const key of Object.keys(a)) if (!['issuers', 'audiences', 'tenantClaim', 'apiKeys'].includes(key)) problems.push(`SOVEREIGN_TENANT_CONFIG.auth has unknown key "${key}"`);
  const before = problems.length;
  if (!stringList(a.issuers)) problems.push('SOVEREIGN_TENANT_CONFIG.auth.issuers must be a list of issuer strings');
  if (!stringList(a.audiences)) problems.push('SOVEREIGN_TENANT_CONFIG.auth.audiences must be a list of audience strings');
  if (a.tenantClaim !== null && (typeof a.tenantClaim !== 'string' || !SCOPE.test(a.tenantClaim))) problems.push('SOVEREIGN_TENANT_CONFIG.auth.tenantClaim must be a claim name or null');
  if (typeof a.apiKeys !== 'boolean') problems.push('SOVEREIGN_TENANT_CONFIG.auth.apiKeys must be true or false');
  if (problems.length > before) return undefined;
  return { issuers: a.issuers as string[], audiences: a.audiences as string[], tenantClaim: a.tenantClaim as string | null, apiKeys: a.apiKeys as boolean };
}
