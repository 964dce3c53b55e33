/**
 * The `dev` gateway's stand-in for API Gateway's native JWT authorizer, so a tenant's routes refuse
 * the same callers locally as on aws, before the tenant's process sees the request.
 *
 * What it guarantees, and why where it lives gives that guarantee:
 * - The rules come from outside the tenant's process: the route table is read from the manifests
 *   the tenant's artifact was built from (in the `dev` process), the caller rules from the
 *   project's config (`tenantRuntimeConfig(…, { dev: true }).auth`). An extension's code running
 *   in the tenant's process can change neither for the running gateway; it only answers the
 *   requests the gateway let through. (Its manifest module is imported by the CLI itself, as every
 *   command that reads manifests does: a hostile manifest is outside this boundary.)
 * - Matching is the runtime's own (`runtime/router.ts`, the same path decoding), so every path the
 *   runtime would route to a non-public handler is a path the gateway verifies.
 * - Verification follows API Gateway's checks: RSA signatures only (so `alg: none` and an HS256
 *   token keyed with the public key never verify), a `kid` that names a key of the issuer's JWKS
 *   (found by `jose`'s JWKS sets), the signature checked by `fast-jwt` with that key alone, then
 *   `iss` among the tenant's issuers, `aud` (or `client_id` when there is no `aud`) among its
 *   audiences, `exp`, `nbf` and `iat` against the clock with no tolerance, and at least one of the
 *   route's scopes.
 * - A verified token is remembered by its exact text, per tenant rules, for at most
 *   {@link VERIFIED_TTL_MS} and never past its `exp`; refusals are never remembered.
 *
 * It does not check the tenant claim: one issuer may serve every tenant, as on aws, and the runtime
 * checks the claim again on every request. A request with an API key is passed on without context,
 * and the runtime checks the key (locally one address serves the main and the machine API).
 */
import { extensionRoutePath, RUNTIME_PATHS } from '../../../contract/runtime-paths.js';
import { createPublicKey, KeyObject, type JsonWebKey, type webcrypto } from 'node:crypto';
import type { JWTPayload, JWTVerifyGetKey, JSONWebKeySet, ProtectedHeaderParameters } from 'jose';
import { claimText, forTenant, scopesAllow, tokenScopes, type AuthSettings, type JwtAuthorizerContext, type TenantAuth } from '../../../contract/auth.js';
import { Router } from '../../../runtime/router.js';
import type { ExtensionManifest, RouteAuth } from '../../../runtime/extension.js';

/** The signature algorithms API Gateway's JWT authorizers accept: RSA only. */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512'];
/** How long a verified token is remembered (never past its `exp`). */
export const VERIFIED_TTL_MS = 30_000;
/** Verified tokens remembered per tenant rules; the oldest goes first. */
export const VERIFIED_CACHE_ENTRIES = 1024;
/** The runtime endpoint that answers only an authenticated caller (it lists every route). */
export const PROTECTED_RUNTIME_ENDPOINTS = [{ method: 'GET', path: RUNTIME_PATHS.openapi }];

/** One route's caller rule. */
export interface RouteRule {
  auth: RouteAuth;
  scopes: readonly string[];
}

/** A route of the tenant as the gateway sees it: full path (extension prefix included) and its rule. */
export interface RouteSpec extends RouteRule {
  method: string;
  path: string;
}

/** The routes of a tenant's enabled extensions, as its runtime mounts them. */
export function routeSpecs(manifests: ReadonlyArray<Pick<ExtensionManifest<unknown>, 'name' | 'routes'>>): RouteSpec[] {
  return manifests.flatMap((manifest) =>
    manifest.routes.map((route) => ({
      method: route.method,
      path: extensionRoutePath(manifest.name, route.path),
      auth: route.auth ?? 'required',
      scopes: route.scopes ?? [],
    })),
  );
}

/** Which requests of one tenant need a verified caller. */
export class RouteTable {
  private readonly router = new Router<RouteRule>();

  constructor(routes: readonly RouteSpec[]) {
    for (const route of routes) this.router.add(route.method, route.path, { auth: route.auth, scopes: route.scopes });
    for (const endpoint of PROTECTED_RUNTIME_ENDPOINTS) this.router.add(endpoint.method, endpoint.path, { auth: 'required', scopes: [] });
  }

  /**
   * The rule of the non-public route a request reaches, or undefined when nothing is verified
   * (a public route, an unmatched path: API Gateway's `$default`). `rawPath` is still
   * percent-encoded; it is decoded exactly as the runtime decodes it before routing.
   */
  required(method: string, rawPath: string): RouteRule | undefined {
    let path = rawPath;
    if (path.includes('%')) {
      try {
        path = decodeURI(path);
      } catch {
        // the runtime keeps it as it came, and so matches nothing with it either
      }
    }
    const found = this.router.match(method.toUpperCase(), path);
    return found === undefined || found.value.auth === 'public' ? undefined : found.value;
  }
}

/** What the authorizer decided for one request. */
export type AuthDecision =
  | { kind: 'pass'; authorizer?: { jwt: JwtAuthorizerContext } }
  | { kind: 'refuse'; statusCode: 401 | 403; challenge: string };

/** The credentials of a request, read as API Gateway reads its identity source. */
export interface RequestCredentials {
  authorization?: string | undefined;
  apiKey?: string | undefined;
}

/** Where an issuer's keys are; undefined for an issuer the gateway has no keys for. */
export type IssuerKeys = (issuer: string) => JWTVerifyGetKey | undefined;

export interface JwtAuthorizerOptions {
  keys: IssuerKeys;
  /** Epoch milliseconds (default `Date.now`). */
  now?: () => number;
}

interface Verified {
  authorizer: { jwt: JwtAuthorizerContext };
  scopes: string[];
  /** Epoch ms after which the entry is not used. */
  until: number;
}

type Jose = typeof import('jose');
let jose: Jose | undefined;

/** An API key prefix (`contract/api-keys.ts`): such a bearer value is a key, not a JWT. */
const API_KEY_BEARER = /^bearer\s+sov_/i;
const BEARER = /^bearer\s+/i;

/** API Gateway's refusal of a token: 401 with an `invalid_token` challenge. */
function invalid(description: string): AuthDecision {
  return { kind: 'refuse', statusCode: 401, challenge: `Bearer scope="" error="invalid_token" error_description="${description}"` };
}

export class JwtAuthorizer {
  private readonly now: () => number;
  private readonly verified = new WeakMap<TenantAuth, Map<string, Verified>>();

  constructor(private readonly options: JwtAuthorizerOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Decides one request to a route with `rule` of a tenant with `auth`. Synchronous when the
   * answer needs no signature check (no credentials, an API key, a token verified moments ago).
   */
  authorize(auth: TenantAuth, rule: RouteRule, credentials: RequestCredentials): AuthDecision | Promise<AuthDecision> {
    const header = credentials.authorization?.trim();
    if (header === undefined || header === '') {
      if (credentials.apiKey !== undefined && credentials.apiKey !== '' && auth.apiKeys) return { kind: 'pass' };
      return { kind: 'refuse', statusCode: 401, challenge: 'Bearer' };
    }
    if (API_KEY_BEARER.test(header)) return auth.apiKeys ? { kind: 'pass' } : invalid('API keys are not accepted by this tenant');
    const token = header.replace(BEARER, '');
    const cache = this.cacheFor(auth);
    const now = this.now();
    const hit = cache.get(token);
    if (hit !== undefined) {
      if (hit.until > now) return this.scoped(rule, hit);
      cache.delete(token);
    }
    return this.verify(auth, token, now).then((result) => {
      if ('kind' in result) return result;
      if (cache.size >= VERIFIED_CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
      cache.set(token, result);
      return this.scoped(rule, result);
    });
  }

  private cacheFor(auth: TenantAuth): Map<string, Verified> {
    let cache = this.verified.get(auth);
    if (cache === undefined) {
      cache = new Map();
      this.verified.set(auth, cache);
    }
    return cache;
  }

  /** API Gateway's last step: at least one of the route's scopes, else 403. */
  private scoped(rule: RouteRule, verified: Verified): AuthDecision {
    if (scopesAllow(rule.scopes, verified.scopes)) return { kind: 'pass', authorizer: verified.authorizer };
    return {
      kind: 'refuse',
      statusCode: 403,
      challenge: `Bearer scope="${rule.scopes.join(' ')}" error="insufficient_scope" error_description="the token does not have a scope the route requires"`,
    };
  }

  private async verify(auth: TenantAuth, token: string, now: number): Promise<Verified | AuthDecision> {
    jose ??= await import('jose');
    let header: ProtectedHeaderParameters;
    let claims: JWTPayload;
    try {
      header = jose.decodeProtectedHeader(token);
      claims = jose.decodeJwt(token);
    } catch {
      return invalid('the token is not a JWT');
    }
    // The keys are chosen by the claimed issuer, which must be one of the tenant's; the signature
    // check then verifies the claim again against the signed payload.
    if (typeof claims.iss !== 'string' || !auth.issuers.includes(claims.iss)) return invalid('the token does not have a valid issuer');
    const keys = this.options.keys(claims.iss);
    if (keys === undefined) return invalid('the token does not have a valid issuer');
    if (typeof header.alg !== 'string' || !JWT_ALGORITHMS.includes(header.alg)) return invalid('the token is not signed with an accepted algorithm');
    // jose would try every key of the set for a token without `kid`; API Gateway requires one.
    if (typeof header.kid !== 'string' || header.kid === '') return invalid(describeFailure(new jose.errors.JWKSNoMatchingKey()));
    let payload: JWTPayload;
    try {
      const key = await keys({ ...header, alg: header.alg }, { payload: '', signature: '' } as never);
      payload = (await signatureVerifier(key, header.alg))(token) as JWTPayload;
    } catch (error) {
      return invalid(describeFailure(error));
    }
    // The signed payload's claims, as API Gateway checks them: its issuer, then the times with no
    // tolerance (`exp` is required).
    if (typeof payload.iss !== 'string' || !auth.issuers.includes(payload.iss)) return invalid('the token does not have a valid issuer');
    const nowSeconds = now / 1000;
    if (typeof payload.exp !== 'number') return invalid('the token\'s exp claim is not valid');
    if (payload.exp <= nowSeconds) return invalid('the token has expired');
    if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || payload.nbf > nowSeconds)) return invalid('the token is not valid yet');
    if (payload.iat !== undefined && (typeof payload.iat !== 'number' || payload.iat > nowSeconds)) return invalid('the token was issued in the future');
    if (!audienceAllowed(payload, auth.audiences)) return invalid('the token does not have a valid audience');
    const scopes = tokenScopes(payload);
    const text: Record<string, string> = {};
    for (const [name, value] of Object.entries(payload)) text[name] = claimText(value);
    return {
      authorizer: { jwt: { claims: text, scopes: scopes.length > 0 ? scopes : null } },
      scopes,
      until: Math.min(now + VERIFIED_TTL_MS, payload.exp * 1000),
    };
  }
}

type FastJwt = typeof import('fast-jwt');
let fastJwt: FastJwt | undefined;
type SignatureVerifier = (token: string) => unknown;
/** What a jose key getter may hand back. */
type IssuerKey = Awaited<ReturnType<JWTVerifyGetKey>>;
/** One verifier per issuer key (jose imports a key once per algorithm): building one parses the key. */
const verifiers = new WeakMap<object, SignatureVerifier>();

/**
 * The signature check of a token whose `alg` is `algorithm`, by the issuer key jose's JWKS set
 * chose for its `kid`: `fast-jwt`, which verifies with `node:crypto` on the calling thread (jose
 * verifies through WebCrypto, whose thread-pool hop cost more than the RSA check itself here; see
 * bench/RESULTS.md). It takes only `algorithm` with an RSA public key; the caller checks the
 * claims (issuer, times, audience) of the payload it returns.
 */
async function signatureVerifier(key: IssuerKey, algorithm: string): Promise<SignatureVerifier> {
  if (key instanceof Uint8Array) throw new jose!.errors.JOSENotSupported('a symmetric key is never an issuer key');
  let verifier = verifiers.get(key);
  if (verifier === undefined) {
    fastJwt ??= (await import('fast-jwt')) as FastJwt;
    const publicKey = key instanceof KeyObject ? key : 'algorithm' in key ? KeyObject.from(key as webcrypto.CryptoKey) : createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
    if (publicKey.type !== 'public' || publicKey.asymmetricKeyType !== 'rsa') throw new jose!.errors.JOSENotSupported('not an RSA public key');
    verifier = fastJwt.createVerifier({
      key: publicKey.export({ type: 'spki', format: 'pem' }) as string,
      algorithms: [algorithm as 'RS256'],
      ignoreExpiration: true,
      ignoreNotBefore: true,
      cache: false,
    }) as SignatureVerifier;
    verifiers.set(key, verifier);
  }
  return verifier;
}

/** `aud` when the token has one, else `client_id` (API Gateway's rule). */
function audienceAllowed(payload: JWTPayload, audiences: readonly string[]): boolean {
  if (payload.aud !== undefined) {
    const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    return aud.some((value) => audiences.includes(value));
  }
  return typeof payload.client_id === 'string' && audiences.includes(payload.client_id);
}

/** A failure of `jwtVerify` in API Gateway's words, never the token itself. */
function describeFailure(error: unknown): string {
  const code = (error as { code?: string }).code;
  const claim = (error as { claim?: string }).claim;
  if (code === 'ERR_JWT_EXPIRED') return 'the token has expired';
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && claim === 'nbf') return 'the token is not valid yet';
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && claim === 'iss') return 'the token does not have a valid issuer';
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') return `the token's ${claim ?? 'claims'} claim is not valid`;
  if (code === 'ERR_JOSE_ALG_NOT_ALLOWED' || code === 'ERR_JOSE_NOT_SUPPORTED') return 'the token is not signed with an accepted algorithm';
  if (code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') return 'the token\'s kid does not name a key of the issuer';
  if (code === 'FAST_JWT_INVALID_ALGORITHM') return 'the token is not signed with an accepted algorithm';
  if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' || code === 'FAST_JWT_INVALID_SIGNATURE' || code === 'FAST_JWT_MISSING_SIGNATURE') return 'the token\'s signature is not valid';
  if (code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JOSE_GENERIC') return 'the issuer\'s keys could not be fetched';
  return 'the token is not valid';
}

/** The keys of the issuers a tenant trusts: the dev issuer's in memory, any other's from its JWKS URL. */
export interface IssuerKeysOptions {
  /** Issuers `sovereign dev` signs for (one per stage) and their JWKS. */
  dev: { isDevIssuer(issuer: string): boolean; jwks: { keys: object[] } };
  /** A configured issuer's `jwksUri`, when the config names one (else its discovery document is read). */
  jwksUri(issuer: string): string | undefined;
}

/**
 * The `jwksUri` the project's `auth` settings give for an issuer, as filled in for one of
 * `tenants` (`{tenant}` in both); undefined when none does (then the discovery document is read).
 */
export function configuredJwksUri(settings: AuthSettings | undefined, tenants: () => Iterable<string>): (issuer: string) => string | undefined {
  return (issuer) => {
    const own = Object.entries(settings?.tenants ?? {}).map(([tenant, override]) => ({ jwt: override.jwt, tenants: [tenant] }));
    for (const { jwt, tenants: ids } of [...own, { jwt: settings?.jwt, tenants: [...tenants()] }]) {
      if (jwt?.jwksUri === undefined) continue;
      for (const tenant of ids) if (forTenant(jwt.issuer, tenant) === issuer) return forTenant(jwt.jwksUri, tenant);
    }
    return undefined;
  };
}

/** {@link IssuerKeys} for the gateway: created once per issuer, so jose's JWKS cache is reused. */
export async function issuerKeys(options: IssuerKeysOptions): Promise<IssuerKeys> {
  jose ??= await import('jose');
  const { createLocalJWKSet, createRemoteJWKSet } = jose;
  const dev = createLocalJWKSet(options.dev.jwks as JSONWebKeySet);
  const remote = new Map<string, JWTVerifyGetKey>();
  return (issuer) => {
    if (options.dev.isDevIssuer(issuer)) return dev;
    let keys = remote.get(issuer);
    if (keys === undefined) {
      const uri = options.jwksUri(issuer);
      keys = uri === undefined ? discoveredKeys(issuer) : createRemoteJWKSet(new URL(uri));
      remote.set(issuer, keys);
    }
    return keys;
  };
}

/** The keys at the `jwks_uri` of the issuer's OpenID discovery document (read once; again after a failure). */
function discoveredKeys(issuer: string): JWTVerifyGetKey {
  let found: Promise<JWTVerifyGetKey> | undefined;
  const discover = async (): Promise<JWTVerifyGetKey> => {
    const response = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
    const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
    if (!response.ok || document.issuer !== issuer || typeof document.jwks_uri !== 'string') throw new jose!.errors.JOSEError('no usable discovery document');
    return jose!.createRemoteJWKSet(new URL(document.jwks_uri));
  };
  return async (header, token) => {
    found ??= discover();
    try {
      return await (await found)(header, token);
    } catch (error) {
      if (!(error instanceof jose!.errors.JOSEError) || (error as { code?: string }).code === 'ERR_JOSE_GENERIC') found = undefined;
      throw error;
    }
  };
}
