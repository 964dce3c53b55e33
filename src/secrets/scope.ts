/**
 * Tenant scope of secret references: which parameter and secret names belong to a tenant, and
 * the guarantee that no name belongs to two tenants.
 *
 * Configuration (`"secrets"` in `sovereign.config.json`), placeholders `{stage}`, `{tenant}`,
 * `{extension}`:
 *
 * ```json
 * { "secrets": { "ssmPrefix": "/{stage}/tenants/{tenant}/", "secretsManagerName": "{stage}/tenants/{tenant}/" } }
 * { "secrets": { "secretsManagerName": "{extension}-{tenant}-secrets" } }
 * ```
 *
 * `ssmPrefix` ends with `/`: a tenant's parameters are the names below it. `secretsManagerName`
 * ending with `/` is a prefix in the same way; otherwise it is the one exact secret name of a
 * tenant's extension (the case study's `<extension>-<tenant>-secrets`).
 *
 * Names are compared exactly for the tenant's own scope and case-insensitively against other
 * tenants. The syntax check that runs first has already refused `..`, `.`, empty segments,
 * percent-encoding and non-ASCII look-alikes, so no two spellings of one name reach this module.
 */
import { z } from 'zod';
import { badInput } from '../errors.js';
import { parseReference, formatReference, type ReferenceProblem, type SecretReference } from '../contract/reference.js';

export const DEFAULT_SSM_PREFIX = '/{stage}/tenants/{tenant}/';
export const DEFAULT_SECRETS_MANAGER_NAME = '{stage}/tenants/{tenant}/';

const PLACEHOLDERS = ['stage', 'tenant', 'extension'] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];

/** Characters a tenant id or an extension name may contain (`{stage}` is the same for every tenant). */
const PLACEHOLDER_CHARS: Record<Exclude<Placeholder, 'stage'>, RegExp> = {
  tenant: /[a-z0-9-]/,
  extension: /[a-z0-9-]/,
};

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

const template = (service: 'ssm' | 'secretsmanager') =>
  z.string().min(1).superRefine((value, ctx) => {
    const problem = templateProblem(value, service);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

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
      .describe('Secrets Manager names of a tenant: a prefix ending in "/", or one exact name per extension such as "{extension}-{tenant}-secrets"'),
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
      `e.g. "secrets": { "ssmPrefix": "${DEFAULT_SSM_PREFIX}", "secretsManagerName": "{extension}-{tenant}-secrets" }`);
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
  const { tenant, extension, stage } = options;
  const text = formatReference(ref);
  const own = scopeRule(config, ref.service, { stage, tenant, extension });
  if (!ruleMatches(own, ref.name, false)) {
    return {
      ok: false,
      problem: {
        code: 'outside-scope',
        message: `${text} is outside tenant "${tenant}"'s scope: ${extension} secrets of ${tenant} are ${describeRule(own)}`,
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
        message: `${text} is in "${own.value}${RESERVED_SEGMENT}/", which holds sovereign's own secrets for the tenant`,
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
            message: `${text} also lies in tenant "${other}"'s scope (${describeRule(rule)})`,
            hint: 'the configured secrets pattern is ambiguous for these tenants; change "secrets" in sovereign.config.json so tenant ids are delimited by "/"',
          },
        };
      }
    }
  }
  // A template whose ids are delimited is unambiguous for every id (see templateAmbiguityWarning):
  // only an ambiguous one needs the pairwise check over the project's tenants.
  const delimited = templateAmbiguityWarning(config.ssmPrefix) === undefined && templateAmbiguityWarning(config.secretsManagerName) === undefined;
  const ambiguity = delimited
    ? undefined
    : patternAmbiguity(config, [...new Set([tenant, ...options.allTenants])], extensions, stage);
  if (ambiguity) return { ok: false, problem: { code: 'ambiguous-pattern', message: ambiguity.message, hint: ambiguity.hint } };
  return { ok: true, reference: ref, rule: own };
}

/** {@link checkTenantScope}, throwing a UserError (exit 2) on any problem. */
export function assertTenantScope(reference: string | SecretReference, options: TenantScopeOptions): SecretReference {
  const result = checkTenantScope(reference, options);
  if (!result.ok) throw badInput(result.problem.message, result.problem.hint);
  return result.reference;
}

/** Two tenants whose scopes share names. */
export interface ScopeCollision {
  service: 'ssm' | 'secretsmanager';
  first: { tenant: string; extension: string; rule: ScopeRule };
  second: { tenant: string; extension: string; rule: ScopeRule };
  /** A name that lies in both scopes. */
  example: string;
}

export interface PatternAmbiguity {
  message: string;
  hint: string;
  collisions: ScopeCollision[];
}

interface Scoped { tenant: string; extension: string; rule: ScopeRule; key: string }

/**
 * Collisions of one service's rules between different tenants. Ids never contain "/", so every
 * name one template renders has the same number of "/": all of one service's rules are exact
 * names or all are prefixes (ending in "/"), and one prefix lies inside another only when the two
 * are equal. Two scopes share names exactly when their names are equal (ignoring case).
 */
function collisionsOf(rules: Scoped[], limit: number): ScopeCollision[] {
  const found: ScopeCollision[] = [];
  const firstByKey = new Map<string, Scoped>();
  for (const scoped of rules) {
    const seen = firstByKey.get(scoped.key);
    if (seen === undefined) {
      firstByKey.set(scoped.key, scoped);
    } else if (seen.tenant !== scoped.tenant) {
      const example = scoped.rule.match === 'prefix' ? `${scoped.rule.value}key` : scoped.rule.value;
      found.push({ service: scoped.rule.service, first: seen, second: scoped, example });
      if (found.length >= limit) break;
    }
  }
  return found;
}

/**
 * Explains why the configured pattern lets one name fall into two of these tenants' scopes
 * (for any of these extensions), or returns undefined when it does not. `tenant create` and
 * `secrets set` refuse when it returns something.
 *
 * @example
 * patternAmbiguity({ secretsManagerName: '{extension}-{tenant}-secrets' }, ['cde', 'b-cde'], ['a', 'a-b'])
 * // → message: 'the secrets pattern "{extension}-{tenant}-secrets" gives tenant "cde" (extension "a-b") and tenant "b-cde" (extension "a") the same name "a-b-cde-secrets"'
 */
export function patternAmbiguity(config: unknown, tenants: string[], extensions: string[], stage = 'dev'): PatternAmbiguity | undefined {
  const resolved = resolveSecretsConfig(config);
  const uniqueTenants = [...new Set(tenants)];
  // With no extension there are no names; with one, names differ by tenant alone.
  const uniqueExtensions = [...new Set(extensions)];
  const collisions: ScopeCollision[] = [];
  for (const service of ['ssm', 'secretsmanager'] as const) {
    const rules = uniqueTenants.flatMap((tenant) => uniqueExtensions.map((extension): Scoped => {
      const rule = scopeRule(resolved, service, { stage, tenant, extension });
      // Stryker disable next-line MethodExpression: upper or lower case, either folds the ASCII names alike
      return { tenant, extension, rule, key: rule.value.toLowerCase() };
    }));
    collisions.push(...collisionsOf(rules, 5));
  }
  const first = collisions[0];
  if (!first) return undefined;
  const template = first.service === 'ssm' ? resolved.ssmPrefix : resolved.secretsManagerName;
  return {
    message: `the secrets pattern "${template}" gives tenant "${first.first.tenant}" (extension "${first.first.extension}") and tenant "${first.second.tenant}" (extension "${first.second.extension}") the same name "${first.example}"`,
    hint: 'end each placeholder with a character ids cannot contain, e.g. "/{stage}/tenants/{tenant}/" or "{extension}/{tenant}/secrets"',
    collisions,
  };
}

/**
 * Whether a template could become ambiguous for some future ids: `{tenant}` and `{extension}`
 * both present and the first of them followed by a character ids may contain (e.g.
 * `{extension}-{tenant}`), so two different (extension, tenant) pairs can give one name. A
 * template with only `{tenant}` (and `{stage}`, the same for every tenant) is never ambiguous:
 * the literal text around the id fixes it. Returns an explanation, or undefined when the template
 * is unambiguous for every possible id. Advisory: refusal is based on the actual tenants
 * ({@link patternAmbiguity}).
 */
export function templateAmbiguityWarning(template: string): string | undefined {
  let parts: TemplatePart[];
  try {
    parts = splitTemplate(template);
  } catch {
    return undefined;
  }
  const variables = parts.flatMap((part, index) =>
    'placeholder' in part && part.placeholder !== 'stage' ? [{ placeholder: part.placeholder, index }] : []);
  // The last variable is fixed by the literal text after it; every earlier one needs a delimiter.
  for (const { placeholder, index } of variables.slice(0, -1)) {
    // A later variable exists, so some part follows: a placeholder or a literal, which is never empty.
    const next = parts[index + 1]!;
    const following = 'literal' in next ? next.literal.charAt(0) : '{';
    // Names are compared with other tenants' ignoring case, so "A" after an id is no delimiter.
    const lower = following.toLowerCase();
    if (following === '{' || PLACEHOLDER_CHARS[placeholder].test(lower)) {
      const shown = lower === following ? `"${following}"` : `"${following}" ("${lower}" ignoring case)`;
      const what = following === '{' ? 'another placeholder' : `${shown}, which ids may contain`;
      return `in "${template}", {${placeholder}} is followed by ${what}: two different (extension, tenant) pairs can give the same name`;
    }
  }
  return undefined;
}
