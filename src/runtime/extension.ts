/**
 * The extension API: what an extension's `extension.ts` and its handlers import from
 * `sovereign-cli/runtime`. Types only plus identity helpers, so a manifest can be loaded by the CLI
 * (validate, list, templates) without starting the runtime.
 */
import type { z } from 'zod';

/** HTTP methods a route may declare. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * One route of an extension. The path is relative to the extension's prefix: a route
 * `{ method: 'GET', path: '/orders/{id}' }` of extension `cetec` serves `GET /cetec/orders/{id}`.
 */
export interface RouteDefinition {
  method: HttpMethod;
  /** Path below the extension prefix, starting with `/`; parameters as `{name}`. */
  path: string;
  /**
   * The handler: a file in the extension's `handlers/` folder, without its extension, optionally
   * followed by `#exportName` (default export name: `handler`). `'create-quote'` means
   * `handlers/create-quote.ts`, export `handler`.
   */
  handler: string;
  /** One line for the OpenAPI document. */
  summary?: string;
  /** zod schemas the runtime validates the request against (400 listing the issues). */
  request?: {
    body?: z.ZodType;
    query?: z.ZodType;
  };
  /** zod schema of a successful response body, for the OpenAPI document. */
  response?: z.ZodType;
  /**
   * Who may call the route: `'required'` (the default) answers only an authenticated caller of
   * this tenant (a JWT of its issuer, or one of its API keys); `'public'` answers anyone.
   */
  auth?: RouteAuth;
  /**
   * OAuth scopes of a `required` route: the caller's token or key must carry at least one of them
   * (API Gateway's rule), else 403. None: any authenticated caller of the tenant.
   */
  scopes?: string[];
  /**
   * Extra responses for the OpenAPI document, by status (e.g. `{ 202: 'Sync started' }`); the
   * runtime's own (401, 403, 404, …) are listed for every route.
   */
  responses?: Record<number, string>;
}

/** A route's caller requirement. */
export type RouteAuth = 'required' | 'public';

/**
 * Who is calling, as a handler sees it (`ctx.identity`): verified before the handler runs.
 *
 * - `jwt`: a token of the tenant's issuer, verified by API Gateway's JWT authorizer (aws) or the
 *   `dev` gateway (local), its tenant claim checked again by the runtime. `subject` is `sub`;
 *   `claims` are the token's claims as API Gateway passes them (every value a string).
 * - `apiKey`: one of the tenant's API keys (`sovereign tenant keys create`). `subject` is the key's
 *   id (`key_…`), `claims` holds `name`.
 * - `anonymous`: a `public` route called without credentials checked (`subject` is null).
 * - `schedule`: a run of one of the extension's schedules (EventBridge Scheduler on aws, `sovereign
 *   dev`'s scheduler, or `sovereign tenant run`). `subject` is `<extension>.<schedule>`; no scopes,
 *   no claims.
 */
export interface CallerIdentity {
  kind: 'jwt' | 'apiKey' | 'anonymous' | 'schedule';
  subject: string | null;
  readonly scopes: readonly string[];
  claims: Record<string, string>;
}

/** A secret key the extension reads with `ctx.secrets.get(key)`. */
export interface SecretDeclaration {
  /** `^[a-z][a-z0-9_]*$`, e.g. `license_key`. */
  key: string;
  description: string;
  /** Defaults to true: enabling the extension without it set is reported. */
  required?: boolean;
}

/**
 * An IAM statement the extension needs. Resources may use the placeholders `{tenant}`,
 * `{stage}`, `{region}` and `{account}`; a wildcard that is not confined to the tenant is refused.
 */
export interface PermissionStatement {
  /** Defaults to `Allow`; only `Allow` is accepted. */
  effect?: 'Allow';
  actions: string[];
  resources: string[];
}

/**
 * A schedule of the extension: its handler runs on its own, with the same context as a route's
 * (`ctx.identity.kind` is `'schedule'`). On aws it is an EventBridge Scheduler schedule of the
 * tenant's stack; under `sovereign dev` the dev server fires it; `sovereign tenant run
 * <tenant> <extension>.<name>` runs it now.
 */
export interface ScheduleDefinition {
  /** `^[a-z][a-z0-9]*(-[a-z0-9]+)*$`, at most 40 characters, unique in the extension. */
  name: string;
  /**
   * EventBridge Scheduler's recurring expression, evaluated in UTC: `rate(15 minutes)`,
   * `rate(1 hour)`, `cron(0 12 * * ? *)` (minutes hours day-of-month month day-of-week year).
   */
  expression: string;
  /** A file in `handlers/`, as for routes (`'sync'` → `handlers/sync.ts`, export `handler`). */
  handler: string;
  /** JSON the handler receives as `run.payload` (at most 8 KiB as JSON). */
  payload?: unknown;
  /** Defaults to true; a tenant may turn a schedule on or off in its settings (`_schedules`). */
  enabled?: boolean;
  description?: string;
}

/** What a schedule handler receives. */
export interface ScheduledRun<Payload = unknown> {
  extension: string;
  /** The schedule's name. */
  schedule: string;
  /** The schedule's payload (or the one `tenant run --payload` gave); undefined when there is none. */
  payload: Payload;
}

/** A schedule handler: its result (JSON) is logged and returned to `tenant run`. */
export type ScheduleHandler<Payload = unknown, Result = unknown, Config = Record<string, unknown>> = (
  run: ScheduledRun<Payload>,
  ctx: RouteContext<Config>,
) => Result | Promise<Result>;

/** Declares a schedule handler with a typed payload and result. */
export function defineScheduleHandler<Payload = unknown, Result = unknown, Config = Record<string, unknown>>(
  handler: ScheduleHandler<Payload, Result, Config>,
): ScheduleHandler<Payload, Result, Config> {
  return handler;
}

/** What `defineExtension` takes: the whole manifest of one extension. */
export interface ExtensionManifest<Config = Record<string, unknown>> {
  /** The extension name, equal to its folder name (`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`, 2–40). */
  name: string;
  /** Semantic version, e.g. `1.2.0`. */
  version: string;
  description: string;
  routes: RouteDefinition[];
  secrets?: SecretDeclaration[];
  permissions?: PermissionStatement[];
  /** Handlers that run on a schedule rather than on a request. */
  schedules?: ScheduleDefinition[];
  /** Schema of the tenant-level settings of this extension (`ctx.config`). */
  config?: z.ZodType<Config>;
}

/**
 * Declares an extension. Returns the manifest unchanged; its value is the type checking.
 *
 * @example
 * export default defineExtension({
 *   name: 'avalara', version: '1.0.0', description: 'AvaTax REST v2',
 *   routes: [{ method: 'GET', path: '/ping', handler: 'ping' }],
 *   secrets: [{ key: 'license_key', description: 'AvaTax license key' }],
 * });
 */
export function defineExtension<Config = Record<string, unknown>>(
  manifest: ExtensionManifest<Config>,
): ExtensionManifest<Config> {
  return manifest;
}

/** The request a route handler receives. */
export interface RouteRequest<Body = unknown, Query = Record<string, string | undefined>> {
  method: HttpMethod;
  /** The full request path, e.g. `/cetec/orders/42`. */
  path: string;
  /** Path parameters from the route's `{name}` segments. */
  params: Record<string, string>;
  /**
   * Query string values (parsed with the route's query schema when it has one). Read from the
   * event on first use, like `headers`: both are accessors, so copy them by name — an object
   * spread (`{ ...request }`) leaves them out; `JSON.stringify(request)` includes them.
   */
  query: Query;
  /** Header names in lower case (built on first use). */
  headers: Record<string, string>;
  /** The JSON body, parsed with the route's body schema when it has one. */
  body: Body;
}

/** What a handler returns: a body (sent as JSON with 200) or a full response. */
export type RouteResult<T = unknown> =
  | T
  | { status: number; headers?: Record<string, string>; body?: T | string };

/** A structured logger; every line carries tenant, stage, extension and requestId. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Tenant-scoped secret access; only keys the extension declared. */
export interface SecretAccessor {
  /** Resolves the value behind the tenant's reference for `key` (cached). */
  get(key: string): Promise<string>;
}

/** CloudWatch EMF metrics with Tenant / Extension / Route dimensions. */
export interface Metrics {
  count(name: string, value?: number): void;
  timing(name: string, milliseconds: number): void;
}

/** An item of the tenant's table as seen by one extension: keys are prefixed for it. */
export type Item = Record<string, unknown>;

/**
 * The tenant's DynamoDB table, bound to the extension: `pk` values are stored as
 * `<extension>#<pk>` so extensions never see each other's items.
 */
export interface ExtensionTable {
  get(pk: string, sk: string): Promise<Item | undefined>;
  put(item: Item & { pk: string; sk: string }): Promise<void>;
  delete(pk: string, sk: string): Promise<void>;
  /** Items of one partition, optionally with a sort-key prefix, in sort-key order. */
  query(pk: string, options?: { skPrefix?: string; limit?: number }): AsyncIterable<Item>;
  /** Writes many items (batched by 25, unprocessed items retried). */
  putMany(items: Array<Item & { pk: string; sk: string }>): Promise<void>;
}

/** Where to continue a paginated walk; store it to resume after a crash. */
export type PageCheckpoint =
  | { kind: 'cursor'; cursor: string | null }
  | { kind: 'offset'; offset: number }
  | { kind: 'link'; url: string | null };

/** How `ctx.paginate()` walks an HTTP API. */
export interface PaginateOptions<T> {
  /** First page URL. */
  url: string;
  /** Extra request headers (auth). */
  headers?: Record<string, string>;
  /** `cursor`: the response carries the next cursor; `offset`: `?offset=&limit=`; `link`: RFC 8288 Link rel="next". */
  style: 'cursor' | 'offset' | 'link';
  /** Extracts the records of one page from its JSON body. */
  items: (body: unknown) => T[];
  /** For `cursor`: the next cursor from a page body (null when done). */
  nextCursor?: (body: unknown) => string | null | undefined;
  /** Query parameter names; defaults `cursor`, `offset`, `limit`. */
  cursorParam?: string;
  offsetParam?: string;
  limitParam?: string;
  pageSize?: number;
  /** Resume from a checkpoint saved earlier. */
  from?: PageCheckpoint;
  /** Called after each page with the checkpoint that resumes after it. */
  onCheckpoint?: (checkpoint: PageCheckpoint) => void | Promise<void>;
  /** Retries on 429/5xx honouring Retry-After (default 8). */
  maxRetries?: number;
}

/** The context every route handler receives. */
export interface RouteContext<Config = Record<string, unknown>> {
  tenant: { id: string; stage: string; tier: string };
  extension: string;
  requestId: string;
  /** The tenant's settings for this extension, parsed with the manifest's config schema. */
  config: Config;
  log: Logger;
  secrets: SecretAccessor;
  db: ExtensionTable;
  metrics: Metrics;
  /** Walks a paginated HTTP API in constant memory. */
  paginate<T>(options: PaginateOptions<T>): AsyncIterable<T>;
  /** Who is calling: verified before the handler runs (`anonymous` only on a `public` route). */
  identity: CallerIdentity;
}

/** A route handler; default export name in a handler file is `handler`. */
export type RouteHandler<Body = unknown, Result = unknown, Config = Record<string, unknown>> = (
  request: RouteRequest<Body>,
  ctx: RouteContext<Config>,
) => RouteResult<Result> | Promise<RouteResult<Result>>;

/** Declares a route handler with typed body and result. */
export function defineHandler<Body = unknown, Result = unknown, Config = Record<string, unknown>>(
  handler: RouteHandler<Body, Result, Config>,
): RouteHandler<Body, Result, Config> {
  return handler;
}
