/**
 * Tenant scope of secret references: which parameter and secret names belong to a tenant, and
 * the guarantee that no name belongs to two tenants.
 *
 * Configuration (`"secrets"` in `sovereign.config.json`), placeholders `{stage}`, `{tenant}`,
 * `{extension}`:
 *
 * ```json
 * { "secrets": { "ssmPrefix": "/{stage}/tenants/{tenant}/", "secretsManagerName": "{stage}/tenants/{tenant}/" } }
 * { "secrets": { "secretsManagerName": "{extension}/{tenant}-secrets" } }
 * ```
 *
 * `ssmPrefix` ends with `/`: a tenant's parameters are the names below it. `secretsManagerName`
 * ending with `/` is a prefix in the same way; otherwise it is the one exact secret name of a
 * tenant's extension (the case study's layout, delimited: `{extension}/{tenant}-secrets`; its
 * `{extension}-{tenant}-secrets` is refused, see {@link templateAmbiguity}).
 *
 * A pattern must be injective over every stage, tenant and extension there may ever be
 * ({@link secretsPatternAmbiguity}): that is what keeps one name out of two tenants' scopes, for
 * tenants and extensions added later too.
 * Names are compared exactly for the tenant's own scope and case-insensitively against other
 * tenants. The syntax check that runs first has already refused `..`, `.`, empty segments,
 * percent-encoding and non-ASCII look-alikes, so no two spellings of one name reach this module.
 */
import { z } from 'zod';
import { badInput } from '../errors.js';
import { parseReference, formatReference, type ReferenceProblem, type SecretReference } from '../contract/reference.js';
import { SEGMENTED_NAME, STAGE } from '../contract/names.js';

export const DEFAULT_SSM_PREFIX = '/{stage}/tenants/{tenant}/';
export const DEFAULT_SECRETS_MANAGER_NAME = '{stage}/tenants/{tenant}/';

const PLACEHOLDERS = ['stage', 'tenant', 'extension'] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];

/**
 * Whether a placeholder's value may contain `char`, derived from the name rules themselves
 * (`contract/names.ts`): a stage is `[a-z0-9]`, tenant ids and extension names `[a-z0-9-]`.
 */
const MAY_CONTAIN: Record<Placeholder, (char: string) => boolean> = {
  stage: (char) => STAGE.test(`a${char}`),
  tenant: (char) => SEGMENTED_NAME.test(`aa${char}a`),
  extension: (char) => SEGMENTED_NAME.test(`aa${char}a`),
};

const VALUE_OF: Record<Placeholder, string> = { stage: 'a stage', tenant: 'a tenant id', extension: 'an extension name' };

type TemplatePart = { literal: string } | { placeholder: Placeholder };

/** Splits `a/{tenant}/b` into literal and placeholder parts; throws on unknown placeholders. */
function splitTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  // Split by a capturing pattern: literal text at even indexes, placeholder names at odd ones.
  template.split(/\{([^{}]*)\}/).forEach((piece, index) => {
    if (index % 2 === 0) {
      if (piece !== '') parts.push({ literal: piece });
    } else if ((PLACEHOLDERS as readonly string[]).includes(piece)) {
      parts.push({ placeholder: piece as Placeholder });
    } else {
      throw new Error(`unknown placeholder "{${piece}}"; use {stage}, {tenant} or {extension}`);
    }
  });
  if (parts.some((part) => 'literal' in part && /[{}]/.test(part.literal))) throw new Error('unbalanced "{" or "}"');
  return parts;
}

const SAMPLE = { stage: 'dev', tenant: 'acme', extension: 'avalara' };

/** Why `template` is not a usable scope template for `service` (SSM: a prefix; Secrets Manager: a name or a prefix), or undefined. */
function templateProblem(template: string, service: 'ssm' | 'secretsmanager'): string | undefined {
  let parts: TemplatePart[];
  try {
    parts = splitTemplate(template);
  } catch (error) {
    return (error as Error).message;
  }
  if (!parts.some((part) => 'placeholder' in part && part.placeholder === 'tenant')) {
    return 'must contain {tenant}: without it every tenant would share one scope';
  }
  if (service === 'ssm') {
    if (!template.endsWith('/')) return 'a prefix must end with "/"';
    if (!template.startsWith('/')) return 'an SSM prefix must start with "/"';
  }
  const rendered = renderTemplate(template, SAMPLE);
  const probe = rendered.endsWith('/') ? `${rendered}key` : rendered;
  const result = parseReference(`${service}:${probe}`);
  if (!result.ok) return `renders names that are not valid (${result.problem.message.replace(/ at position \d+| \(position \d+\)/, '')})`;
  return undefined;
}

/**
 * `templateProblem`'s rules as a pattern, for JSON Schema readers: known placeholders, {tenant},
 * the service's characters, no empty, `.` or `..` segments, SSM's slashes, levels and reserved
 * prefixes. (What only rendering shows — a length or an ARN-like suffix made by a placeholder —
 * is the CLI's alone.)
 */
const PLACEHOLDER = String.raw`\{(?:stage|tenant|extension)\}`;
const TEMPLATE_PATTERNS = {
  ssm: `^(?=.*\\{tenant\\})/(?![Aa][Ww][Ss]|[Ss][Ss][Mm])(?:(?!\\.\\.?/)(?:[A-Za-z0-9_.-]|${PLACEHOLDER})+/){1,14}$`,
  secretsmanager: `^(?=.*\\{tenant\\})(?!\\.\\.?(?:/|$))(?:[A-Za-z0-9_+=.@-]|${PLACEHOLDER})+(?:/(?!\\.\\.?(?:/|$))(?:[A-Za-z0-9_+=.@-]|${PLACEHOLDER})+)*/?$`,
} as const;

const template = (service: 'ssm' | 'secretsmanager') =>
  z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      const problem = templateProblem(value, service);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .meta({ pattern: TEMPLATE_PATTERNS[service] });

/**
 * The `"secrets"` section of `sovereign.config.json`: where each tenant's references must lie.
 * Both keys default to SPEC.md's layout.
 */
export const secretsConfigSchema = z
  .object({
    ssmPrefix: template('ssm')
      .default(DEFAULT_SSM_PREFIX)
      .describe('SSM parameter names of a tenant lie below this prefix; placeholders {stage}, {tenant}, {extension}'),
    secretsManagerName: template('secretsmanager')
      .default(DEFAULT_SECRETS_MANAGER_NAME)
      .describe('Secrets Manager names of a tenant: a prefix ending in "/", or one exact name per extension such as "{extension}/{tenant}-secrets"'),
  })
  .strict();

export type SecretsConfig = z.output<typeof secretsConfigSchema>;
export type SecretsConfigInput = z.input<typeof secretsConfigSchema>;

/** The configuration with defaults applied (accepts the raw `"secrets"` value or nothing). */
export function resolveSecretsConfig(raw: unknown): SecretsConfig {
  const parsed = secretsConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    // A failed parse has at least one issue; the schema is flat, so its path is one key or none.
    const issue = parsed.error.issues[0]!;
    throw badInput(`sovereign.config.json: secrets.${String(issue.path[0] ?? '')}: ${issue.message}`,
      `e.g. "secrets": { "ssmPrefix": "${DEFAULT_SSM_PREFIX}", "secretsManagerName": "{extension}/{tenant}-secrets" }`);
  }
  return parsed.data;
}

/** Substitutes the placeholders of a template. */
export function renderTemplate(template: string, values: { stage: string; tenant: string; extension: string }): string {
  return template.replace(/\{(stage|tenant|extension)\}/g, (_match, name: Placeholder) => values[name]);
}

/** One tenant's (and extension's) scope for one service. */
export interface ScopeRule {
  service: 'ssm' | 'secretsmanager';
  /** `prefix`: names strictly below `value`; `exact`: the name `value` itself. */
  match: 'prefix' | 'exact';
  value: string;
}

/** The scope of `tenant`'s `extension` for a service. */
export function scopeRule(config: SecretsConfig, service: 'ssm' | 'secretsmanager', values: { stage: string; tenant: string; extension: string }): ScopeRule {
  const template = service === 'ssm' ? config.ssmPrefix : config.secretsManagerName;
  const value = renderTemplate(template, values);
  return { service, match: value.endsWith('/') ? 'prefix' : 'exact', value };
}

/** Whether `name` lies in the scope of `rule`; a valid name never ends with "/", so one that starts with a prefix lies strictly below it. */
function ruleMatches(rule: ScopeRule, name: string, caseInsensitive: boolean): boolean {
  const candidate = caseInsensitive ? name.toLowerCase() : name;
  const value = caseInsensitive ? rule.value.toLowerCase() : rule.value;
  return rule.match === 'exact' ? candidate === value : candidate.startsWith(value);
}

/** Human description of a rule, for messages and hints. */
export function describeRule(rule: ScopeRule): string {
  const what = rule.service === 'ssm' ? 'SSM parameter names' : 'Secrets Manager names';
  return rule.match === 'prefix' ? `${what} starting with "${rule.value}"` : `the Secrets Manager name "${rule.value}"`;
}

/** An example reference inside a rule, for hints. */
export function exampleReference(rule: ScopeRule, extension: string, key = 'key'): string {
  if (rule.service === 'ssm') return `ssm:${rule.value}${extension}/${key}`;
  return rule.match === 'prefix' ? `secretsmanager:${rule.value}${extension}:${key}` : `secretsmanager:${rule.value}:${key}`;
}

export interface TenantScopeOptions {
  tenant: string;
  /** The extension the reference is set for. */
  extension: string;
  stage: string;
  /** The `"secrets"` section (raw or resolved). */
  config?: unknown;
  /** Every tenant of the project (the new one may be among them or not). */
  allTenants: string[];
  /** Every extension of the project (default: just `extension`); other tenants' scopes use all of them. */
  allExtensions?: string[];
}

export type ScopeProblemCode = 'syntax' | 'outside-scope' | 'reserved' | 'other-tenant' | 'ambiguous-pattern';

/** The segment below a tenant's prefix that holds the tool's own secrets (the webhook signing secret). */
export const RESERVED_SEGMENT = '_sovereign';

export interface ScopeProblem {
  code: ScopeProblemCode;
  message: string;
  hint?: string;
  /** For `syntax`: the structured problem of the parser. */
  syntax?: ReferenceProblem;
}

export type ScopeCheckResult = { ok: true; reference: SecretReference; rule: ScopeRule } | { ok: false; problem: ScopeProblem };

/**
 * Checks that a reference lies inside `tenant`'s scope (for `extension`) and inside no other
 * tenant's scope, and that the configured pattern is unambiguous for the project's tenants.
 * Never throws; see {@link assertTenantScope}.
 */
export function checkTenantScope(reference: string | SecretReference, options: TenantScopeOptions): ScopeCheckResult {
  // Re-parse even a parsed reference, so a hand-built object cannot skip the syntax rules.
  const parsed = parseReference(typeof reference === 'string' ? reference : formatReference(reference));
  if (!parsed.ok) {
    const result: ScopeProblem = { code: 'syntax', message: `invalid secret reference: ${parsed.problem.message}`, syntax: parsed.problem };
    if (parsed.problem.hint !== undefined) result.hint = parsed.problem.hint;
    return { ok: false, problem: result };
  }
  const ref = parsed.reference;
  const config = resolveSecretsConfig(options.config);
  // The pattern must be injective for every stage, tenant and extension there may ever be, not
  // only for the ones the project has today (an extension added later must not reach a name).
  const ambiguity = secretsPatternAmbiguity(config);
  if (ambiguity) return { ok: false, problem: { code: 'ambiguous-pattern', message: ambiguity.message, hint: ambiguity.hint } };
  const { tenant, extension, stage } = options;
  // Messages never repeat the reference: a value pasted where a reference belongs would be echoed.
  const own = scopeRule(config, ref.service, { stage, tenant, extension });
  if (!ruleMatches(own, ref.name, false)) {
    return {
      ok: false,
      problem: {
        code: 'outside-scope',
        message: `the reference is outside tenant "${tenant}"'s scope: ${extension} secrets of ${tenant} are ${describeRule(own)}`,
        hint: `use a reference such as ${exampleReference(own, extension)}`,
      },
    };
  }
  // The name below the tenant's prefix (empty for an exact name, which is never reserved).
  const rest = ref.name.slice(own.value.length);
  if (rest === RESERVED_SEGMENT || rest.startsWith(`${RESERVED_SEGMENT}/`)) {
    return {
      ok: false,
      problem: {
        code: 'reserved',
        message: `the reference is in "${own.value}${RESERVED_SEGMENT}/", which holds sovereign's own secrets for the tenant`,
        hint: `use another name below "${own.value}"`,
      },
    };
  }
  const extensions = [...new Set([extension, ...(options.allExtensions ?? [])])];
  for (const other of options.allTenants) {
    if (other === tenant) continue;
    for (const otherExtension of extensions) {
      const rule = scopeRule(config, ref.service, { stage, tenant: other, extension: otherExtension });
      if (ruleMatches(rule, ref.name, true)) {
        return {
          ok: false,
          problem: {
            code: 'other-tenant',
            message: `the reference also lies in tenant "${other}"'s scope (${describeRule(rule)})`,
            hint: 'choose a name in the tenant\'s own scope',
          },
        };
      }
    }
  }
  return { ok: true, reference: ref, rule: own };
}

/** {@link checkTenantScope}, throwing a UserError (exit 2) on any problem. */
export function assertTenantScope(reference: string | SecretReference, options: TenantScopeOptions): SecretReference {
  const result = checkTenantScope(reference, options);
  if (!result.ok) throw badInput(result.problem.message, result.problem.hint);
  return result.reference;
}

/** Why a configured pattern could give two tenants one name, and a safe form of it. */
export interface PatternAmbiguity {
  /** `ssmPrefix` or `secretsManagerName`. */
  key: 'ssmPrefix' | 'secretsManagerName';
  template: string;
  message: string;
  hint: string;
}

/**
 * Why `template` is not injective, or undefined when it is. Injective means: two different
 * (stage, tenant, extension) values of the placeholders it contains never render overlapping
 * scopes (equal names, or one prefix inside another), ignoring case.
 *
 * The rule that guarantees it: the literal text after each placeholder contains a character its
 * value cannot contain (`{stage}`: anything but a-z 0-9; `{tenant}`, `{extension}`: anything but
 * a-z 0-9 and "-"), unless that text ends the template. Reading a rendered name from the left,
 * each value then runs, together with the fixed text after it, up to the first character it
 * cannot contain (or the end of the name): one way to read the name back, so one tuple of values
 * per name. A prefix ends with "/", which no value contains, so a rendered prefix that starts
 * another one holds every delimiter too and reads back to the same values. Refused: adjacent
 * placeholders (`/{stage}{tenant}/`) and a placeholder followed only by characters its value may
 * contain before the next one (`{extension}-{tenant}-secrets`).
 *
 * @example
 * templateAmbiguity('{extension}-{tenant}-secrets')
 * // → 'in "{extension}-{tenant}-secrets", {extension} is followed by "-" and then {tenant}: …'
 */
export function templateAmbiguity(template: string): string | undefined {
  let parts: TemplatePart[];
  try {
    parts = splitTemplate(template);
  } catch {
    // Not a template at all: the schema reports it.
    return undefined;
  }
  for (const [index, part] of parts.entries()) {
    if (!('placeholder' in part)) continue;
    const next = parts[index + 1];
    // The end of the name ends the value.
    if (next === undefined) continue;
    if ('placeholder' in next) {
      return `in "${template}", {${part.placeholder}} is followed by {${next.placeholder}}: where one value ends and the next begins is not fixed, so two different values give the same name`;
    }
    // So does the end of the name after fixed text; otherwise a character the value cannot contain.
    if (index + 2 < parts.length && !delimits(part.placeholder, next.literal)) {
      const after = parts[index + 2] as { placeholder: Placeholder };
      return `in "${template}", {${part.placeholder}} is followed by "${next.literal}" and then {${after.placeholder}}: ${VALUE_OF[part.placeholder]} may contain ${describeChars(next.literal)}, so where it ends is not fixed and two different values give the same name`;
    }
  }
  return undefined;
}

/** Whether `literal` holds a character a value of `placeholder` cannot contain (ignoring case: names are compared with other tenants' so). */
function delimits(placeholder: Placeholder, literal: string): boolean {
  return [...literal.toLowerCase()].some((char) => !MAY_CONTAIN[placeholder](char));
}

function describeChars(literal: string): string {
  const lower = literal.toLowerCase();
  return lower === literal ? `"${literal}"` : `"${lower}" (ignoring case, "${literal}")`;
}

/**
 * A safe form of `template`: "/" after each placeholder that is not delimited (a "-" right after
 * it becomes "/"), e.g. `{extension}-{tenant}-secrets` → `{extension}/{tenant}-secrets`.
 */
export function delimitedTemplate(template: string): string {
  let parts: TemplatePart[];
  try {
    parts = splitTemplate(template);
  } catch {
    return template;
  }
  return parts.map((part, index) => {
    const previous = parts[index - 1];
    if ('literal' in part) {
      const last = index + 1 === parts.length;
      if (last || previous === undefined || !('placeholder' in previous) || delimits(previous.placeholder, part.literal)) return part.literal;
      return part.literal.startsWith('-') ? `/${part.literal.slice(1)}` : `/${part.literal}`;
    }
    const next = parts[index + 1];
    return next !== undefined && 'placeholder' in next ? `{${part.placeholder}}/` : `{${part.placeholder}}`;
  }).join('');
}

/**
 * Why the configured `"secrets"` patterns could put one name in two tenants' scopes, for any
 * stages, tenants and extensions there may ever be, or undefined when they cannot. Refused
 * (exit 2) by `tenant create`, `tenant deploy`, `ext new`, `ext enable`, `secrets set` and
 * `secrets put`.
 */
export function secretsPatternAmbiguity(config: unknown): PatternAmbiguity | undefined {
  const resolved = resolveSecretsConfig(config);
  for (const key of ['ssmPrefix', 'secretsManagerName'] as const) {
    const template = resolved[key];
    const problem = templateAmbiguity(template);
    if (problem === undefined) continue;
    return {
      key,
      template,
      message: `the secrets pattern "${template}" (secrets.${key} in sovereign.config.json) is ambiguous: ${problem}`,
      hint: `end each placeholder with a character its value cannot contain, e.g. "${key}": "${delimitedTemplate(template)}"`,
    };
  }
  return undefined;
}
