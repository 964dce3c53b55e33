/**
 * The tenant's HTTP APIs and who may pass them: the resources of the tenant stack between the
 * internet and the function.
 *
 * - The main API (`HttpApi`) has the native JWT authorizer of the tenant's issuer on one explicit
 *   route per non-public manifest route (with that route's scopes) and on the runtime's OpenAPI
 *   document. A public route gets an explicit route with no authorizer: API Gateway prefers the most
 *   specific route, so without one a public `GET /x/items/mine` would be caught by a required
 *   `GET /x/items/{id}` and its authorizer. Everything else reaches `$default`, which has no
 *   authorizer: the runtime answers it (health, the signed rotation webhook, 404, 405, 401).
 * - An HTTP API's JWT authorizer lets nothing but a JWT through, so API keys cannot use those
 *   routes: with API keys on, the stack has a second API (`MachineApi`, `<name>-machine`) with only
 *   `$default` and no authorizer, where the runtime checks the key.
 *
 * Neither API is the last word: the runtime checks every request again (issuer, tenant claim,
 * scopes, expiry of the authorizer's context, or the API key), so a request that reaches the
 * function through a route without the authorizer still needs a credential of this tenant.
 */
import { createHash } from 'node:crypto';
import type { TenantAuth } from '../contract/auth.js';
import { NO_JWT_AUTH } from '../contract/tenant-runtime-config.js';
import { badInput } from '../errors.js';
import type { RouteDefinition } from '../runtime/extension.js';
import { extensionRoutePath, RUNTIME_PATHS } from '../runtime/openapi.js';
import { getAtt, ref, sub, type CfnOutput, type CfnResource } from './cfn.js';
import type { PolicyExtension } from './policy.js';
import type { StackSchedule } from './schedules.js';

/** A manifest route as the tenant's API needs it: no handler, no schemas. */
export interface StackRoute {
  method: RouteDefinition['method'];
  /** Path below the extension's prefix, as in the manifest. */
  path: string;
  /** Absent means `required`, as in the manifest. */
  auth?: RouteDefinition['auth'];
  scopes?: string[];
}

/** An enabled extension: its declared permissions (the role) and its routes (the API). */
export interface StackExtension extends PolicyExtension {
  routes: StackRoute[];
  /** Its schedules (`schedules.ts`); absent: none. */
  schedules?: StackSchedule[];
}

/** The routes of a manifest as {@link StackRoute}s. */
export function stackRoutesOf(routes: readonly RouteDefinition[]): StackRoute[] {
  return routes.map((r) => ({ method: r.method, path: r.path, auth: r.auth ?? 'required', ...(r.scopes && r.scopes.length > 0 ? { scopes: [...r.scopes] } : {}) }));
}

/** One explicit route of the main API. */
export interface ApiRoute {
  /** API Gateway's route key, e.g. `GET /avalara/quotes/{id}`. */
  routeKey: string;
  /** `JWT`: the authorizer must pass the caller; `NONE`: anyone reaches the runtime. */
  authorization: 'JWT' | 'NONE';
  scopes: string[];
}

/** The main API's explicit routes, in route-key order: every manifest route, and the OpenAPI document behind the authorizer. */
export function apiRoutes(extensions: readonly StackExtension[]): ApiRoute[] {
  const routes: ApiRoute[] = [{ routeKey: `GET ${RUNTIME_PATHS.openapi}`, authorization: 'JWT', scopes: [] }];
  for (const extension of extensions) {
    for (const route of extension.routes) {
      const isPublic = route.auth === 'public';
      routes.push({
        routeKey: `${route.method} ${extensionRoutePath(extension.name, route.path)}`,
        authorization: isPublic ? 'NONE' : 'JWT',
        scopes: isPublic ? [] : [...(route.scopes ?? [])],
      });
    }
  }
  return routes.sort((a, b) => (a.routeKey < b.routeKey ? -1 : a.routeKey > b.routeKey ? 1 : 0));
}

/**
 * The logical id of a route: readable (`RouteGetAvalaraQuotesId…`) and unique, since the route
 * key's hash ends it (`/a-b` and `/ab` read the same). It depends on nothing but the route key, so
 * adding or removing a route changes only that route's resource.
 */
export function routeLogicalId(routeKey: string): string {
  const readable = routeKey
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word !== '')
    .map((word) => word[0]!.toUpperCase() + word.slice(1).toLowerCase())
    .join('')
    .slice(0, 200);
  return `Route${readable}${createHash('sha256').update(routeKey).digest('hex').slice(0, 10).toUpperCase()}`;
}

/** The JWT settings of the tenant's authorizer, or undefined when it trusts no issuer. */
export interface JwtAuthorizerSettings {
  issuer: string;
  audiences: string[];
}

/**
 * The one issuer the tenant's authorizer trusts. An HTTP API route has one authorizer and a JWT
 * authorizer one issuer, found through its discovery document over https: anything else is
 * refused before CloudFormation would fail on it.
 */
export function jwtAuthorizerSettings(auth: TenantAuth, tenant: string): JwtAuthorizerSettings | undefined {
  if (auth.issuers.length === 0) return undefined;
  if (auth.issuers.length > 1) {
    throw badInput(
      `auth.jwt: tenant "${tenant}" trusts ${auth.issuers.length} JWT issuers, and on aws its HTTP API has one JWT authorizer, which takes one issuer`,
      'name one issuer in auth.jwt (or in auth.tenants.<id>.jwt); `{tenant}` in it gives each tenant its own',
    );
  }
  const issuer = auth.issuers[0]!;
  if (!/^https:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(issuer)) {
    throw badInput(
      `auth.jwt.issuer of tenant "${tenant}" is not an https URL; API Gateway finds a JWT issuer's keys at <issuer>/.well-known/openid-configuration`,
      'set auth.jwt.issuer to the issuer\'s https URL, e.g. https://cognito-idp.<region>.amazonaws.com/<user-pool-id>',
    );
  }
  if (auth.audiences.length === 0) {
    throw badInput(`auth.jwt.audience of tenant "${tenant}" is empty; API Gateway's JWT authorizer needs at least one`, 'set auth.jwt.audience to the app client id or API audience');
  }
  return { issuer, audiences: [...auth.audiences] };
}

/** What the API resources are made of. */
export interface TenantApiInputs {
  /** `sovereign-<stage>-<tenant>`. */
  name: string;
  tenant: string;
  stage: string;
  extensions: readonly StackExtension[];
  /** The tenant's caller rules (absent: {@link NO_JWT_AUTH}). */
  auth: TenantAuth | undefined;
  tags: Record<string, string>;
  /** The tier's stage throttling. */
  throttling: { rateLimit: number; burstLimit: number };
  accessLogFormat: string;
}

/** Logical ids of one HTTP API with its Lambda integration, `$default` route, stage and invoke permission. */
interface ApiIds {
  api: string;
  integration: string;
  defaultRoute: string;
  stage: string;
  permission: string;
}

const MAIN_API: ApiIds = { api: 'HttpApi', integration: 'HttpApiIntegration', defaultRoute: 'HttpApiRoute', stage: 'HttpApiStage', permission: 'InvokePermission' };
const MACHINE_API: ApiIds = { api: 'MachineApi', integration: 'MachineApiIntegration', defaultRoute: 'MachineApiRoute', stage: 'MachineApiStage', permission: 'MachineApiInvokePermission' };

/** The stages whose default-route throttling follows the tier (a re-tiering edits each one present). */
export const TIERED_API_STAGES: readonly string[] = [MAIN_API.stage, MACHINE_API.stage];

/** The JWT authorizer of the main API. */
export const AUTHORIZER_ID = 'HttpApiAuthorizer';

function httpApi(ids: ApiIds, name: string, description: string, inputs: TenantApiInputs): Record<string, CfnResource> {
  return {
    [ids.api]: {
      Type: 'AWS::ApiGatewayV2::Api',
      Properties: { Name: name, Description: description, ProtocolType: 'HTTP', Tags: { ...inputs.tags } },
    },
    [ids.integration]: {
      Type: 'AWS::ApiGatewayV2::Integration',
      Properties: {
        ApiId: ref(ids.api),
        IntegrationType: 'AWS_PROXY',
        IntegrationUri: getAtt('Function', 'Arn'),
        PayloadFormatVersion: '2.0',
        TimeoutInMillis: 30_000,
      },
    },
    [ids.defaultRoute]: {
      Type: 'AWS::ApiGatewayV2::Route',
      Properties: { ApiId: ref(ids.api), RouteKey: '$default', Target: sub(`integrations/\${${ids.integration}}`) },
    },
    [ids.stage]: {
      Type: 'AWS::ApiGatewayV2::Stage',
      Properties: {
        ApiId: ref(ids.api),
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: inputs.throttling.rateLimit, ThrottlingBurstLimit: inputs.throttling.burstLimit },
        // One JSON line per request in the tenant's own log group, beside its function's logs.
        AccessLogSettings: { DestinationArn: getAtt('LogGroup', 'Arn'), Format: inputs.accessLogFormat },
        Tags: { ...inputs.tags },
      },
    },
    [ids.permission]: {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        Action: 'lambda:InvokeFunction',
        FunctionName: ref('Function'),
        Principal: 'apigateway.amazonaws.com',
        SourceArn: sub(`arn:\${AWS::Partition}:execute-api:\${AWS::Region}:\${AWS::AccountId}:\${${ids.api}}/*`),
      },
    },
  };
}

/** The JWT authorizer and the explicit routes of the main API. */
function authorizerResources(jwt: JwtAuthorizerSettings, inputs: TenantApiInputs): Record<string, CfnResource> {
  const resources: Record<string, CfnResource> = {
    [AUTHORIZER_ID]: {
      Type: 'AWS::ApiGatewayV2::Authorizer',
      Properties: {
        ApiId: ref(MAIN_API.api),
        Name: `${inputs.name}-jwt`,
        AuthorizerType: 'JWT',
        IdentitySource: ['$request.header.Authorization'],
        JwtConfiguration: { Issuer: jwt.issuer, Audience: jwt.audiences },
      },
    },
  };
  for (const route of apiRoutes(inputs.extensions)) {
    const id = routeLogicalId(route.routeKey);
    if (id in resources) throw new Error(`tenant ${inputs.tenant}: two routes have the logical id ${id}`);
    resources[id] = {
      Type: 'AWS::ApiGatewayV2::Route',
      Properties: {
        ApiId: ref(MAIN_API.api),
        RouteKey: route.routeKey,
        Target: sub(`integrations/\${${MAIN_API.integration}}`),
        AuthorizationType: route.authorization,
        ...(route.authorization === 'JWT' ? { AuthorizerId: ref(AUTHORIZER_ID) } : {}),
        ...(route.scopes.length > 0 ? { AuthorizationScopes: route.scopes } : {}),
      },
    };
  }
  return resources;
}

/** The tenant stack's API resources and their outputs. */
export function tenantApiResources(inputs: TenantApiInputs): { resources: Record<string, CfnResource>; outputs: Record<string, CfnOutput> } {
  const auth = inputs.auth ?? NO_JWT_AUTH;
  const jwt = jwtAuthorizerSettings(auth, inputs.tenant);
  const about = `sovereign tenant ${inputs.tenant} (${inputs.stage})`;
  const resources: Record<string, CfnResource> = {
    ...httpApi(MAIN_API, inputs.name, about, inputs),
    // Without an issuer there is nothing for an authorizer to check: `$default` takes every request.
    ...(jwt ? authorizerResources(jwt, inputs) : {}),
    ...(auth.apiKeys ? httpApi(MACHINE_API, `${inputs.name}-machine`, `${about}: machine clients with API keys`, inputs) : {}),
  };
  const outputs: Record<string, CfnOutput> = {
    ApiUrl: { Description: 'Base URL of the tenant API', Value: getAtt(MAIN_API.api, 'ApiEndpoint') },
    ...(auth.apiKeys ? { MachineApiUrl: { Description: 'Base URL of the tenant API for API keys (no JWT authorizer)', Value: getAtt(MACHINE_API.api, 'ApiEndpoint') } } : {}),
  };
  return { resources, outputs };
}
