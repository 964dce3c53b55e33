/**
 * The tenant's HTTP APIs as the rendered template has them: the JWT authorizer pinned, every
 * non-public route behind it with its scopes, public routes explicit and without it, the machine
 * API only with API keys, and the routes of the repository's real extensions wired through the
 * tenant build.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TenantAuth } from '../contract/auth.js';
import { configSchema } from '../config.js';
import { UserError } from '../errors.js';
import { loadExtensionSources, type ExtensionSource } from '../artifact/manifests.js';
import { tenantStackInputs } from '../fleet/tenant-build.js';
import { projectPaths, type Project } from '../project.js';
import type { TenantRecord } from '../state/registry.js';
import { apiRoutes, routeLogicalId, type StackExtension } from './tenant-api.js';
import { renderTenantStack, retierTenantTemplate, type TenantStackInputs } from './tenant-stack.js';
import { TIER_NAMES } from './tiers.js';

type Json = Record<string, any>;

const ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Acme123';
const JWT: TenantAuth = { issuers: [ISSUER], audiences: ['client-a', 'client-b'], tenantClaim: 'custom:tenant_id', apiKeys: true };

const EXTENSIONS: StackExtension[] = [
  {
    name: 'avalara',
    permissions: [],
    routes: [
      { method: 'GET', path: '/quotes/{id}', auth: 'required', scopes: ['quotes:read', 'quotes:admin'] },
      { method: 'POST', path: '/quotes', scopes: ['quotes:write'] },
      { method: 'GET', path: '/', auth: 'required' },
      { method: 'GET', path: '/status', auth: 'public' },
    ],
  },
  { name: 'cetec', permissions: [], routes: [{ method: 'GET', path: '/invoices/{id}' }, { method: 'GET', path: '/invoices/mine', auth: 'public' }] },
];

/** `auth` null: a runtime configuration without `auth`. */
function inputs(auth: TenantAuth | null = JWT, extensions: StackExtension[] = EXTENSIONS, overrides: Partial<TenantStackInputs> = {}): TenantStackInputs {
  return {
    project: 'shop',
    tenant: 'acme',
    stage: 'prod',
    tier: 'standard',
    artifactSha256: 'a'.repeat(64),
    extensions,
    runtimeConfig: {
      extensions: extensions.map((e) => e.name),
      secrets: {},
      config: {},
      webhookSecret: 'ssm:/prod/tenants/acme/_sovereign/webhook_secret',
      ...(auth === null ? {} : { auth }),
    },
    ...overrides,
  };
}

const render = (...args: Parameters<typeof inputs>) => renderTenantStack(inputs(...args)) as Json;

/** The explicit routes of an API, by route key. */
function routesOf(template: Json, api = 'HttpApi'): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [id, resource] of Object.entries(template.Resources as Record<string, Json>)) {
    if (resource.Type === 'AWS::ApiGatewayV2::Route' && resource.Properties.ApiId.Ref === api) out[resource.Properties.RouteKey] = { id, ...resource.Properties };
  }
  return out;
}

const refused = (fn: () => unknown): UserError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }
  throw new Error('not refused');
};

describe('the JWT authorizer', () => {
  it('is the HTTP API\'s native JWT authorizer of the tenant\'s one issuer and its audiences', () => {
    const template = render();
    const authorizers = Object.entries(template.Resources as Record<string, Json>).filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Authorizer');
    expect(authorizers).toHaveLength(1);
    expect(template.Resources.HttpApiAuthorizer).toEqual({
      Type: 'AWS::ApiGatewayV2::Authorizer',
      Properties: {
        ApiId: { Ref: 'HttpApi' },
        Name: 'sovereign-prod-acme-jwt',
        AuthorizerType: 'JWT',
        IdentitySource: ['$request.header.Authorization'],
        JwtConfiguration: { Issuer: ISSUER, Audience: ['client-a', 'client-b'] },
      },
    });
  });

  it('guards every non-public route with its scopes, and the OpenAPI document', () => {
    const routes = routesOf(render());
    const jwt = (scopes?: string[]) => ({ AuthorizationType: 'JWT', AuthorizerId: { Ref: 'HttpApiAuthorizer' }, ...(scopes ? { AuthorizationScopes: scopes } : {}) });
    const expected: Record<string, Json> = {
      'GET /avalara/quotes/{id}': jwt(['quotes:read', 'quotes:admin']),
      'POST /avalara/quotes': jwt(['quotes:write']),
      'GET /avalara': jwt(),
      'GET /cetec/invoices/{id}': jwt(),
      'GET /_sovereign/openapi.json': jwt(),
    };
    for (const [key, authorization] of Object.entries(expected)) {
      const route = routes[key];
      expect(route, key).toBeDefined();
      const { AuthorizationType, AuthorizerId, AuthorizationScopes } = route!;
      expect({ AuthorizationType, AuthorizerId, ...(AuthorizationScopes ? { AuthorizationScopes } : {}) }, key).toEqual(authorization);
      expect(route!.Target).toEqual({ 'Fn::Sub': 'integrations/${HttpApiIntegration}' });
    }
    expect(Object.keys(routes).sort()).toEqual([...Object.keys(expected), 'GET /avalara/status', 'GET /cetec/invoices/mine', '$default'].sort());
  });

  it('is on no public route: each has an explicit route without it, so a broader required route cannot catch it', () => {
    const routes = routesOf(render());
    for (const key of ['GET /avalara/status', 'GET /cetec/invoices/mine']) {
      expect(routes[key], key).toMatchObject({ AuthorizationType: 'NONE' });
      expect(routes[key]!.AuthorizerId, key).toBeUndefined();
      expect(routes[key]!.AuthorizationScopes, key).toBeUndefined();
    }
    // `$default` (health, the signed rotation webhook, anything unmatched) keeps no authorizer: the runtime answers there.
    expect(routes.$default!.AuthorizationType).toBeUndefined();
    expect(routes.$default!.AuthorizerId).toBeUndefined();
    expect(routes['GET /_sovereign/health']).toBeUndefined();
  });

  it('changes only the added or removed route\'s resource when a route comes or goes', () => {
    const before = render().Resources as Json;
    const added: StackExtension[] = [{ ...EXTENSIONS[0]!, routes: [...EXTENSIONS[0]!.routes, { method: 'DELETE', path: '/quotes/{id}', scopes: ['quotes:admin'] }] }, EXTENSIONS[1]!];
    const after = render(JWT, added).Resources as Json;
    const differing = (a: Json, b: Json) => [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((id) => JSON.stringify(a[id]) !== JSON.stringify(b[id]));
    // The function's environment names the extensions, not their routes: it stays as it was.
    expect(differing(before, after)).toEqual([routeLogicalId('DELETE /avalara/quotes/{id}')]);
    expect(after[routeLogicalId('DELETE /avalara/quotes/{id}')].Properties).toMatchObject({ AuthorizationType: 'JWT', AuthorizationScopes: ['quotes:admin'] });
    expect(differing(after, before)).toEqual([routeLogicalId('DELETE /avalara/quotes/{id}')]);
  });

  it('is absent, with every route, when the tenant trusts no JWT issuer', () => {
    for (const auth of [null, { ...JWT, issuers: [], audiences: [] }]) {
      const template = render(auth);
      const types = Object.values(template.Resources as Record<string, Json>).map((r) => r.Type);
      expect(types).not.toContain('AWS::ApiGatewayV2::Authorizer');
      expect(Object.keys(routesOf(template))).toEqual(['$default']);
      expect(JSON.stringify(template)).not.toContain('"JWT"');
    }
  });

  it('refuses what API Gateway cannot take: two issuers, an issuer that is not https, no audience', () => {
    const two = refused(() => render({ ...JWT, issuers: [ISSUER, 'https://login.example.com'] }));
    expect(two.exitCode).toBe(2);
    expect(two.message).toMatch(/^auth\.jwt: tenant "acme" trusts 2 JWT issuers/);
    expect(two.hint).toMatch(/one issuer in auth\.jwt/);
    const urn = refused(() => render({ ...JWT, issuers: ['urn:sovereign:dev:shop:prod'] }));
    expect(urn.exitCode).toBe(2);
    expect(urn.message).toMatch(/auth\.jwt\.issuer of tenant "acme" is not an https URL/);
    expect(refused(() => render({ ...JWT, issuers: ['http://issuer.example.com'] })).message).toMatch(/not an https URL/);
    expect(refused(() => render({ ...JWT, audiences: [] })).message).toMatch(/auth\.jwt\.audience of tenant "acme" is empty/);
  });
});

describe('the API resources of a tenant with a JWT issuer and API keys', () => {
  it('match the snapshot', () => {
    const r = render().Resources as Json;
    const api = Object.fromEntries(Object.entries(r).filter(([, resource]) => String(resource.Type).startsWith('AWS::ApiGatewayV2::') || resource.Type === 'AWS::Lambda::Permission'));
    expect(api).toMatchSnapshot();
  });
});

describe('route logical ids', () => {
  it('are alphanumeric, at most 255 characters, stable and unique even where the readable part is the same', () => {
    const keys = ['GET /a-b', 'GET /ab', 'GET /a/b', 'GET /a/{b}', 'POST /a/{b}', `GET /${'x'.repeat(40)}${'/segment-with-a-long-name'.repeat(40)}`];
    const ids = keys.map(routeLogicalId);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9]{1,255}$/);
    expect(new Set(ids).size).toBe(keys.length);
    expect(routeLogicalId('GET /a-b')).toBe(routeLogicalId('GET /a-b'));
    expect(routeLogicalId('GET /avalara/quotes/{id}')).toMatch(/^RouteGetAvalaraQuotesId[0-9A-F]{10}$/);
  });

  it('do not depend on the order of extensions or routes', () => {
    const reversed = [...EXTENSIONS].reverse().map((e) => ({ ...e, routes: [...e.routes].reverse() }));
    expect(render(JWT, reversed).Resources).toEqual(render().Resources);
    expect(apiRoutes(reversed)).toEqual(apiRoutes(EXTENSIONS));
  });
});

describe('the machine API', () => {
  it('exists with API keys: $default only, no authorizer, its own integration, permission and stage with the main stage\'s throttling and logs', () => {
    const template = render();
    const r = template.Resources as Json;
    expect(r.MachineApi).toMatchObject({ Type: 'AWS::ApiGatewayV2::Api', Properties: { Name: 'sovereign-prod-acme-machine', ProtocolType: 'HTTP' } });
    expect(routesOf(template, 'MachineApi')).toEqual({ $default: { id: 'MachineApiRoute', ApiId: { Ref: 'MachineApi' }, RouteKey: '$default', Target: { 'Fn::Sub': 'integrations/${MachineApiIntegration}' } } });
    expect(r.MachineApiIntegration.Properties).toEqual({ ...r.HttpApiIntegration.Properties, ApiId: { Ref: 'MachineApi' } });
    expect(r.MachineApiInvokePermission.Properties.SourceArn).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${MachineApi}/*' });
    expect(r.MachineApiStage.Properties).toEqual({ ...r.HttpApiStage.Properties, ApiId: { Ref: 'MachineApi' } });
    expect(template.Outputs.MachineApiUrl).toEqual({ Description: expect.any(String), Value: { 'Fn::GetAtt': ['MachineApi', 'ApiEndpoint'] } });
    // No authorizer names the machine API.
    const authorizerApis = Object.values(r as Record<string, Json>).filter((x) => x.Type === 'AWS::ApiGatewayV2::Authorizer').map((x) => x.Properties.ApiId.Ref);
    expect(authorizerApis).toEqual(['HttpApi']);
  });

  it('does not exist without API keys', () => {
    const template = render({ ...JWT, apiKeys: false });
    expect(Object.keys(template.Resources).filter((id) => id.startsWith('Machine'))).toEqual([]);
    expect(template.Outputs.MachineApiUrl).toBeUndefined();
    expect(JSON.stringify(template)).not.toContain('MachineApi');
  });
});

describe('re-tiering a template with the authorizer and the machine API', () => {
  it('equals rendering at the new tier, for every pair of tiers', () => {
    for (const from of TIER_NAMES) {
      for (const to of TIER_NAMES) {
        const before = renderTenantStack(inputs(JWT, EXTENSIONS, { tier: from }));
        expect(retierTenantTemplate(JSON.parse(JSON.stringify(before)), to)).toEqual(renderTenantStack(inputs(JWT, EXTENSIONS, { tier: to })));
      }
    }
  });
});

describe('the template of a tenant of the repository\'s extensions', () => {
  const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
  const names = ['avalara', 'avalara-cetec-sync', 'cetec'];
  let sources: ExtensionSource[];
  beforeAll(async () => {
    sources = await loadExtensionSources(join(repoRoot, 'extensions'), names);
  }, 60_000);

  function tenantTemplate(auth: unknown): Json {
    const config = configSchema.parse({ project: 'shop', target: 'aws', auth });
    const project: Project = { root: '/nonexistent/shop', config, paths: projectPaths('/nonexistent/shop') };
    const now = '2026-12-07T00:00:00.000Z';
    const record: TenantRecord = {
      id: 'acme', tier: 'standard', status: 'active', stage: 'prod', createdAt: now, createdBy: 'test', updatedAt: now,
      extensions: names, secrets: {}, config: {}, deploys: [], transitions: [],
    };
    return renderTenantStack(tenantStackInputs(project, record, sources, 'b'.repeat(64))) as Json;
  }

  it('has each manifest route behind the authorizer of the configured issuer, {tenant} filled in', () => {
    const template = tenantTemplate({ jwt: { issuer: 'https://auth.example.com/{tenant}', audience: 'shop-api' } });
    expect(template.Resources.HttpApiAuthorizer.Properties.JwtConfiguration).toEqual({ Issuer: 'https://auth.example.com/acme', Audience: ['shop-api'] });
    const routes = routesOf(template);
    const manifestKeys = sources.flatMap((s) => s.manifest.routes.map((r) => `${r.method} /${s.name}${r.path === '/' ? '' : r.path}`));
    expect(manifestKeys.length).toBeGreaterThanOrEqual(8);
    for (const source of sources) {
      for (const route of source.manifest.routes) {
        const key = `${route.method} /${source.name}${route.path === '/' ? '' : route.path}`;
        if (route.auth === 'public') expect(routes[key], key).toMatchObject({ AuthorizationType: 'NONE' });
        else expect(routes[key], key).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: 'HttpApiAuthorizer' }, ...(route.scopes?.length ? { AuthorizationScopes: route.scopes } : {}) });
      }
    }
    expect(Object.keys(routes).sort()).toEqual([...manifestKeys, 'GET /_sovereign/openapi.json', '$default'].sort());
    expect(template.Outputs.MachineApiUrl).toBeDefined();
  });

  it('has no authorizer without auth.jwt, and no machine API with apiKeys false', () => {
    const template = tenantTemplate({ apiKeys: false });
    expect(template.Resources.HttpApiAuthorizer).toBeUndefined();
    expect(Object.keys(routesOf(template))).toEqual(['$default']);
    expect(template.Resources.MachineApi).toBeUndefined();
  });
});
