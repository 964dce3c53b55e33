/**
 * The zod schema of an extension manifest (`extensions/<name>/extension.ts`) and the checks that
 * cannot be expressed as field shapes: unique secrets, unique routes, tenant-confined IAM resources.
 */
import { z } from 'zod';
import type { ExtensionManifest, HttpMethod, PermissionStatement, RouteDefinition, ScheduleDefinition, SecretDeclaration } from '../runtime/extension.js';
import { parseScheduleExpression } from '../contract/schedule-expression.js';
import { SCHEDULE_NAME, SCHEDULE_NAME_MAX, SCHEDULE_PAYLOAD_MAX } from '../contract/schedules.js';
import { extensionNameProblem, SECRET_KEY } from '../contract/names.js';
import { SCOPE } from '../contract/auth.js';

/** A manifest that passed `validateManifest`: defaults applied. */
export interface ValidManifest extends ExtensionManifest<unknown> {
  routes: Array<RouteDefinition & { auth: 'required' | 'public' }>;
  secrets: Array<SecretDeclaration & { required: boolean }>;
  permissions: Array<PermissionStatement & { effect: 'Allow' }>;
  schedules: Array<ScheduleDefinition & { enabled: boolean }>;
}

export type ManifestValidation = { ok: true; manifest: ValidManifest } | { ok: false; problems: string[] };

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const satisfies readonly HttpMethod[];

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const HANDLER_REF = /^[a-z0-9][a-z0-9-]*(?:#[A-Za-z_$][A-Za-z0-9_$]*)?$/;
const PATH_LITERAL = /^[A-Za-z0-9._~-]+$/;
const PATH_PARAM = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const ACTION = /^[a-z0-9-]+:[A-Za-z0-9*?]+$/;
export const PLACEHOLDERS = ['tenant', 'stage', 'region', 'account'] as const;

/**
 * True for a zod 4 schema. Checked by shape rather than `instanceof` so that a manifest bundled
 * with its own copy of zod is still recognised.
 */
export function isZodSchema(value: unknown): value is z.ZodType {
  return (
    typeof value === 'object' &&
    value !== null &&
    '_zod' in value &&
    typeof (value as { safeParse?: unknown }).safeParse === 'function'
  );
}

const zodSchema = (what: string) =>
  z.custom<z.ZodType>(isZodSchema, { message: `${what} must be a zod schema (e.g. z.object({...}))` });

/** Problems with a route path, or an empty list. */
export function routePathProblems(path: string): string[] {
  if (!path.startsWith('/')) return [`path "${path}" must start with "/"`];
  if (path === '/') return [];
  if (path.endsWith('/')) return [`path "${path}" must not end with "/"`];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const segment of path.slice(1).split('/')) {
    if (segment === '') {
      problems.push(`path "${path}" has an empty segment`);
      continue;
    }
    const param = PATH_PARAM.exec(segment);
    if (param) {
      const name = param[1] as string;
      if (seen.has(name)) problems.push(`path "${path}" repeats the parameter {${name}}`);
      seen.add(name);
    } else if (!PATH_LITERAL.test(segment)) {
      problems.push(
        `path "${path}" has the segment "${segment}"; segments are letters, digits, "._~-" or a {parameter}`,
      );
    }
  }
  return problems;
}

/** The path with parameter names erased: two routes with the same shape collide. */
export function routeShape(path: string): string {
  return path.replace(/\{[^}/]*\}/g, '{}');
}

/**
 * Why an IAM resource is not confined to one tenant, or undefined when it is.
 *
 * Confined means: the resource names `{tenant}` in its resource part, no wildcard appears before
 * it, and any wildcard after it is separated from it by `/` or `:` (so `…/{tenant}*` cannot reach
 * tenant `acme2` from `acme`, and `…-{tenant}-*` cannot reach `acme-corp` from `acme`).
 */
export function resourceScopeProblem(resource: string): string | undefined {
  const unknown = [...resource.matchAll(/\{([^}]*)\}/g)]
    .map((m) => m[1] as string)
    .filter((name) => !(PLACEHOLDERS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    return `uses unknown placeholder {${unknown[0]}} (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')})`;
  }
  if (resource === '*') return 'is "*", which reaches every tenant';
  const at = resource.indexOf('{tenant}');
  if (at < 0) return 'does not contain {tenant}, so it is not confined to the tenant';
  if (resource.startsWith('arn:')) {
    const fields = resource.split(':');
    if (fields.length < 6) return 'is not an ARN of the form arn:partition:service:region:account:resource';
    const resourceStart = fields.slice(0, 5).join(':').length + 1;
    if (at < resourceStart) return 'has {tenant} outside the resource part of the ARN';
  }
  const before = resource.slice(0, at);
  if (/[*?]/.test(before)) return `has a wildcard before {tenant} ("${before}"), which reaches other tenants`;
  const after = resource.slice(at + '{tenant}'.length);
  const wildcard = after.search(/[*?]/);
  if (wildcard >= 0) {
    const between = after.slice(0, wildcard);
    if (!between.includes('/') && !between.includes(':')) {
      return `has a wildcard right after {tenant} ("{tenant}${after}"); separate it with "/" (e.g. "{tenant}/*") so it cannot reach a tenant whose id starts the same way`;
    }
  }
  return undefined;
}

const routeSchema = z
  .object({
    method: z.enum(HTTP_METHODS, { message: `method must be one of ${HTTP_METHODS.join(', ')}` }),
    path: z.string({ message: 'path must be a string' }),
    handler: z
      .string({ message: 'handler must be a string' })
      .regex(HANDLER_REF, 'handler must name a file in handlers/ (kebab-case, no extension), optionally "#exportName"'),
    summary: z.string().optional(),
    request: z
      .object({ body: zodSchema('request.body').optional(), query: zodSchema('request.query').optional() })
      .strict()
      .optional(),
    response: zodSchema('response').optional(),
    auth: z.enum(['required', 'public'], { message: 'auth must be "required" (the default) or "public"' }).default('required'),
    scopes: z
      .array(z.string().regex(SCOPE, 'each scope must be 1–128 letters, digits or ":._/-" (e.g. "invoices:write")'))
      .optional(),
    responses: z
      .record(
        z.string().regex(/^[1-5]\d\d$/, 'each response status must be a 3-digit HTTP status'),
        z.string().min(1, 'each response needs a description'),
      )
      .optional(),
  })
  .strict()
  .superRefine((route, ctx) => {
    for (const message of routePathProblems(route.path)) ctx.addIssue({ code: 'custom', path: ['path'], message });
    if (route.auth === 'public' && route.scopes !== undefined && route.scopes.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['scopes'], message: 'a public route cannot require scopes (its callers are not authenticated)' });
    }
  });

const secretSchema = z
  .object({
    key: z.string({ message: 'key must be a string' }).regex(SECRET_KEY, `key must match ${SECRET_KEY.source} (e.g. license_key)`),
    description: z.string({ message: 'description is required' }).min(1, 'description must not be empty'),
    required: z.boolean().default(true),
  })
  .strict();

const permissionSchema = z
  .object({
    effect: z.literal('Allow', { message: 'effect must be "Allow" (Deny statements are not supported)' }).default('Allow'),
    actions: z
      .array(
        z.string().refine((a) => a !== '*' && ACTION.test(a), {
          message: 'each action must be "service:Action" (e.g. "ssm:GetParameter"); "*" is refused',
        }),
      )
      .min(1, 'actions must not be empty'),
    resources: z.array(z.string()).min(1, 'resources must not be empty'),
  })
  .strict();

const scheduleSchema = z
  .object({
    name: z
      .string({ message: 'name must be a string' })
      .max(SCHEDULE_NAME_MAX, `name must be at most ${SCHEDULE_NAME_MAX} characters`)
      .regex(SCHEDULE_NAME, 'name must be lower-case words joined by "-" (e.g. "nightly-sync")'),
    expression: z.string({ message: 'expression must be a string such as "rate(15 minutes)" or "cron(0 12 * * ? *)"' }),
    handler: z
      .string({ message: 'handler must be a string' })
      .regex(HANDLER_REF, 'handler must name a file in handlers/ (kebab-case, no extension), optionally "#exportName"'),
    payload: z.unknown().optional(),
    enabled: z.boolean({ message: 'enabled must be true or false' }).default(true),
    description: z.string().max(512, 'description must be at most 512 characters (EventBridge Scheduler\'s limit)').optional(),
  })
  .strict()
  .superRefine((schedule, ctx) => {
    const parsed = parseScheduleExpression(schedule.expression);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', path: ['expression'], message: `${parsed.problem} (${parsed.hint})` });
    if (schedule.payload !== undefined) {
      let text: string | undefined;
      try {
        text = JSON.stringify(schedule.payload);
      } catch {
        text = undefined;
      }
      if (text === undefined) ctx.addIssue({ code: 'custom', path: ['payload'], message: 'payload must be JSON (objects, arrays, strings, numbers, booleans, null)' });
      else if (text.length > SCHEDULE_PAYLOAD_MAX) ctx.addIssue({ code: 'custom', path: ['payload'], message: `payload is ${text.length} characters as JSON; at most ${SCHEDULE_PAYLOAD_MAX} (keep large inputs in the tenant's table or settings)` });
    }
  });

/** The manifest schema (shape only; `validateManifest` adds the cross-field checks). */
export const manifestSchema = z
  .object({
    name: z.string({ message: 'name is required' }),
    version: z.string({ message: 'version is required' }).regex(SEMVER, 'version must be a semantic version such as 1.0.0'),
    description: z.string({ message: 'description is required' }).min(1, 'description must not be empty'),
    routes: z.array(routeSchema, { message: 'routes must be an array (it may be empty)' }),
    secrets: z.array(secretSchema).default([]),
    permissions: z.array(permissionSchema).default([]),
    schedules: z.array(scheduleSchema, { message: 'schedules must be an array' }).default([]),
    config: zodSchema('config').optional(),
  })
  .strict();

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? String(part) : `.${String(part)}`;
  return out;
}

/**
 * Validates a loaded manifest value. `folderName` is the name of its folder under `extensions/`,
 * which the manifest name must equal. Returns the typed manifest, or every problem found, each a
 * readable line naming the field.
 */
export function validateManifest(value: unknown, options: { folderName?: string } = {}): ManifestValidation {
  if (typeof value !== 'object' || value === null) {
    return { ok: false, problems: ['the manifest must be an object: export default defineExtension({ ... })'] };
  }
  const parsed = manifestSchema.safeParse(value);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const where = formatPath(issue.path);
      problems.push(where ? `${where}: ${issue.message}` : issue.message);
    }
  }
  const raw = value as Partial<Record<keyof ExtensionManifest, unknown>>;
  if (typeof raw.name === 'string') {
    const nameProblem = extensionNameProblem(raw.name);
    if (nameProblem) problems.push(`name: ${nameProblem}`);
    if (options.folderName !== undefined && raw.name !== options.folderName) {
      problems.push(`name: "${raw.name}" must equal its folder name "${options.folderName}"`);
    }
  }
  if (!parsed.success) return { ok: false, problems };

  const manifest = parsed.data as ValidManifest;
  const keys = new Set<string>();
  manifest.secrets.forEach((secret, i) => {
    if (keys.has(secret.key)) problems.push(`secrets[${i}].key: "${secret.key}" is declared twice`);
    keys.add(secret.key);
  });
  const scheduleNames = new Set<string>();
  manifest.schedules.forEach((schedule, i) => {
    if (scheduleNames.has(schedule.name)) problems.push(`schedules[${i}].name: "${schedule.name}" is declared twice`);
    scheduleNames.add(schedule.name);
  });
  const shapes = new Map<string, number>();
  manifest.routes.forEach((route, i) => {
    const id = `${route.method} ${routeShape(route.path)}`;
    const first = shapes.get(id);
    if (first !== undefined) {
      problems.push(`routes[${i}]: ${route.method} ${route.path} collides with routes[${first}] (${manifest.routes[first]?.method} ${manifest.routes[first]?.path})`);
    } else {
      shapes.set(id, i);
    }
  });
  manifest.permissions.forEach((statement, i) => {
    statement.resources.forEach((resource, j) => {
      const problem = resourceScopeProblem(resource);
      if (problem) {
        problems.push(
          `permissions[${i}].resources[${j}]: statement ${i} (${statement.actions.join(', ')}) resource "${resource}" ${problem}`,
        );
      }
    });
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, manifest };
}
