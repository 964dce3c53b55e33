/**
 * Where things are on every tenant API: the runtime's own endpoints and the path of an
 * extension's route. The runtime serves them, the OpenAPI document and the aws template's routes
 * name them, the `dev` gateway's authorizer matches them. Pure: bundled into every tenant runtime.
 */
import { ROTATION_WEBHOOK_PATH } from './rotation-webhook.js';

/** The runtime's own endpoints, on every tenant API (who may call each: docs/auth.md). */
export const RUNTIME_PATHS = {
  health: '/_sovereign/health',
  /** Only an authenticated caller of the tenant reads it. */
  openapi: '/_sovereign/openapi.json',
  rotation: ROTATION_WEBHOOK_PATH,
} as const;

/** The full path of an extension's route: the prefix `/<extension>`, then the route's path (`/` is the bare prefix). */
export function extensionRoutePath(extension: string, path: string): string {
  return `/${extension}${path === '/' ? '' : path}`;
}
