/**
 * `sovereign-cli/runtime`: the extension API (`defineExtension`, `defineHandler`, the route context
 * types) plus what a tenant artifact's entry uses (`createLambdaHandler`) and what the CLI shares
 * with the runtime (the generation marker, the table schema).
 *
 * Two parts live under their own paths, because a tenant artifact imports this module at cold
 * start and should not pay for them there: OpenAPI generation is `sovereign-cli/openapi` (it loads
 * zod, which an artifact whose extensions use none would otherwise parse) and rotation-webhook
 * signing and verification is `sovereign-cli/webhook` (it loads node:crypto, a few milliseconds).
 */
export * from './extension.js';
export { createLambdaHandler } from './handler.js';
export type { LambdaHandler, RuntimeHandler } from './handler.js';
export type { BundledExtension, LambdaHandlerOptions } from './cold-start.js';
export { TenantRuntime } from './request.js';
export type { HttpEventV2, HttpResultV2, LambdaContextLike, Problem } from './http.js';
export { loadRuntimeConfig, RUNTIME_ENV_VARS } from './config.js';
export type { RuntimeConfig, TenantRuntimeConfig, GenerationSource } from './config.js';
export * from '../contract/generation.js';
export { TENANT_TABLE_KEY_SCHEMA, extensionKeyPrefix } from './table.js';
export { TtlCache } from './cache.js';
export type { CacheOptions, CacheStats } from './cache.js';
export {
  RuntimeError, RuntimeConfigError, UndeclaredSecretError, SecretNotConfiguredError, SecretNotFoundError,
  SecretAccessDeniedError, SecretUnavailableError, PaginationError,
} from './errors.js';
export type { SecretFetcher } from './secrets/fetcher.js';
