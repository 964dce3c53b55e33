/** Builds the `RouteContext` a handler receives: tenant, config, log, secrets, db, metrics, paginate. */
import { formatSecretMapping } from '../contract/secret-mapping.js';
import type { DocumentClientProvider } from './db.js';
import { createExtensionTable } from './db.js';
import { SecretNotConfiguredError, UndeclaredSecretError } from './errors.js';
import type { CallerIdentity, ExtensionTable, Logger, Metrics, PaginateOptions, RouteContext, SecretAccessor } from './extension.js';
import { createLogger, type LineWriter, type LogLevel } from './log.js';
import { createMetrics } from './metrics.js';
import { paginate, type PaginateDeps } from './paginate.js';
import type { Redactor } from './redact.js';
import type { SecretResolver } from './secrets/resolver.js';

export interface TenantIdentity {
  id: string;
  stage: string;
  tier: string;
}

/** What stays the same for every request of one extension in one environment. */
export interface ExtensionScope {
  tenant: TenantIdentity;
  extension: string;
  config: unknown;
  secrets: SecretAccessor;
  db: ExtensionTable;
  redactor: Redactor;
  write: LineWriter;
  logLevel: LogLevel;
  paginateDeps: PaginateDeps;
  metrics: Map<string, Metrics>;
}

export interface ExtensionScopeOptions {
  tenant: TenantIdentity;
  extension: string;
  config: unknown;
  declaredSecrets: Iterable<string>;
  /** `"<extension>.<key>"` → reference. */
  references: Record<string, string>;
  resolver: SecretResolver;
  table: string;
  documentClient: DocumentClientProvider;
  redactor: Redactor;
  write: LineWriter;
  logLevel?: LogLevel;
  paginateDeps?: PaginateDeps;
}

export function createSecretAccessor(
  extension: string,
  declared: Iterable<string>,
  references: Record<string, string>,
  resolver: SecretResolver,
): SecretAccessor {
  // Declared key → reference (undefined when the tenant has not set it), built once per extension.
  const configured = new Map<string, string | undefined>();
  for (const key of declared) configured.set(key, references[formatSecretMapping({ extension, key })]);
  return {
    get(key: string) {
      const reference = configured.get(key);
      if (reference !== undefined) return resolver.resolve(reference);
      return Promise.reject(configured.has(key) ? new SecretNotConfiguredError(extension, key) : new UndeclaredSecretError(extension, key));
    },
  };
}

export function createExtensionScope(options: ExtensionScopeOptions): ExtensionScope {
  return {
    tenant: options.tenant,
    extension: options.extension,
    config: options.config,
    secrets: createSecretAccessor(options.extension, options.declaredSecrets, options.references, options.resolver),
    db: createExtensionTable(options.table, options.extension, options.documentClient),
    redactor: options.redactor,
    write: options.write,
    logLevel: options.logLevel ?? 'info',
    paginateDeps: options.paginateDeps ?? {},
    metrics: new Map(),
  };
}

/**
 * The context of one request. The logger and the bound `paginate` are created on first use, so a
 * request that does not log pays nothing for them; both stay safe to destructure.
 */
class RequestContext implements RouteContext {
  private logger: Logger | undefined;
  private paginator: RouteContext['paginate'] | undefined;

  // A true private field: handlers must not reach the shared redactor (it holds every handed-out value).
  readonly #scope: ExtensionScope;

  constructor(scope: ExtensionScope, readonly requestId: string, readonly metrics: Metrics, readonly identity: CallerIdentity) {
    this.#scope = scope;
  }

  get tenant(): TenantIdentity {
    return this.#scope.tenant;
  }

  get extension(): string {
    return this.#scope.extension;
  }

  get config(): Record<string, unknown> {
    return this.#scope.config as Record<string, unknown>;
  }

  get secrets(): SecretAccessor {
    return this.#scope.secrets;
  }

  get db(): ExtensionTable {
    return this.#scope.db;
  }

  get log(): Logger {
    return (this.logger ??= createLogger({
      base: { tenant: this.#scope.tenant.id, stage: this.#scope.tenant.stage, extension: this.#scope.extension, requestId: this.requestId },
      redactor: this.#scope.redactor,
      write: this.#scope.write,
      level: this.#scope.logLevel,
    }));
  }

  get paginate(): RouteContext['paginate'] {
    const deps = this.#scope.paginateDeps;
    return (this.paginator ??= <T>(options: PaginateOptions<T>) => paginate(options, deps));
  }

  /** Plain-object view (console.log, JSON) without internals. */
  toJSON(): Record<string, unknown> {
    return { tenant: this.tenant, extension: this.extension, requestId: this.requestId, config: this.config, identity: this.identity };
  }
}

/** A `public` route's caller: nobody checked. */
export const ANONYMOUS: CallerIdentity = Object.freeze({ kind: 'anonymous', subject: null, scopes: Object.freeze([]) as unknown as string[], claims: Object.freeze({}) as Record<string, string> });

/** The context for one request to `route` (e.g. `GET /orders/{id}`) of the scope's extension. */
export function createRouteContext(scope: ExtensionScope, route: string, requestId: string, identity: CallerIdentity = ANONYMOUS): RouteContext {
  let metrics = scope.metrics.get(route);
  if (metrics === undefined) {
    metrics = createMetrics({ tenant: scope.tenant.id, extension: scope.extension, route }, scope.write);
    scope.metrics.set(route, metrics);
  }
  return new RequestContext(scope, requestId, metrics, identity);
}
