/**
 * The naming rules the CLI and the runtime share: tenant ids, extension names, secret keys and
 * stages. The CLI refuses a bad name when it is written; the runtime refuses it again at cold
 * start, so both must apply exactly the same rule — this module is that rule, written once.
 *
 * Problems are one-line messages that name the offending character where there is one.
 * Pure and dependency-free: it is bundled into every tenant runtime.
 */

/**
 * A segmented name: lower-case letters and digits in `-`-separated segments, starting with a
 * letter. Tenant ids, extension names (and project names) share this shape. No `.` and no `_`:
 * that is what keeps `<extension>.<key>` unambiguous (see `secret-mapping.ts`).
 */
export const SEGMENTED_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** A secret key an extension declares, e.g. `license_key`. No `.` and no `-`. */
export const SECRET_KEY = /^[a-z][a-z0-9_]*$/;

/** A stage: 1–12 lower-case letters and digits, starting with a letter. */
export const STAGE = /^[a-z][a-z0-9]{0,11}$/;

/** Length bounds of a tenant id (it is part of every AWS resource name of the tenant). */
export const TENANT_ID_LENGTH = { min: 3, max: 28 } as const;

/** Length bounds of an extension name (and a project name). */
export const EXTENSION_NAME_LENGTH = { min: 2, max: 40 } as const;

/** Tenant ids that would collide with product, DNS or target names. */
export const RESERVED_TENANT_IDS: ReadonlySet<string> = new Set([
  'admin', 'api', 'www', 'sovereign', 'control', 'control-plane', 'system', 'root', 'default', 'all', 'local', 'aws',
]);

/**
 * Why `value` is not a segmented name of `min`–`max` characters (see {@link SEGMENTED_NAME}), or
 * undefined when it is one. `kind` names the thing in the message, e.g. `tenant id`.
 */
export function segmentedNameProblem(kind: string, value: string, min: number, max: number): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return `${kind} is empty`;
  if (value.length < min) return `${kind} "${value}" is too short (${value.length} characters, at least ${min})`;
  if (value.length > max) return `${kind} "${value}" is too long (${value.length} characters, at most ${max})`;
  if (/[A-Z]/.test(value)) return `${kind} "${value}" has upper-case letters; use lower case`;
  if (!/^[a-z]/.test(value)) return `${kind} "${value}" must start with a letter`;
  const chars = [...value];
  const bad = chars.findIndex((c) => !/[a-z0-9-]/.test(c));
  if (bad >= 0) return `${kind} "${value}" has "${chars[bad]}" at position ${bad + 1}; only a-z, 0-9 and "-" are allowed`;
  if (value.endsWith('-')) return `${kind} "${value}" must not end with "-"`;
  if (value.includes('--')) return `${kind} "${value}" must not contain "--"`;
  // Unreachable after the checks above; kept so the pattern stays the final word.
  if (!SEGMENTED_NAME.test(value)) return `${kind} "${value}" is not valid`;
  return undefined;
}

/** Why `id` is not a valid tenant id (3–28 characters, segmented, not reserved), or undefined. */
export function tenantIdProblem(id: string): string | undefined {
  const problem = segmentedNameProblem('tenant id', id, TENANT_ID_LENGTH.min, TENANT_ID_LENGTH.max);
  if (problem) return problem;
  if (RESERVED_TENANT_IDS.has(id)) return `tenant id "${id}" is reserved`;
  return undefined;
}

/** Why `name` is not a valid extension name (2–40 characters, segmented), or undefined. */
export function extensionNameProblem(name: string): string | undefined {
  return segmentedNameProblem('extension name', name, EXTENSION_NAME_LENGTH.min, EXTENSION_NAME_LENGTH.max);
}

/** Why `key` is not a valid secret key ({@link SECRET_KEY}), or undefined. */
export function secretKeyProblem(key: string): string | undefined {
  if (typeof key !== 'string' || !SECRET_KEY.test(key)) return `secret key "${String(key)}" is not valid`;
  return undefined;
}

/** Why `stage` is not a valid stage ({@link STAGE}, not starting with `aws` or `ssm`), or undefined. */
export function stageProblem(stage: string): string | undefined {
  if (typeof stage !== 'string' || !STAGE.test(stage)) return `stage "${String(stage)}" is not valid`;
  // Every default SSM name starts with `/<stage>/`, and AWS reserves names starting with aws or ssm.
  if (/^(aws|ssm)/.test(stage)) return `stage "${stage}" starts with "${stage.slice(0, 3)}", which AWS reserves for its own parameter names`;
  return undefined;
}

/** Whether `id` is a valid tenant id ({@link tenantIdProblem}). */
export function isTenantId(id: string): boolean {
  return tenantIdProblem(id) === undefined;
}

/** Whether `name` is a valid extension name ({@link extensionNameProblem}). */
export function isExtensionName(name: string): boolean {
  return extensionNameProblem(name) === undefined;
}

/** Whether `key` is a valid secret key ({@link secretKeyProblem}). */
export function isSecretKey(key: string): boolean {
  return secretKeyProblem(key) === undefined;
}

/** Whether `stage` is a valid stage ({@link stageProblem}). */
export function isStage(stage: string): boolean {
  return stageProblem(stage) === undefined;
}

/**
 * Where the rotation webhook's signing secret lives, inside the tenant's own SSM namespace (the
 * reserved `_sovereign` segment, which no extension name can take).
 */
export function webhookSecretReference(stage: string, tenant: string): string {
  return `ssm:/${stage}/tenants/${tenant}/_sovereign/webhook_secret`;
}
