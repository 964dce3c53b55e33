/**
 * Tenant identity: who may call a tenant's API, as each side reads it.
 *
 * - The project's config (`auth` in `sovereign.config.json`, see docs/auth.md) names the JWT
 *   issuer and audience, possibly with `{tenant}`, and the claim that must equal the tenant id.
 *   {@link resolveTenantAuth} turns it into one tenant's {@link TenantAuth}.
 * - The aws target renders it as the HTTP API's native JWT authorizer; the `dev` gateway verifies
 *   tokens with the same rules. Both hand the verified claims to the function as API Gateway does
 *   ({@link JwtAuthorizerContext} in `requestContext.authorizer.jwt`).
 * - The runtime gets it in `SOVEREIGN_TENANT_CONFIG.auth` and checks every request again: the
 *   issuer, the tenant claim, the route's scopes (defence in depth), or an API key.
 *
 * Pure and dependency-free: it is bundled into every tenant runtime.
 */

/** One tenant's caller rules, as deployed. */
export interface TenantAuth {
  /** JWT issuers this tenant trusts (`iss`), `{tenant}` already filled in. Empty: no JWT callers. */
  issuers: string[];
  /** Accepted audiences (`aud`, or `client_id` when a token has no `aud`). */
  audiences: string[];
  /** The claim that must equal the tenant id; null when each tenant has its own issuer. */
  tenantClaim: string | null;
  /** Whether machine clients may call with API keys. */
  apiKeys: boolean;
}

/** A scope a route may require and a key or token may carry (`invoices:write`, `orders/read`). */
export const SCOPE = /^[A-Za-z0-9][A-Za-z0-9:._/-]{0,127}$/;

/** The generation-marker reference a key change lists: runtimes drop their cached key lookups (`api-keys.ts`). */
export const API_KEYS_GENERATION_REFERENCE = '_sovereign:api-keys';

/** The claim that names the tenant when none is configured. */
export const DEFAULT_TENANT_CLAIM = 'tenant_id';

/** The `auth` section of the project's config, as the CLI reads it (docs/auth.md). */
export interface AuthSettings {
  jwt?: {
    issuer: string;
    audience: string | string[];
    /** Default {@link DEFAULT_TENANT_CLAIM}; with `{tenant}` in the issuer it may be null. */
    tenantClaim?: string | null;
    /** Where the issuer's keys are (default: the issuer's OpenID discovery document). */
    jwksUri?: string;
  };
  /** Default true. */
  apiKeys?: boolean;
  /** Per-tenant overrides, merged over the project's settings. */
  tenants?: Record<string, Omit<AuthSettings, 'tenants'>>;
}

/** Where the `dev` gateway serves its issuer's keys (`/.well-known/openid-configuration`, `/jwks.json` below it). */
export const DEV_ISSUER_PATH = '/_sovereign/dev/issuer';

/**
 * The issuer (`iss`) of `sovereign dev`'s tokens for a project and stage. A name, not a URL, so a
 * token does not depend on the port dev listens on; the gateway serves its keys at {@link DEV_ISSUER_PATH}.
 */
export function devIssuer(project: string, stage: string): string {
  return `urn:sovereign:dev:${project}:${stage}`;
}
/** The audience of dev tokens when the project names none. */
export const DEV_AUDIENCE = 'sovereign';

/** Fills `{tenant}` in an issuer or audience. */
export function forTenant(template: string, tenant: string): string {
  return template.replaceAll('{tenant}', tenant);
}

/**
 * One tenant's {@link TenantAuth} from the project's settings: the tenant's override over the
 * project's defaults, `{tenant}` filled in. `devIssuer` (the `dev` gateway's issuer URL) is trusted
 * too when given, with the project's audience (or {@link DEV_AUDIENCE}) and tenant claim.
 */
export function resolveTenantAuth(settings: AuthSettings | undefined, tenant: string, devIssuer?: string): TenantAuth {
  const override = settings?.tenants?.[tenant];
  const jwt = override?.jwt ?? settings?.jwt;
  const apiKeys = override?.apiKeys ?? settings?.apiKeys ?? true;
  const issuers: string[] = [];
  const audiences: string[] = [];
  let tenantClaim: string | null = DEFAULT_TENANT_CLAIM;
  if (jwt !== undefined) {
    issuers.push(forTenant(jwt.issuer, tenant));
    for (const audience of Array.isArray(jwt.audience) ? jwt.audience : [jwt.audience]) audiences.push(forTenant(audience, tenant));
    if (jwt.tenantClaim !== undefined) tenantClaim = jwt.tenantClaim;
  }
  if (devIssuer !== undefined) {
    issuers.push(devIssuer);
    if (audiences.length === 0) audiences.push(DEV_AUDIENCE);
    // The dev issuer is shared by every tenant: its tokens always name theirs.
    tenantClaim ??= DEFAULT_TENANT_CLAIM;
  }
  return { issuers, audiences, tenantClaim, apiKeys };
}

/**
 * What API Gateway (and the `dev` gateway) put in `requestContext.authorizer.jwt` after verifying a
 * token: every claim as a string (numbers and booleans printed, arrays as `[a b]`, objects as JSON)
 * and the token's scopes.
 */
export interface JwtAuthorizerContext {
  claims: Record<string, string>;
  scopes: string[] | null;
}

/** A claim value as API Gateway passes it to the integration. */
export function claimText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(' ')}]`;
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

/** The scopes a token carries: `scope` (space-separated) or `scp` (a list or a string). */
export function tokenScopes(claims: Record<string, unknown>): string[] {
  const scope = claims.scope ?? claims.scp;
  if (typeof scope === 'string') {
    // `[a b]` is how an array claim arrives through API Gateway.
    const text = scope.startsWith('[') && scope.endsWith(']') ? scope.slice(1, -1) : scope;
    return text.split(' ').filter((s) => s !== '');
  }
  if (Array.isArray(scope)) return scope.filter((s): s is string => typeof s === 'string');
  return [];
}

/** API Gateway's rule: a route with scopes needs at least one of them; a route without any, none. */
export function scopesAllow(required: readonly string[] | undefined, held: readonly string[]): boolean {
  if (required === undefined || required.length === 0) return true;
  return required.some((scope) => held.includes(scope));
}
