/**
 * What a cold start does before the runtime serves: read the environment contract
 * (`config.ts`), select the secret backend, and load the extensions the tenant enabled (one
 * failing never takes the others down; its routes then answer 503).
 */
import { extensionRoutePath } from '../contract/runtime-paths.js';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadRuntimeConfig, type RuntimeConfig } from './config.js';
import { createExtensionScope, type ExtensionScope, type ExtensionScopeOptions } from './context.js';
import { describeError, RuntimeConfigError } from './errors.js';
import type { ExtensionManifest, RouteDefinition, RouteHandler, ScheduleHandler } from './extension.js';
import { scheduleEnabledFor, withoutScheduleSettings } from '../contract/schedules.js';
import type { ScheduleEntry } from './schedule.js';
import type { GenerationReader } from './generation-reader.js';
import type { LineWriter } from './log.js';
import type { PaginateDeps } from './paginate.js';
import type { Redactor } from './redact.js';
// Static: every aws cold start needs it (a chunk of its own would cost a module load), and it loads the SDK lazily.
import { createAwsSecretFetcher } from './secrets/aws.js';
import type { SecretFetcher } from './secrets/fetcher.js';

/** What the artifact builder hands the runtime for each extension bundled into the artifact. */
export interface BundledExtension {
  name: string;
  /** Imports the manifest and the handler modules; may throw (the extension is then reported failed). */
  load(): Promise<{
    manifest: ExtensionManifest<any>;
    /** Handler file name (without extension) → module namespace. */
    handlers: Record<string, Record<string, unknown>>;
  }>;
}

/** What `createLambdaHandler` uses instead of the environment's defaults (tests, the test kit, benchmarks). */
export interface LambdaHandlerOptions {
  /** Environment to read instead of `process.env`. */
  env?: Record<string, string | undefined>;
  /** Secret store instead of the one `SOVEREIGN_SECRETS_BACKEND` selects. */
  secretBackend?: SecretFetcher;
  /** AWS SDK clients to use instead of lazily created ones. */
  aws?: { ssm?: SSMClient; secretsManager?: SecretsManagerClient; documentClient?: DynamoDBDocumentClient };
  /** Generation marker reader instead of the one `SOVEREIGN_GENERATION_SOURCE` selects. */
  generationReader?: GenerationReader;
  /** Where log and EMF lines go (default stdout). */
  write?: LineWriter;
  /** Clock for caches and webhooks (default `Date.now`). */
  now?: () => number;
  /** `fetch` and sleep used by `ctx.paginate()`. */
  paginate?: PaginateDeps;
}

/** One enabled extension as the cold start left it. */
export interface ExtensionState {
  name: string;
  status: 'ok' | 'failed';
  error?: string;
  manifest?: ExtensionManifest<any>;
  scope?: ExtensionScope;
  /** Declared schedules by name, each with its handler and whether it is on for the tenant. */
  schedules?: Map<string, ScheduleEntry>;
}

/** What the router holds for one extension route. */
export interface RouteEntry {
  extension: ExtensionState;
  route: RouteDefinition;
  handler: RouteHandler<any, any, any>;
  key: string;
}

/**
 * The environment contract, or the problems that make it unusable. A bad configuration is logged
 * once here; the handler then answers every request 500 `runtime-misconfigured`.
 */
export function readRuntimeConfig(env: Record<string, string | undefined>, write: LineWriter): { config: RuntimeConfig; failure?: undefined } | { config?: undefined; failure: RuntimeConfigError } {
  try {
    return { config: loadRuntimeConfig(env) };
  } catch (error) {
    const failure = error instanceof RuntimeConfigError ? error : new RuntimeConfigError([describeError(error)], { cause: error });
    write(JSON.stringify({
      time: new Date().toISOString(),
      level: 'error',
      tenant: env.SOVEREIGN_TENANT ?? null,
      stage: env.SOVEREIGN_STAGE ?? null,
      extension: null,
      requestId: null,
      message: 'runtime misconfigured: every request will answer 500',
      fields: { problems: failure.problems },
    }));
    return { failure };
  }
}

/** The secret backend `SOVEREIGN_SECRETS_BACKEND` selects; vault's module (node:crypto) loads only when chosen. */
export async function selectFetcher(config: RuntimeConfig, options: LambdaHandlerOptions): Promise<SecretFetcher> {
  if (config.secretsBackend.kind === 'vault') {
    const { createVaultSecretFetcher } = await import('./secrets/vault-backend.js');
    const { path, keyFile, minGeneration } = config.secretsBackend;
    return createVaultSecretFetcher({ path, keyFile, tenant: config.tenant, ...(minGeneration === undefined ? {} : { minGeneration }) });
  }
  return createAwsSecretFetcher({ ssm: options.aws?.ssm, secretsManager: options.aws?.secretsManager });
}

/** A backend that forwards to `ready` once it settles (nothing is fetched before the runtime serves). */
export function deferredFetcher(ready: Promise<SecretFetcher>): SecretFetcher {
  let backend: SecretFetcher | undefined;
  ready.then((selected) => (backend = selected), () => undefined);
  return {
    get name() {
      return backend?.name ?? 'pending';
    },
    fetch: (reference) => (backend === undefined ? ready.then((selected) => selected.fetch(reference)) : backend.fetch(reference)),
    raiseVaultFloor: (generation) => {
      void ready.then((selected) => selected.raiseVaultFloor?.(generation), () => undefined);
    },
  };
}

/** What loading the extensions needs from the runtime that will serve them. */
export interface ExtensionHost {
  config: RuntimeConfig;
  redactor: Redactor;
  /** What every extension's scope shares (the tenant, its table, the resolver, the log writer). */
  scope: Omit<ExtensionScopeOptions, 'extension' | 'config' | 'declaredSecrets'>;
  /** Filled in the order the tenant enabled the extensions. */
  states: Map<string, ExtensionState>;
  /** Adds one route of a loaded extension to the runtime's router. */
  mount(method: string, path: string, entry: RouteEntry): void;
  /** Called once for each extension that failed to load. */
  failed(state: ExtensionState): void;
}

/** Loads the bundled extensions the tenant enabled, each on its own (a failure is recorded, not thrown). */
export function loadExtensions(bundled: BundledExtension[], host: ExtensionHost): Promise<void>[] {
  const byName = new Map(bundled.map((b) => [b.name, b]));
  return host.config.tenantConfig.extensions.map(async (name) => {
    const state: ExtensionState = { name, status: 'failed' };
    host.states.set(name, state);
    const entry = byName.get(name);
    if (entry === undefined) {
      state.error = 'not in the deployed artifact';
    } else {
      try {
        await register(state, entry, host);
        state.status = 'ok';
      } catch (error) {
        state.error = host.redactor.redactString(describeError(error));
      }
    }
    if (state.status === 'failed') host.failed(state);
  });
}

async function register(state: ExtensionState, entry: BundledExtension, host: ExtensionHost): Promise<void> {
  const { manifest, handlers } = await entry.load();
  if (!manifest || typeof manifest !== 'object' || !Array.isArray(manifest.routes)) throw new Error('the module has no extension manifest');
  if (manifest.name !== state.name) throw new Error(`the manifest is named "${manifest.name}", expected "${state.name}"`);
  const settings: unknown = host.config.tenantConfig.config[state.name] ?? {};
  // `_schedules` belongs to the platform (contract/schedules.ts), not to the extension's schema.
  let config: unknown = withoutScheduleSettings(settings);
  if (manifest.config) {
    // Parsed once per cold start: zod's compiled fast path would cost more to generate than it saves.
    const parsed = manifest.config.safeParse(config, { jitless: true });
    if (!parsed.success) {
      throw new Error(`tenant config does not match the extension's schema: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    }
    config = parsed.data;
  }
  const handlerOf = (ref: string, what: string): unknown => {
    const [file, exportName = 'handler'] = ref.split('#') as [string, string?];
    const module = handlers[file];
    if (!module) throw new Error(`handler file handlers/${file} of ${what} is not in the artifact`);
    const fn = module[exportName] ?? (exportName === 'handler' ? module.default : undefined);
    if (typeof fn !== 'function') throw new Error(`handlers/${file} has no function export "${exportName}"`);
    return fn;
  };
  const entries: Array<[RouteDefinition, RouteEntry]> = manifest.routes.map((route) => {
    const fn = handlerOf(route.handler, `${route.method} ${route.path}`);
    return [route, { extension: state, route, handler: fn as RouteHandler, key: `${route.method} ${route.path}` }];
  });
  const schedules = new Map<string, ScheduleEntry>();
  for (const definition of manifest.schedules ?? []) {
    const handler = handlerOf(definition.handler, `schedule ${definition.name}`) as ScheduleHandler;
    schedules.set(definition.name, { definition, handler, enabled: scheduleEnabledFor(definition, settings) });
  }
  state.manifest = manifest;
  state.schedules = schedules;
  state.scope = createExtensionScope({
    ...host.scope,
    extension: state.name,
    config,
    declaredSecrets: (manifest.secrets ?? []).map((s) => s.key),
  });
  for (const [route, value] of entries) {
    host.mount(route.method, extensionRoutePath(state.name, route.path), value);
  }
}
