/**
 * The OpenAPI 3.1 document of a tenant's enabled extensions, generated from their routes' zod
 * schemas. Pure: the runtime serves it at `/_sovereign/openapi.json`, the CLI puts it in audit bundles.
 */
import { z } from 'zod';
import { ROTATION_WEBHOOK_PATH } from '../contract/rotation-webhook.js';
import type { ExtensionManifest, RouteDefinition } from './extension.js';

export interface OpenApiInfo {
  tenant: string;
  stage: string;
  /** Version of the document (artifact hash or runtime version). */
  version: string;
}

/** The runtime's own endpoints, on every tenant API. */
export const RUNTIME_PATHS = {
  health: '/_sovereign/health',
  openapi: '/_sovereign/openapi.json',
  rotation: ROTATION_WEBHOOK_PATH,
} as const;

/** The full path of an extension's route: the prefix `/<extension>`, then the route's path (`/` is the bare prefix). */
export function extensionRoutePath(extension: string, path: string): string {
  return `/${extension}${path === '/' ? '' : path}`;
}

type JsonSchema = Record<string, unknown>;

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  try {
    const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
    delete json.$schema;
    return json;
  } catch {
    return {};
  }
}

const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

function operation(extension: string, route: RouteDefinition) {
  const params = [...route.path.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const query: unknown[] = [];
  if (route.request?.query) {
    const schema = schemaOf(route.request.query, 'input');
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((schema.required as string[] | undefined) ?? []);
    for (const [name, property] of Object.entries(properties)) {
      query.push({ name, in: 'query', required: required.has(name), schema: property });
    }
  }
  const responses: Record<string, unknown> = {
    '200': {
      description: 'Success',
      ...(route.response ? { content: { 'application/json': { schema: schemaOf(route.response, 'output') } } } : {}),
    },
    '500': problemResponse('Handler failed'),
    '503': problemResponse('Extension or secret unavailable'),
  };
  if (route.request?.body || route.request?.query) responses['400'] = problemResponse('Request does not match the schema');
  return {
    operationId: `${extension}.${route.handler.replace(/[^A-Za-z0-9_]+/g, '_')}.${route.method.toLowerCase()}`,
    tags: [extension],
    ...(route.summary ? { summary: route.summary } : {}),
    ...(params.length + query.length > 0 ? { parameters: [...params, ...query] } : {}),
    ...(route.request?.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(route.request.body, 'input') } } } }
      : {}),
    responses,
  };
}

/** Builds the OpenAPI 3.1 document for the given manifests (paths prefixed `/<extension>`). */
export function buildOpenApiDocument(manifests: ExtensionManifest<unknown>[], info: OpenApiInfo): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const sorted = [...manifests].sort((a, b) => a.name.localeCompare(b.name));
  for (const manifest of sorted) {
    for (const route of manifest.routes) {
      const path = extensionRoutePath(manifest.name, route.path);
      (paths[path] ??= {})[route.method.toLowerCase()] = operation(manifest.name, route);
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: `sovereign tenant ${info.tenant} (${info.stage})`,
      version: info.version,
    },
    tags: sorted.map((m) => ({ name: m.name, description: `${m.description} (v${m.version})` })),
    paths,
    components: {
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'requestId'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            instance: { type: 'string' },
            requestId: { type: 'string' },
          },
        },
      },
    },
  };
}
