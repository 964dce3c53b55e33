/**
 * The OpenAPI 3.1 document of a tenant's enabled extensions, generated from their routes' zod
 * schemas. Pure: the runtime serves it at `/_sovereign/openapi.json`, the CLI puts it in audit bundles.
 *
 * It says who may call each operation (`security`: a JWT of the tenant's issuer or one of its API
 * keys, with the route's scopes; `[]` for public routes) and every answer a caller can get: the
 * route's own, the runtime's problems (400, 401, 403, 404, 405, 500, 503) and the gateway's (413,
 * 429; on aws API Gateway's own 401 and 403 are `{"message": …}`, not problems).
 */
import { extensionRoutePath, RUNTIME_PATHS } from '../contract/runtime-paths.js';
import { z } from 'zod';
import type { TenantAuth } from '../contract/auth.js';
import { ROTATION_WEBHOOK_PATH } from '../contract/rotation-webhook.js';
import { NO_JWT_AUTH } from '../contract/tenant-runtime-config.js';
import type { ExtensionManifest, RouteDefinition } from './extension.js';

export interface OpenApiInfo {
  tenant: string;
  stage: string;
  /** Version of the document (artifact hash or runtime version). */
  version: string;
  /** The tenant's caller rules; absent: no JWT issuer, API keys accepted (as the runtime reads it). */
  auth?: TenantAuth;
}

/** The names of the security schemes in `components.securitySchemes`. */
export const SECURITY_SCHEMES = { jwt: 'jwt', apiKey: 'apiKey' } as const;

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

const problemContent = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };
/** API Gateway's own refusals (authorizer, throttling, payload size) are `{"message": "…"}`. */
const gatewayContent = { 'application/json': { schema: { $ref: '#/components/schemas/GatewayMessage' } } };

const problemResponse = (description: string) => ({ description, content: problemContent });
/** An answer either the runtime (a problem) or API Gateway (a message) may give. */
const problemOrGatewayResponse = (description: string) => ({ description, content: { ...problemContent, ...gatewayContent } });

/**
 * The runtime's and the gateway's answers, defined once in `components.responses` and referred to
 * by every operation that can get them (only those some operation uses are emitted).
 */
const SHARED_RESPONSES = {
  BadRequest: problemResponse('Request does not match the schema'),
  Unauthorized: problemOrGatewayResponse(
    'No credential, or one that is not valid: a JWT that is expired, not yet valid, of another issuer or audience, or badly signed; an unknown, revoked or expired API key',
  ),
  Forbidden: problemOrGatewayResponse(
    'The caller is authenticated but refused: it lacks every scope the route accepts (`insufficient-scope`), it is a caller of another tenant (`wrong-tenant`), or the tenant is suspended (`tenant-suspended`)',
  ),
  // A public route still refuses every caller while the tenant is suspended.
  Suspended: problemResponse('The tenant is suspended (`tenant-suspended`)'),
  NotFound: problemResponse('No such resource (the handler\'s answer) or no such route'),
  MethodNotAllowed: problemResponse('The path exists with another method (see `Allow`)'),
  ContentTooLarge: problemOrGatewayResponse('The body is larger than the limit (the dev gateway\'s, or Lambda\'s 6 MB payload on aws)'),
  TooManyRequests: problemOrGatewayResponse('Over the tenant\'s request rate (its tier\'s throttling)'),
  HandlerFailed: problemResponse('Handler failed'),
  Unavailable: problemResponse('Extension or secret unavailable'),
};
type SharedResponse = keyof typeof SHARED_RESPONSES;
type ResponseEntry = Record<string, unknown>;

const RESPONSES_REF = '#/components/responses/';

/** A reference to a shared response. */
const sharedRef = (name: SharedResponse): ResponseEntry => ({ $ref: `${RESPONSES_REF}${name}` });

/** The answers any route of the tenant API can get from the gateway in front of the runtime. */
const gatewayResponses = (): Record<string, ResponseEntry> => ({ '413': sharedRef('ContentTooLarge'), '429': sharedRef('TooManyRequests') });

/**
 * `entry` with `more` added to its description. A shared response is copied in full rather than
 * referred to with an overriding description: OpenAPI 3.1 allows that, but dereferencing tools
 * (json-schema-ref-parser among them) drop the override.
 */
function describedAlso(entry: ResponseEntry, more: string): ResponseEntry {
  const name = typeof entry.$ref === 'string' ? (entry.$ref.slice(RESPONSES_REF.length) as SharedResponse) : undefined;
  const base: ResponseEntry = name === undefined ? entry : SHARED_RESPONSES[name];
  return { ...base, description: `${String(base.description)}; ${more}` };
}

/** The shared responses `paths` refers to, for `components.responses`. */
function usedResponses(paths: unknown): Record<string, unknown> {
  const text = JSON.stringify(paths);
  return Object.fromEntries((Object.keys(SHARED_RESPONSES) as SharedResponse[]).filter((name) => text.includes(`"${RESPONSES_REF}${name}"`)).map((name) => [name, SHARED_RESPONSES[name]]));
}

/** `security` of an operation that needs a caller of this tenant: a JWT or, where enabled, an API key, either with one of `scopes`. */
function requiredSecurity(auth: TenantAuth, scopes: string[]): Array<Record<string, string[]>> {
  return [{ [SECURITY_SCHEMES.jwt]: [...scopes] }, ...(auth.apiKeys ? [{ [SECURITY_SCHEMES.apiKey]: [...scopes] }] : [])];
}

function securitySchemes(auth: TenantAuth): Record<string, unknown> {
  const issuer = auth.issuers.find((i) => /^https:\/\//.test(i));
  const jwtAbout =
    auth.issuers.length === 0
      ? 'A JWT in `Authorization: Bearer`. This tenant trusts no issuer: no token is accepted.'
      : `A JWT in \`Authorization: Bearer\` of ${auth.issuers.map((i) => `\`${i}\``).join(' or ')}, for ${auth.audiences.map((a) => `\`${a}\``).join(' or ')}` +
        (auth.tenantClaim === null ? '.' : `, whose \`${auth.tenantClaim}\` claim is this tenant's id.`) +
        ' Scopes come from its `scope` or `scp` claim.';
  const jwt =
    issuer === undefined
      ? { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: jwtAbout }
      : { type: 'openIdConnect', openIdConnectUrl: `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, description: jwtAbout };
  return {
    [SECURITY_SCHEMES.jwt]: jwt,
    ...(auth.apiKeys
      ? {
          [SECURITY_SCHEMES.apiKey]: {
            type: 'apiKey',
            in: 'header',
            name: 'x-api-key',
            description:
              'One of the tenant\'s API keys (`sovereign tenant keys create`), `sov_<stage>_…`, in `x-api-key` or as `Authorization: Bearer sov_…`. On aws, send keys to the stack\'s `MachineApiUrl`: the main API\'s JWT authorizer lets only JWTs through.',
          },
        }
      : {}),
  };
}

function operation(extension: string, route: RouteDefinition, auth: TenantAuth, operationId: string) {
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
  const isPublic = route.auth === 'public';
  const success = route.response ? { content: { 'application/json': { schema: schemaOf(route.response, 'output') } } } : {};
  const responses: Record<string, ResponseEntry> = {
    '200': { description: 'Success', ...success },
    '403': sharedRef(isPublic ? 'Suspended' : 'Forbidden'),
    '404': sharedRef('NotFound'),
    '405': sharedRef('MethodNotAllowed'),
    ...gatewayResponses(),
    '500': sharedRef('HandlerFailed'),
    '503': sharedRef('Unavailable'),
  };
  if (route.request?.body || route.request?.query) responses['400'] = sharedRef('BadRequest');
  if (!isPublic) responses['401'] = sharedRef('Unauthorized');
  // The route's own answers: a success shaped like its response, anything else described only.
  for (const [status, description] of Object.entries(route.responses ?? {})) {
    const existing = responses[status];
    responses[status] = existing !== undefined ? describedAlso(existing, description) : { description, ...(status.startsWith('2') ? success : {}) };
  }
  return {
    operationId,
    tags: [extension],
    summary: route.summary ?? `${route.method} ${extensionRoutePath(extension, route.path)}`,
    ...(params.length + query.length > 0 ? { parameters: [...params, ...query] } : {}),
    ...(route.request?.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(route.request.body, 'input') } } } }
      : {}),
    security: isPublic ? [] : requiredSecurity(auth, route.scopes ?? []),
    responses: sortedByStatus(responses),
  };
}

function sortedByStatus<T>(responses: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
}

/** The tag of the runtime's own endpoints (an extension name cannot start with `_`). */
const RUNTIME_TAG = '_sovereign';

/** The runtime's own endpoints, documented like the extensions' routes. */
function runtimePaths(auth: TenantAuth): Record<string, Record<string, unknown>> {
  const webhookHeader = (name: string, description: string) => ({ name, in: 'header', required: true, schema: { type: 'string' }, description });
  return {
    [RUNTIME_PATHS.health]: {
      get: {
        operationId: 'sovereign.health.get',
        tags: [RUNTIME_TAG],
        summary: 'The runtime\'s health: tenant, stage, artifact, extensions, secret references (never values), uptime',
        security: [],
        responses: sortedByStatus({
          '200': { description: 'Health report', content: { 'application/json': { schema: { type: 'object', required: ['status', 'tenant', 'stage'], properties: { status: { enum: ['ok', 'degraded', 'suspended'] }, tenant: { type: 'string' }, stage: { type: 'string' } } } } } },
          ...gatewayResponses(),
          '500': problemResponse('Runtime failed'),
        }),
      },
    },
    [RUNTIME_PATHS.openapi]: {
      get: {
        operationId: 'sovereign.openapi.get',
        tags: [RUNTIME_TAG],
        summary: 'This document (for an authenticated caller of the tenant)',
        security: requiredSecurity(auth, []),
        responses: sortedByStatus({
          '200': { description: 'The OpenAPI document', content: { 'application/json': { schema: { type: 'object' } } } },
          '401': sharedRef('Unauthorized'),
          // The runtime's endpoints keep answering while the tenant is suspended, and have no scopes.
          '403': problemOrGatewayResponse('The caller is authenticated for another tenant (`wrong-tenant`)'),
          ...gatewayResponses(),
          '500': problemResponse('Runtime failed'),
        }),
      },
    },
    [RUNTIME_PATHS.rotation]: {
      post: {
        operationId: 'sovereign.rotationWebhook.post',
        tags: [RUNTIME_TAG],
        summary: 'A signed rotation notice: drops the cached values of the named secret references',
        description: 'No caller credential: the body is signed with the tenant\'s webhook secret (Standard Webhooks, HMAC-SHA256), within 5 minutes, each id once.',
        security: [],
        parameters: [
          webhookHeader('webhook-id', 'The notice\'s id; a replayed id is refused (409)'),
          webhookHeader('webhook-timestamp', 'Unix seconds; more than 5 minutes away from the runtime\'s clock is refused (400)'),
          webhookHeader('webhook-signature', '`v1,<base64 HMAC-SHA256 of id.timestamp.body>`, several separated by spaces'),
        ],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['tenant', 'references'],
                properties: { tenant: { type: 'string' }, references: { type: 'array', items: { type: 'string' } }, generation: { type: 'number' }, vaultGeneration: { type: 'integer' } },
              },
            },
          },
        },
        responses: sortedByStatus({
          '200': { description: 'References invalidated', content: { 'application/json': { schema: { type: 'object', properties: { invalidated: { type: 'integer' }, receivedAt: { type: 'string', format: 'date-time' } } } } } },
          '400': problemResponse('A webhook header is missing, the timestamp is out of range, or the body is not a notice'),
          '401': problemResponse('The signature does not verify'),
          '403': problemResponse('The notice is for another tenant (`wrong-tenant`)'),
          '409': problemResponse('The notice\'s id was seen before (replayed)'),
          ...gatewayResponses(),
          '500': problemResponse('Runtime failed'),
          '503': problemResponse('The webhook signing secret is unavailable'),
        }),
      },
    },
  };
}

/** Builds the OpenAPI 3.1 document for the given manifests (paths prefixed `/<extension>`) and the runtime's endpoints. */
export function buildOpenApiDocument(manifests: ExtensionManifest<unknown>[], info: OpenApiInfo): Record<string, unknown> {
  const auth = info.auth ?? NO_JWT_AUTH;
  const paths: Record<string, Record<string, unknown>> = {};
  const operationIds = new Set<string>();
  const sorted = [...manifests].sort((a, b) => a.name.localeCompare(b.name));
  for (const manifest of sorted) {
    for (const route of manifest.routes) {
      const path = extensionRoutePath(manifest.name, route.path);
      const base = `${manifest.name}.${route.handler.replace(/[^A-Za-z0-9_]+/g, '_')}.${route.method.toLowerCase()}`;
      // Two routes with one handler and method: the second gets a suffix, so ids stay unique.
      let operationId = base;
      for (let n = 2; operationIds.has(operationId); n += 1) operationId = `${base}_${n}`;
      operationIds.add(operationId);
      (paths[path] ??= {})[route.method.toLowerCase()] = operation(manifest.name, route, auth, operationId);
    }
  }
  Object.assign(paths, runtimePaths(auth));
  return {
    openapi: '3.1.0',
    info: {
      title: `sovereign tenant ${info.tenant} (${info.stage})`,
      version: info.version,
    },
    // Relative: the document is served by the tenant API it describes (on aws, the main or the machine API).
    servers: [{ url: '/', description: `The API of tenant ${info.tenant}` }],
    tags: [
      ...sorted.map((m) => ({ name: m.name, description: `${m.description} (v${m.version})` })),
      { name: RUNTIME_TAG, description: 'The sovereign runtime\'s own endpoints' },
    ],
    paths,
    components: {
      securitySchemes: securitySchemes(auth),
      responses: usedResponses(paths),
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
        GatewayMessage: {
          type: 'object',
          description: 'A refusal by API Gateway itself (aws): its JWT authorizer, throttling or payload limit',
          required: ['message'],
          properties: { message: { type: 'string' } },
        },
      },
    },
  };
}

export { extensionRoutePath, RUNTIME_PATHS };
