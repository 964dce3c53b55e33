/** Builds the `RouteContext` a handler receives: tenant, config, log, secrets, db, metrics, paginate. */
import type { DocumentClientProvider } from './db.js';
import { createExtensionTable } from './db.js';
import { SecretNotConfiguredError, UndeclaredSecretError } from './errors.js';
import type { ExtensionTable, Metrics, PaginateOptions, RouteContext, SecretAccessor } from './extension.js';
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
  const keys = new Set(declared);
  return {
    get(key: string) {
      if (!keys.has(key)) return Promise.reject(new UndeclaredSecretError(extension, key));
      const reference = references[`${extension}.${key}`];
      if (reference === undefined) return Promise.reject(new SecretNotConfiguredError(extension, key));
      return resolver.resolve(reference);
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

/** The context for one request to `route` (e.g. `GET /orders/{id}`) of the scope's extension. */
export function createRouteContext(scope: ExtensionScope, route: string, requestId: string): RouteContext {
  let metrics = scope.metrics.get(route);
  if (metrics === undefined) {
    metrics = createMetrics({ tenant: scope.tenant.id, extension: scope.extension, route }, scope.write);
    scope.metrics.set(route, metrics);
  }
  const deps = scope.paginateDeps;
  return {
    tenant: scope.tenant,
    extension: scope.extension,
    requestId,
    config: scope.config as Record<string, unknown>,
    log: createLogger({
      base: { tenant: scope.tenant.id, stage: scope.tenant.stage, extension: scope.extension, requestId },
      redactor: scope.redactor,
      write: scope.write,
      level: scope.logLevel,
    }),
    secrets: scope.secrets,
    db: scope.db,
    metrics,
    paginate<T>(options: PaginateOptions<T>) {
      return paginate(options, deps);
    },
  };
}
