/**
 * The gateway's JWT authorizer, attacked through the real gateway on loopback: a stand-in tenant
 * function records every event it is handed, so each test sees both
 * what the caller got and whether the function ran, and with which authorizer context.
 */
import { createHash, createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { SignJWT, exportJWK } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEV_AUDIENCE, devIssuer, resolveTenantAuth, type TenantAuth } from '../../../contract/auth.js';
import type { ApiGatewayV2Event } from './event.js';
import { Gateway, type GatewayTenant } from './gateway.js';
import { JwtAuthorizer, RouteTable, VERIFIED_CACHE_ENTRIES, VERIFIED_TTL_MS, configuredJwksUri, issuerKeys, routeSpecs } from './authorizer.js';
import { bucketForTier } from './throttle.js';

const ISSUER = devIssuer('proj', 'dev');

interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  kid: string;
}
function rsaKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url').slice(0, 16);
  return { privateKey, publicKey, kid };
}
const key = rsaKey();
const otherKey = rsaKey();
/** Keys the issuer also publishes, without `alg` (as many identity providers do): an EC key and another RSA key. */
const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const plainRsaKey = rsaKey();

/** The clock both the authorizer and the tokens use (epoch ms). */
let now = Date.now();
const seconds = () => Math.floor(now / 1000);

interface TokenOptions {
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
  signWith?: KeyObject;
}
/** A token as the dev issuer mints it, with anything changed that a test wants changed. */
function token(options: TokenOptions = {}): Promise<string> {
  const claims = { iss: ISSUER, aud: DEV_AUDIENCE, sub: 'user-1', tenant_id: 'acme', iat: seconds(), nbf: seconds(), exp: seconds() + 3600, ...options.claims };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete (claims as Record<string, unknown>)[name];
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT', ...options.header } as { alg: string }).sign(options.signWith ?? key.privateKey);
}
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
function claimsOf(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: ISSUER, aud: DEV_AUDIENCE, sub: 'user-1', tenant_id: 'acme', iat: seconds(), exp: seconds() + 3600, ...extra };
}

const manifests = [
  {
    name: 'probe',
    routes: [
      { method: 'GET' as const, path: '/whoami', handler: 'whoami' },
      { method: 'GET' as const, path: '/orders/{id}', handler: 'order', scopes: ['orders:read', 'orders:admin'] },
      { method: 'POST' as const, path: '/hook', handler: 'hook', auth: 'public' as const },
    ],
  },
];

let gateway: Gateway;
let auth: TenantAuth;
const events: ApiGatewayV2Event[] = [];
let tenant: GatewayTenant;

beforeAll(async () => {
  const jwks = {
    keys: [
      { ...(await exportJWK(key.publicKey)), kid: key.kid, alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ecKey.publicKey)), kid: 'ec-key' },
      { ...(await exportJWK(plainRsaKey.publicKey)), kid: 'rsa-key' },
    ],
  };
  const keys = await issuerKeys({ dev: { isDevIssuer: (issuer) => issuer.startsWith('urn:sovereign:dev:proj:'), jwks }, jwksUri: () => undefined });
  auth = resolveTenantAuth(undefined, 'acme', ISSUER);
  tenant = {
    id: 'acme',
    status: 'running',
    suspended: false,
    pids: [],
    restarts: 0,
    // The function: records every event it is handed.
    invoke: async (json) => {
      const event = JSON.parse(json) as ApiGatewayV2Event;
      events.push(event);
      return { kind: 'result', awsRequestId: 'r', result: { functionError: false, json: JSON.stringify({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ran: event.rawPath }) }) } };
    },
    bucket: bucketForTier('premium'),
    logFile: '/nonexistent',
    routes: new RouteTable(routeSpecs(manifests)),
    auth,
  };
  gateway = new Gateway({ port: 0, throttle: false, tenant: (id) => (id === 'acme' ? tenant : undefined), tenants: () => [tenant], authorizer: new JwtAuthorizer({ keys, now: () => now }) });
  await gateway.listen();
});

afterAll(async () => {
  await gateway.close();
});

beforeEach(() => {
  now = Date.now();
  events.length = 0;
  tenant.auth = auth;
});

async function call(path: string, headers: Record<string, string> = {}, method = 'GET') {
  events.length = 0;
  const response = await fetch(`http://127.0.0.1:${gateway.port}/t/acme${path}`, { method, headers });
  return { status: response.status, body: await response.text(), challenge: response.headers.get('www-authenticate'), ran: events.length > 0, event: events.at(-1) };
}
const bearer = (value: string) => ({ authorization: `Bearer ${value}` });

/** API Gateway's refusal: its own body, a challenge, and the function never ran. */
function expectRefused(answer: Awaited<ReturnType<typeof call>>, status: 401 | 403, error?: string) {
  expect(answer.status).toBe(status);
  expect(answer.body).toBe(status === 401 ? '{"message":"Unauthorized"}' : '{"message":"Forbidden"}');
  expect(answer.ran).toBe(false);
  if (error !== undefined) expect(answer.challenge).toContain(`error="${error}"`);
}

describe('the dev gateway as a JWT authorizer', () => {
  it('refuses a non-public route without credentials: 401, API Gateway\'s body, a Bearer challenge', async () => {
    const answer = await call('/probe/whoami');
    expectRefused(answer, 401);
    expect(answer.challenge).toBe('Bearer');
  });

  it('passes a valid token on with its claims (as text) and scopes in requestContext.authorizer.jwt', async () => {
    const answer = await call('/probe/whoami', bearer(await token({ claims: { scope: 'a:b c', groups: ['x', 'y'], n: 3 } })));
    expect(answer.status).toBe(200);
    const jwt = answer.event!.requestContext.authorizer!.jwt;
    expect(jwt.scopes).toEqual(['a:b', 'c']);
    expect(jwt.claims).toMatchObject({ iss: ISSUER, sub: 'user-1', tenant_id: 'acme', groups: '[x y]', n: '3', exp: String(seconds() + 3600) });
  });

  it('takes the bare token as well as "Bearer <token>"', async () => {
    expect((await call('/probe/whoami', { authorization: await token() })).status).toBe(200);
  });

  it('refuses an expired token, one not valid yet (nbf) and one issued in the future (iat)', async () => {
    expectRefused(await call('/probe/whoami', bearer(await token({ claims: { iat: seconds() - 7200, nbf: seconds() - 7200, exp: seconds() - 1 } }))), 401, 'invalid_token');
    expectRefused(await call('/probe/whoami', bearer(await token({ claims: { nbf: seconds() + 60 } }))), 401, 'invalid_token');
    expectRefused(await call('/probe/whoami', bearer(await token({ claims: { iat: seconds() + 60, nbf: undefined } }))), 401, 'invalid_token');
  });

  it('refuses a token without exp', async () => {
    expectRefused(await call('/probe/whoami', bearer(await token({ claims: { exp: undefined } }))), 401, 'invalid_token');
  });

  it('refuses another issuer, even one signed with the trusted key', async () => {
    expectRefused(await call('/probe/whoami', bearer(await token({ claims: { iss: 'https://evil.example/' } }))), 401, 'invalid_token');
    expectRefused(await call('/probe/whoami', bearer(await token({ claims: { iss: devIssuer('other', 'dev') } }))), 401, 'invalid_token');
  });

  it('refuses another audience; takes client_id only when there is no aud', async () => {
    const wrong = await call('/probe/whoami', bearer(await token({ claims: { aud: 'someone-else' } })));
    expectRefused(wrong, 401, 'invalid_token');
    expect(wrong.challenge).toContain('valid audience');
    expect((await call('/probe/whoami', bearer(await token({ claims: { aud: undefined, client_id: DEV_AUDIENCE } })))).status).toBe(200);
    expectRefused(await call('/probe/whoami', bearer(await token({ claims: { aud: 'someone-else', client_id: DEV_AUDIENCE } }))), 401);
    expectRefused(await call('/probe/whoami', bearer(await token({ claims: { aud: undefined } }))), 401);
  });

  it('refuses alg "none"', async () => {
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claimsOf())}.`;
    expectRefused(await call('/probe/whoami', bearer(unsigned)), 401, 'invalid_token');
    const unsignedWithKid = `${b64({ alg: 'none', kid: key.kid })}.${b64(claimsOf())}.`;
    expectRefused(await call('/probe/whoami', bearer(unsignedWithKid)), 401, 'invalid_token');
  });

  it('refuses HS256 signed with the issuer\'s public key (key confusion), as PEM and as JWK text', async () => {
    const pem = key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const jwk = JSON.stringify(await exportJWK(key.publicKey));
    for (const secret of [pem, jwk]) {
      const signingInput = `${b64({ alg: 'HS256', typ: 'JWT', kid: key.kid })}.${b64(claimsOf())}`;
      const forged = `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
      expectRefused(await call('/probe/whoami', bearer(forged)), 401, 'invalid_token');
    }
  });

  it('refuses algorithms API Gateway does not take (ES256, PS256) even with an issuer\'s key that fits them', async () => {
    expect((await call('/probe/whoami', bearer(await token({ header: { kid: 'rsa-key' }, signWith: plainRsaKey.privateKey })))).status).toBe(200);
    expectRefused(await call('/probe/whoami', bearer(await token({ header: { alg: 'PS256', kid: 'rsa-key' }, signWith: plainRsaKey.privateKey }))), 401, 'invalid_token');
    expectRefused(await call('/probe/whoami', bearer(await token({ header: { alg: 'ES256', kid: 'ec-key' }, signWith: ecKey.privateKey }))), 401, 'invalid_token');
  });

  it('refuses an unknown kid, no kid at all, and another RSA key under the right kid', async () => {
    expectRefused(await call('/probe/whoami', bearer(await token({ header: { kid: 'not-a-key' } }))), 401, 'invalid_token');
    expectRefused(await call('/probe/whoami', bearer(await token({ header: { kid: undefined } }))), 401, 'invalid_token');
    expectRefused(await call('/probe/whoami', bearer(await token({ signWith: otherKey.privateKey }))), 401, 'invalid_token');
  });

  it('refuses a payload changed after signing (another tenant swapped in)', async () => {
    const [head, , signature] = (await token()).split('.');
    expectRefused(await call('/probe/whoami', bearer(`${head}.${b64(claimsOf({ tenant_id: 'globex' }))}.${signature}`)), 401, 'invalid_token');
  });

  it('needs at least one of the route\'s scopes: 403 Forbidden without, through with either', async () => {
    const none = await call('/probe/orders/1', bearer(await token()));
    expectRefused(none, 403, 'insufficient_scope');
    expectRefused(await call('/probe/orders/1', bearer(await token({ claims: { scope: 'orders:write' } }))), 403);
    expect((await call('/probe/orders/1', bearer(await token({ claims: { scope: 'orders:write orders:admin' } })))).status).toBe(200);
    expect((await call('/probe/orders/1', bearer(await token({ claims: { scp: ['orders:read'] } })))).status).toBe(200);
  });

  it('verifies paths the runtime decodes to a protected route (percent-encoded, trailing slash)', async () => {
    expectRefused(await call('/probe/%77hoami'), 401);
    expectRefused(await call('/probe/whoami/'), 401);
    expectRefused(await call('/probe/orders/%31'), 401);
  });

  it('verifies GET /_sovereign/openapi.json; leaves health, public routes and unmatched paths to the function', async () => {
    expectRefused(await call('/_sovereign/openapi.json'), 401);
    expect((await call('/_sovereign/openapi.json', bearer(await token()))).status).toBe(200);
    for (const [path, method] of [['/_sovereign/health', 'GET'], ['/probe/hook', 'POST'], ['/probe/nothing-here', 'GET'], ['/probe/whoami', 'DELETE']] as const) {
      const answer = await call(path, {}, method);
      expect(answer.status, path).toBe(200);
      expect(answer.event!.requestContext.authorizer, path).toBeUndefined();
    }
  });

  it('a public route gets no authorizer context even with a valid token (it has no authorizer)', async () => {
    const answer = await call('/probe/hook', bearer(await token()), 'POST');
    expect(answer.status).toBe(200);
    expect(answer.event!.requestContext.authorizer).toBeUndefined();
  });

  it('passes an API key on without authorizer context when the tenant takes keys, and refuses it when not', async () => {
    for (const headers of [{ 'x-api-key': 'sov_dev_whatever' }, bearer('sov_dev_whatever')]) {
      const answer = await call('/probe/whoami', headers);
      expect(answer.status).toBe(200);
      expect(answer.event!.requestContext.authorizer).toBeUndefined();
    }
    tenant.auth = { ...auth, apiKeys: false };
    expectRefused(await call('/probe/whoami', { 'x-api-key': 'sov_dev_whatever' }), 401);
    expectRefused(await call('/probe/whoami', bearer('sov_dev_whatever')), 401);
  });

  it('a JWT next to an API key is still verified', async () => {
    expectRefused(await call('/probe/whoami', { 'x-api-key': 'sov_dev_whatever', ...bearer(await token({ claims: { aud: 'someone-else' } })) }), 401);
  });

  it('remembers a verified token never past its exp, nor past the tenant\'s rules', async () => {
    const shortLived = await token({ claims: { exp: seconds() + 2 } });
    expect((await call('/probe/whoami', bearer(shortLived))).status).toBe(200);
    now += 3000;
    expectRefused(await call('/probe/whoami', bearer(shortLived)), 401);

    now = Date.now();
    const valid = await token();
    expect((await call('/probe/whoami', bearer(valid))).status).toBe(200);
    // Other rules (a new record read by dev): the remembered verdict is not theirs.
    tenant.auth = { ...auth, audiences: ['another-audience'] };
    expectRefused(await call('/probe/whoami', bearer(valid)), 401);
    tenant.auth = auth;
    now += VERIFIED_TTL_MS + 1000;
    expect((await call('/probe/whoami', bearer(valid))).status).toBe(200);
  });

  it('answers 503 rather than guess while a tenant\'s routes are unknown', async () => {
    const routes = tenant.routes;
    tenant.routes = undefined;
    try {
      expect((await call('/probe/whoami')).status).toBe(503);
    } finally {
      tenant.routes = routes;
    }
  });
});

describe('the verified-token memory', () => {
  it('holds at most VERIFIED_CACHE_ENTRIES tokens per tenant rules: the oldest is verified again', async () => {
    const jwks = { keys: [{ ...(await exportJWK(key.publicKey)), kid: key.kid, alg: 'RS256' }] };
    const keys = await issuerKeys({ dev: { isDevIssuer: () => true, jwks }, jwksUri: () => undefined });
    let lookups = 0;
    const authorizer = new JwtAuthorizer({ keys: (issuer) => (lookups++, keys(issuer)) });
    const rules = resolveTenantAuth(undefined, 'acme', ISSUER);
    const rule = { auth: 'required' as const, scopes: [] };
    const tokens = await Promise.all(Array.from({ length: VERIFIED_CACHE_ENTRIES + 1 }, (_, i) => token({ claims: { sub: `user-${i}` } })));
    for (const t of tokens) expect((await authorizer.authorize(rules, rule, { authorization: `Bearer ${t}` })).kind).toBe('pass');
    expect(lookups).toBe(tokens.length);
    // The newest is remembered (no key lookup); the first was dropped to make room for it.
    await authorizer.authorize(rules, rule, { authorization: `Bearer ${tokens.at(-1)!}` });
    expect(lookups).toBe(tokens.length);
    await authorizer.authorize(rules, rule, { authorization: `Bearer ${tokens[0]!}` });
    expect(lookups).toBe(tokens.length + 1);
  });
});

describe('a configured issuer\'s keys', () => {
  let idp: HttpServer;
  let base: string;
  /** What the identity provider's discovery document names as its issuer. */
  let claimedIssuer: string | undefined;
  const idpKey = rsaKey();

  beforeAll(async () => {
    const jwks = { keys: [{ ...(await exportJWK(idpKey.publicKey)), kid: idpKey.kid, alg: 'RS256' }] };
    idp = createServer((req, res) => {
      const body = req.url === '/.well-known/openid-configuration' ? { issuer: claimedIssuer ?? base, jwks_uri: `${base}/keys` } : req.url === '/keys' ? jwks : undefined;
      res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body ?? {}));
    });
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => idp.close(() => resolve())));

  async function decide(jwksUri: string | undefined, tokenIssuer = base) {
    const keys = await issuerKeys({ dev: { isDevIssuer: () => false, jwks: { keys: [] } }, jwksUri: () => jwksUri });
    const tenantAuth: TenantAuth = { issuers: [base], audiences: ['api'], tenantClaim: 'tenant_id', apiKeys: false };
    const signed = await new SignJWT({ tenant_id: 'acme' }).setProtectedHeader({ alg: 'RS256', kid: idpKey.kid }).setIssuer(tokenIssuer).setAudience('api').setIssuedAt().setExpirationTime('5m').sign(idpKey.privateKey);
    return new JwtAuthorizer({ keys }).authorize(tenantAuth, { auth: 'required', scopes: [] }, { authorization: `Bearer ${signed}` });
  }

  it('are read from its jwksUri, or from the jwks_uri of its discovery document', async () => {
    expect((await decide(`${base}/keys`)).kind).toBe('pass');
    claimedIssuer = undefined;
    expect((await decide(undefined)).kind).toBe('pass');
  });

  it('are not taken from a discovery document that names another issuer', async () => {
    claimedIssuer = 'https://someone-else.example';
    try {
      expect(await decide(undefined)).toMatchObject({ kind: 'refuse', statusCode: 401 });
    } finally {
      claimedIssuer = undefined;
    }
  });

  it('come from the jwksUri the config gives for the issuer, filled in for the tenant', () => {
    const settings = {
      jwt: { issuer: 'https://idp.example/{tenant}', audience: 'api', jwksUri: 'https://idp.example/{tenant}/keys' },
      tenants: { globex: { jwt: { issuer: 'https://globex.example', audience: 'api', jwksUri: 'https://globex.example/jwks' } } },
    };
    const lookup = configuredJwksUri(settings, () => ['acme', 'globex']);
    expect(lookup('https://idp.example/acme')).toBe('https://idp.example/acme/keys');
    expect(lookup('https://globex.example')).toBe('https://globex.example/jwks');
    expect(lookup('https://idp.example/initech')).toBeUndefined();
    expect(configuredJwksUri({ jwt: { issuer: 'https://idp.example', audience: 'api' } }, () => ['acme'])('https://idp.example')).toBeUndefined();
  });
});
