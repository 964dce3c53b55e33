/**
 * `sovereign/runtime`: the extension API (`defineExtension`, `defineHandler`, the route context
 * types) plus what a tenant artifact's entry uses (`createLambdaHandler`) and what the CLI shares
 * with the runtime (OpenAPI generation, webhook signing, the generation marker, the table schema).
 */
export * from './extension.js';
export { createLambdaHandler, TenantRuntime } from './handler.js';
export type { BundledExtension, LambdaHandler, LambdaHandlerOptions, RuntimeHandler } from './handler.js';
export type { HttpEventV2, HttpResultV2, LambdaContextLike, Problem } from './http.js';
export { loadRuntimeConfig, RUNTIME_ENV_VARS } from './config.js';
export type { RuntimeConfig, TenantRuntimeConfig, GenerationSource } from './config.js';
export { buildOpenApiDocument } from './openapi.js';
export type { OpenApiInfo } from './openapi.js';
export { signWebhook, verifyWebhook, webhookHeaders, ReplayGuard, WebhookVerificationError, MAX_WEBHOOK_BODY_BYTES, WEBHOOK_TOLERANCE_SECONDS } from './webhook.js';
export * from './generation.js';
export { TENANT_TABLE_KEY_SCHEMA, extensionKeyPrefix } from './table.js';
export { TtlCache } from './cache.js';
export type { CacheOptions, CacheStats } from './cache.js';
export {
  RuntimeError, RuntimeConfigError, UndeclaredSecretError, SecretNotConfiguredError, SecretNotFoundError,
  SecretAccessDeniedError, SecretUnavailableError, PaginationError,
} from './errors.js';
export type { SecretBackend } from './secrets/backend.js';
