/**
 * The OpenAPI contract of a tenant API, built from the repository's real extensions (and one with
 * a public and a scoped route), validated by two independent tools: `@apidevtools/swagger-parser`
 * (the OpenAPI 3.1 schema) and Redocly's recommended lint rules, with zero errors. Each operation's
 * `security` must match its route (public or required, with its scopes, API keys only where the
 * tenant accepts them) and list every answer the runtime and the gateway can give.
 */
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { TenantAuth } from '../src/contract/auth.js';
import { devIssuer, resolveTenantAuth } from '../src/contract/auth.js';
import { discoverExtensions } from '../src/extensions/discover.js';
import type { ExtensionManifest, RouteDefinition } from '../src/runtime/extension.js';
import { buildOpenApiDocument, extensionRoutePath, RUNTIME_PATHS } from '../src/runtime/openapi.js';
import { startLocalTable } from '../src/testing/dynalite.js';
import { apiGatewayEvent } from '../src/testing/events.js';
import { repoRoot } from './helpers/cli.js';
import { makeRuntime, tenantConfig } from './runtime-fixtures.js';

type Json = Record<string, any>;
type Manifest = ExtensionManifest<unknown>;

/** Routes the repository's extensions do not have: public, scoped, the bare prefix. */
const catalog: Manifest = {
  name: 'catalog',
  version: '0.1.0',
  description: 'Public and scoped routes',
  routes: [
    { method: 'GET', path: '/', handler: 'index', auth: 'public', response: z.object({ name: z.string() }) },
    { method: 'GET', path: '/items/{id}', handler: 'get-item', auth: 'public' },
    { method: 'PUT', path: '/items/{id}', handler: 'put-item', scopes: ['items:write', 'items:admin'], request: { body: z.object({ name: z.string() }) }, responses: { 201: 'Created' } },
    { method: 'DELETE', path: '/items/{id}', handler: 'put-item', auth: 'required', scopes: ['items:admin'] },
  ],
};

const AUTHS: Record<string, TenantAuth | undefined> = {
  'a Cognito issuer and API keys': resolveTenantAuth({ jwt: { issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_{tenant}', audience: 'app' } }, 'acme'),
  'the dev issuer': resolveTenantAuth(undefined, 'acme', devIssuer('shop', 'dev')),
  'no API keys': resolveTenantAuth({ jwt: { issuer: 'https://login.example.com/', audience: ['a', 'b'], tenantClaim: 'org' }, apiKeys: false }, 'acme'),
  'no auth configuration': undefined,
};

let manifests: Manifest[];
beforeAll(async () => {
  const found = await discoverExtensions(join(repoRoot, 'extensions'));
  expect(found.map((e) => [e.name, e.status])).toEqual([['avalara', 'ok'], ['avalara-cetec-sync', 'ok'], ['cetec', 'ok']]);
  manifests = [...found.map((e) => e.manifest as Manifest), catalog];
}, 60_000);

const documentFor = (auth: TenantAuth | undefined) => buildOpenApiDocument(manifests, { tenant: 'acme', stage: 'dev', version: 'a'.repeat(64), ...(auth ? { auth } : {}) }) as Json;
/** The document with its references (the shared responses) resolved, as a client generator reads it. */
const resolved = async (document: Json) => (await SwaggerParser.dereference(structuredClone(document) as never)) as Json;

/** Every operation of the extensions with the route it documents. */
function operations(document: Json): Array<{ route: RouteDefinition; extension: string; operation: Json; key: string }> {
  return manifests.flatMap((manifest) =>
    manifest.routes.map((route) => {
      const key = `${route.method} ${extensionRoutePath(manifest.name, route.path)}`;
      const operation = document.paths[extensionRoutePath(manifest.name, route.path)]?.[route.method.toLowerCase()];
      expect(operation, key).toBeDefined();
      return { route, extension: manifest.name, operation, key };
    }),
  );
}

const redoclyConfig = createConfig({ extends: ['recommended'] });

describe.each(Object.entries(AUTHS))('the OpenAPI document with %s', (_name, auth) => {
  it('is valid OpenAPI 3.1 for swagger-parser', async () => {
    // validate() dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(documentFor(auth)) as never)).resolves.toBeDefined();
  });

  it('has no error under Redocly\'s recommended rules', async () => {
    const problems = await lintFromString({ source: JSON.stringify(documentFor(auth)), absoluteRef: '/openapi.json', config: await redoclyConfig });
    const errors = problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? ''}`);
    expect(errors).toEqual([]);
  });

  it('gives each operation the security of its route: a JWT or (where accepted) an API key with the route\'s scopes, none for public routes', () => {
    const document = documentFor(auth);
    const apiKeys = (auth ?? { apiKeys: true }).apiKeys;
    const ops = operations(document);
    expect(ops.length).toBeGreaterThanOrEqual(12);
    for (const { route, operation, key } of ops) {
      const scopes = route.scopes ?? [];
      const expected = route.auth === 'public' ? [] : apiKeys ? [{ jwt: scopes }, { apiKey: scopes }] : [{ jwt: scopes }];
      expect(operation.security, key).toEqual(expected);
    }
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(apiKeys ? ['apiKey', 'jwt'] : ['jwt']);
  });

  it('lists every answer the runtime and the gateway can give, and the route\'s own', async () => {
    for (const { route, operation, key } of operations(await resolved(documentFor(auth)))) {
      const statuses = Object.keys(operation.responses);
      const expected = ['200', '403', '404', '405', '413', '429', '500', '503'];
      if (route.auth !== 'public') expected.push('401');
      if (route.request?.body || route.request?.query) expected.push('400');
      expected.push(...Object.keys(route.responses ?? {}));
      expect(statuses.sort(), key).toEqual([...new Set(expected)].sort());
      for (const status of statuses) {
        const response = operation.responses[status];
        expect(response.description, `${key} ${status}`).toMatch(/\S/);
        if (['401', '403', '413', '429'].includes(status) && !(route.auth === 'public' && status === '403')) {
          // The runtime answers with a problem, API Gateway with its own message.
          expect(Object.keys(response.content).sort(), `${key} ${status}`).toEqual(['application/json', 'application/problem+json']);
        }
      }
      if (route.auth !== 'public') expect(operation.responses['403'].description, key).toMatch(/insufficient-scope.*wrong-tenant.*tenant-suspended/);
    }
  });
});

describe('the OpenAPI document', () => {
  it('declares the JWT scheme as OpenID Connect of an https issuer, as a bearer JWT otherwise, and API keys in x-api-key', () => {
    const cognito = documentFor(AUTHS['a Cognito issuer and API keys']).components.securitySchemes;
    expect(cognito.jwt).toMatchObject({ type: 'openIdConnect', openIdConnectUrl: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_acme/.well-known/openid-configuration' });
    expect(cognito.jwt.description).toContain('`tenant_id` claim');
    expect(cognito.apiKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'x-api-key' });
    expect(documentFor(AUTHS['no API keys']).components.securitySchemes.jwt.openIdConnectUrl).toBe('https://login.example.com/.well-known/openid-configuration');
    expect(documentFor(AUTHS['the dev issuer']).components.securitySchemes.jwt).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(documentFor(undefined).components.securitySchemes.jwt.description).toMatch(/trusts no issuer/);
  });

  it('documents the sync\'s 202 with the sync\'s response schema, and extensions\' upstream failures', async () => {
    const document = await resolved(documentFor(undefined));
    const sync = document.paths['/avalara-cetec-sync/sync/invoices'].post;
    expect(sync.responses['202'].description).toMatch(/call again/);
    expect(sync.responses['202'].content).toEqual(sync.responses['200'].content);
    expect(sync.responses['409'].description).toMatch(/Another call/);
    expect(document.paths['/avalara/quotes'].post.responses['422'].description).toMatch(/AvaTax rejected/);
    expect(document.paths['/cetec/invoices/{id}'].get.responses['404'].description).toMatch(/No such invoice/);
    expect(document.paths['/catalog/items/{id}'].put.responses['201']).toEqual({ description: 'Created' });
  });

  it('documents the runtime\'s endpoints: health public, the document itself for a caller of the tenant, the rotation webhook signed', async () => {
    const document = await resolved(documentFor(AUTHS['a Cognito issuer and API keys']));
    const health = document.paths[RUNTIME_PATHS.health].get;
    expect(health.security).toEqual([]);
    expect(health.responses['401']).toBeUndefined();
    const openapi = document.paths[RUNTIME_PATHS.openapi].get;
    expect(openapi.security).toEqual([{ jwt: [] }, { apiKey: [] }]);
    expect(Object.keys(openapi.responses)).toEqual(expect.arrayContaining(['200', '401', '403']));
    const rotation = document.paths[RUNTIME_PATHS.rotation].post;
    expect(rotation.security).toEqual([]);
    expect(rotation.parameters.map((p: Json) => [p.name, p.in, p.required])).toEqual([
      ['webhook-id', 'header', true],
      ['webhook-timestamp', 'header', true],
      ['webhook-signature', 'header', true],
    ]);
    expect(Object.keys(rotation.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '409', '413', '503']));
    // Nothing else outside the extensions' prefixes.
    expect(Object.keys(document.paths).filter((p) => p.startsWith('/_sovereign/')).sort()).toEqual(Object.values(RUNTIME_PATHS).sort());
  });

  it('adds a route\'s own description to a runtime answer of that status for that operation only', async () => {
    const limited: Manifest = { ...catalog, name: 'limited', routes: [{ method: 'GET', path: '/a', handler: 'a', responses: { 429: 'The upstream quota is spent' } }, { method: 'GET', path: '/b', handler: 'b' }] };
    const document = await resolved(buildOpenApiDocument([limited], { tenant: 'acme', stage: 'dev', version: '1' }) as Json);
    expect(document.paths['/limited/a'].get.responses['429'].description).toMatch(/throttling.*; The upstream quota is spent$/);
    expect(document.paths['/limited/a'].get.responses['429'].content['application/json']).toBeDefined();
    expect(document.paths['/limited/b'].get.responses['429'].description).not.toContain('upstream');
  });

  it('keeps operation ids unique when two routes share a handler and a method', () => {
    const twice: Manifest = { ...catalog, name: 'twice', routes: [{ method: 'GET', path: '/a', handler: 'list' }, { method: 'GET', path: '/b', handler: 'list' }] };
    const document = buildOpenApiDocument([twice], { tenant: 'acme', stage: 'dev', version: '1' }) as Json;
    expect([document.paths['/twice/a'].get.operationId, document.paths['/twice/b'].get.operationId]).toEqual(['twice.list.get', 'twice.list.get_2']);
  });
});

describe('the OpenAPI document the runtime serves', () => {
  it('carries the tenant\'s caller rules from its configuration, and validates', async () => {
    const table = await startLocalTable('sovereign-dev-acme');
    try {
      const issuer = 'https://issuer.example.com/acme';
      const auth: TenantAuth = { issuers: [issuer], audiences: ['app'], tenantClaim: 'tenant_id', apiKeys: false };
      const { handler } = makeRuntime({ table, tenantConfig: tenantConfig({ auth }) });
      // As API Gateway's JWT authorizer hands a verified caller of this tenant to the function.
      const event = apiGatewayEvent('GET', RUNTIME_PATHS.openapi, { headers: { authorization: 'Bearer x.y.z' } }) as Json;
      const exp = String(Math.floor(Date.now() / 1000) + 300);
      event.requestContext.authorizer = { jwt: { claims: { iss: issuer, aud: 'app', sub: 'user-1', tenant_id: 'acme', exp, iat: String(Number(exp) - 600) }, scopes: null } };
      const result = await handler(event as never, {});
      expect(result.statusCode).toBe(200);
      const document = JSON.parse(result.body as string) as Json;
      expect(document.components.securitySchemes).toEqual({ jwt: expect.objectContaining({ type: 'openIdConnect', openIdConnectUrl: `${issuer}/.well-known/openid-configuration` }) });
      expect(document.paths['/orders/orders'].post.security).toEqual([{ jwt: [] }]);
      await expect(SwaggerParser.validate(document as never)).resolves.toBeDefined();
    } finally {
      await table.close();
    }
  }, 60_000);
});
