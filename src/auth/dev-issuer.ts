/**
 * The issuer `sovereign dev` serves: an RSA key (RS256, the family API Gateway's JWT authorizers
 * accept) at `.sovereign/keys/_dev-issuer.key` (mode 0600), created on first use. The gateway
 * publishes its public half as a JWKS and verifies tokens against it; `sovereign auth token`
 * mints tokens with it. A tenant id never starts with `_`, so no tenant key shares the name; the
 * keys folder is outside every tenant process's reach.
 *
 * Dev tokens are for the local target only: their issuer (`contract/auth.ts` `devIssuer`) is not
 * one an aws tenant trusts.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, createHash, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TENANT_CLAIM, devIssuer, DEV_AUDIENCE } from '../contract/auth.js';
import { ExitCode, UserError } from '../errors.js';
import { createFileExclusive } from '../fs/atomic.js';

export const DEV_ISSUER_KEY_FILE = '_dev-issuer.key';
/** The algorithm of dev tokens. */
export const DEV_ALG = 'RS256';

export interface DevIssuerKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** `kid` of the key: the first 16 characters of its SPKI SHA-256, base64url. */
  kid: string;
}

function describe(privateKey: KeyObject): DevIssuerKey {
  const publicKey = createPublicKey(privateKey);
  const kid = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url').slice(0, 16);
  return { privateKey, publicKey, kid };
}

/** Loads the dev issuer's key from `keysDir`, creating it when absent (two first callers share one key). */
export function loadOrCreateDevIssuerKey(keysDir: string): DevIssuerKey {
  const path = join(keysDir, DEV_ISSUER_KEY_FILE);
  if (existsSync(path)) {
    let key: KeyObject;
    try {
      key = createPrivateKey(readFileSync(path));
    } catch (error) {
      throw new UserError(`the dev issuer key ${path} is not a PEM private key`, {
        hint: 'remove it: the next `sovereign dev` or `sovereign auth token` creates a new one (tokens minted before stop working)',
        exitCode: ExitCode.failed,
        cause: error,
      });
    }
    if (key.asymmetricKeyType !== 'rsa') throw new UserError(`the dev issuer key ${path} is ${key.asymmetricKeyType ?? 'unknown'}, not RSA`, { exitCode: ExitCode.failed, hint: 'remove it; a new one is created on next use' });
    return describe(key);
  }
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  if (!createFileExclusive(path, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 })) return loadOrCreateDevIssuerKey(keysDir);
  return describe(pair.privateKey);
}

/** The dev issuer's JWKS (public key only). */
export async function devJwks(key: DevIssuerKey): Promise<{ keys: Array<Record<string, unknown>> }> {
  const { exportJWK } = await import('jose');
  const jwk = await exportJWK(key.publicKey);
  return { keys: [{ ...jwk, kid: key.kid, alg: DEV_ALG, use: 'sig' }] };
}

export interface DevTokenOptions {
  project: string;
  stage: string;
  tenant: string;
  scopes?: string[];
  /** Default {@link DEV_AUDIENCE}. */
  audience?: string;
  /** Default {@link DEFAULT_TENANT_CLAIM}. */
  tenantClaim?: string;
  /** Default `dev-user`. */
  subject?: string;
  /** Lifetime in seconds (default 3600). */
  ttlSeconds?: number;
  /** Epoch seconds the token is issued at (default now). */
  now?: number;
}

/** Mints a dev token: RS256 with the dev issuer's key, the tenant in its tenant claim. */
export async function mintDevToken(key: DevIssuerKey, options: DevTokenOptions): Promise<string> {
  const { SignJWT } = await import('jose');
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = { [options.tenantClaim ?? DEFAULT_TENANT_CLAIM]: options.tenant };
  if (options.scopes !== undefined && options.scopes.length > 0) claims.scope = options.scopes.join(' ');
  return new SignJWT(claims)
    .setProtectedHeader({ alg: DEV_ALG, kid: key.kid, typ: 'JWT' })
    .setIssuer(devIssuer(options.project, options.stage))
    .setAudience(options.audience ?? DEV_AUDIENCE)
    .setSubject(options.subject ?? 'dev-user')
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + (options.ttlSeconds ?? 3600))
    .sign(key.privateKey);
}
