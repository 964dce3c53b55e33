/**
 * Who is calling: the runtime's own check of every request to a `required` route (and the
 * OpenAPI document), behind API Gateway's JWT authorizer on aws and the `dev` gateway locally.
 *
 * The runtime never verifies a raw JWT itself: it trusts only the claims API Gateway (or the `dev`
 * gateway) verified and put in `requestContext.authorizer.jwt`, a context no client can write.
 * Those claims are checked again (defence in depth): the issuer and audience are the tenant's, the
 * token has not expired, the tenant claim names this tenant (else 403: a valid token of another
 * tenant), and the token carries one of the route's scopes. Without that context — the machine
 * API, `$default` — only one of the tenant's API keys is accepted. Anything else is 401.
 *
 * The JWT path is synchronous (no allocation beyond the identity); the key path loads
 * `api-keys.ts` on first use.
 */
import { API_KEYS_GENERATION_REFERENCE, tokenScopes, type JwtAuthorizerContext, type TenantAuth } from '../contract/auth.js';
import type { ApiKeyVerifier, ApiKeyVerifierOptions, KeyCheck } from './api-keys.js';
import type { CallerIdentity } from './extension.js';
import { problem, type HttpResultV2, type IncomingRequest } from './http.js';

/** Where a caller's API key is: `x-api-key`, or a bearer token with the key prefix. */
export function presentedApiKey(request: IncomingRequest): string | undefined {
  const headers = request.headers;
  const header = headers['x-api-key'];
  if (header !== undefined && header !== '') return header.trim();
  const authorization = headers.authorization;
  if (authorization !== undefined && /^bearer sov_/i.test(authorization)) return authorization.slice(7).trim();
  return undefined;
}

/** Whether `aud` (or `client_id` without it) as API Gateway passes it — one audience, or several as `[a b]` — names one of `accepted`. */
function audienceAccepted(claims: Record<string, string>, accepted: readonly string[]): boolean {
  const aud = claims.aud ?? claims.client_id;
  if (typeof aud !== 'string') return false;
  if (accepted.includes(aud)) return true;
  if (aud.length < 2 || aud[0] !== '[' || aud[aud.length - 1] !== ']') return false;
  return aud.slice(1, -1).split(' ').some((a) => accepted.includes(a));
}

/** {@link scopesAllow} without a closure: this runs on every request of a route with scopes. */
function anyScopeHeld(required: readonly string[] | undefined, held: readonly string[]): boolean {
  if (required === undefined || required.length === 0) return true;
  for (let i = 0; i < required.length; i++) if (held.includes(required[i]!)) return true;
  return false;
}

const NO_SCOPES: readonly string[] = Object.freeze([]);

export type AuthOutcome = CallerIdentity | HttpResultV2;

export class Authenticator {
  private verifier: Promise<ApiKeyVerifier> | undefined;
  /** The verifier once its module loaded (the cached path then stays synchronous). */
  private loaded: ApiKeyVerifier | undefined;
  /** The last `scope` claim text seen and its parsed scopes: a client sends one token many times. */
  private lastScopeText: string | undefined;
  private lastScopes: readonly string[] = [];
  /** The same for `exp` (API Gateway passes it as text; `Number` costs more than the other checks together). */
  private lastExpText: string | undefined;
  private lastExp = Number.NaN;

  constructor(
    private readonly tenant: string,
    private readonly auth: TenantAuth,
    private readonly keyOptions: ApiKeyVerifierOptions,
  ) {}

  /** Whether a generation change concerns API keys; drops the cached lookups if so. */
  generationChanged(changed: 'all' | string[]): void {
    if (this.verifier !== undefined && (changed === 'all' || changed.includes(API_KEYS_GENERATION_REFERENCE))) {
      void this.verifier.then((v) => v.invalidate());
    }
  }

  /**
   * The caller of a request to a route requiring `scopes` (any one of them), or the 401/403 that
   * refuses it. Synchronous for a JWT caller; a promise for an API key.
   */
  authenticate(request: IncomingRequest, scopes: readonly string[] | undefined, now: number): AuthOutcome | Promise<AuthOutcome> {
    const jwt = request.authorizer;
    if (jwt !== undefined) return this.fromJwt(jwt, request, scopes, now);
    const key = presentedApiKey(request);
    if (key !== undefined) {
      if (!this.auth.apiKeys) return unauthorized(request, 'api-keys-disabled', `tenant "${this.tenant}" does not accept API keys`);
      return this.fromKey(key, request, scopes);
    }
    return unauthorized(request, 'unauthenticated', 'this route needs a bearer token of the tenant\'s issuer or one of its API keys');
  }

  private fromJwt(jwt: JwtAuthorizerContext, request: IncomingRequest, scopes: readonly string[] | undefined, now: number): AuthOutcome {
    const claims = jwt.claims;
    const { issuers, audiences, tenantClaim } = this.auth;
    if (!issuers.includes(claims.iss ?? '')) return unauthorized(request, 'invalid-token', 'the token\'s issuer is not one this tenant trusts');
    if (!audienceAccepted(claims, audiences)) return unauthorized(request, 'invalid-token', 'the token\'s audience is not this tenant\'s');
    if (!(this.expiryOf(claims.exp) * 1000 > now)) return unauthorized(request, 'invalid-token', 'the token has expired or has no expiry');
    if (tenantClaim !== null && claims[tenantClaim] !== this.tenant) {
      return problem(403, 'wrong-tenant', request, `the token is not for tenant "${this.tenant}"`);
    }
    const held = Array.isArray(jwt.scopes) ? jwt.scopes : this.scopesOf(claims);
    if (!anyScopeHeld(scopes, held)) return insufficientScope(request, scopes!);
    return { kind: 'jwt', subject: claims.sub ?? null, scopes: held, claims };
  }

  private expiryOf(text: string | undefined): number {
    if (text !== this.lastExpText) {
      this.lastExp = Number(text);
      this.lastExpText = text;
    }
    return this.lastExp;
  }

  /** The token's scopes; the same claim text parses once (the array is frozen: handlers share it). */
  private scopesOf(claims: Record<string, string>): readonly string[] {
    const text = claims.scope ?? claims.scp;
    if (text === undefined) return NO_SCOPES;
    if (text !== this.lastScopeText) {
      this.lastScopes = Object.freeze(tokenScopes(claims));
      this.lastScopeText = text;
    }
    return this.lastScopes;
  }

  private fromKey(key: string, request: IncomingRequest, scopes: readonly string[] | undefined): AuthOutcome | Promise<AuthOutcome> {
    if (this.loaded === undefined) {
      this.verifier ??= import('./api-keys.js').then(({ ApiKeyVerifier }) => (this.loaded = new ApiKeyVerifier(this.keyOptions)));
      return this.verifier.then(() => this.fromKey(key, request, scopes));
    }
    const check = this.loaded.verify(key);
    return check instanceof Promise ? check.then((settled) => this.keyOutcome(settled, request, scopes)) : this.keyOutcome(check, request, scopes);
  }

  private keyOutcome(check: KeyCheck, request: IncomingRequest, scopes: readonly string[] | undefined): AuthOutcome {
    if (!check.ok) {
      return unauthorized(request, 'invalid-api-key', check.reason === 'expired' ? 'the API key has expired' : 'the API key is not one of this tenant\'s keys');
    }
    const { record } = check;
    if (!anyScopeHeld(scopes, record.scopes)) return insufficientScope(request, scopes!);
    return { kind: 'apiKey', subject: record.id, scopes: record.scopes, claims: { name: record.name } };
  }
}

function unauthorized(request: IncomingRequest, slug: string, detail: string): HttpResultV2 {
  return problem(401, slug, request, detail, {}, { 'www-authenticate': 'Bearer' });
}

function insufficientScope(request: IncomingRequest, scopes: readonly string[]): HttpResultV2 {
  return problem(403, 'insufficient-scope', request, `this route needs one of the scopes: ${scopes.join(', ')}`, { requiredScopes: [...scopes] }, {
    'www-authenticate': `Bearer error="insufficient_scope", scope="${scopes.join(' ')}"`,
  });
}

/** Whether an outcome is the caller (not a refusal). */
export function isIdentity(outcome: AuthOutcome): outcome is CallerIdentity {
  return 'kind' in outcome;
}
