/**
 * The project's bundle signing key: Ed25519, created on first use. The private key is PKCS#8 PEM
 * with mode 0600; the public key (SPKI PEM) sits beside it so it can be handed to auditors.
 *
 * The key lives at `.sovereign/keys/_signing.key`: tenant vault keys share that folder as
 * `<tenant>.key`, and a tenant id can never start with `_`, so no tenant can collide with it.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, UserError } from '../errors.js';
import { createFileExclusive, writeFileAtomic } from '../fs/atomic.js';
import { keyFingerprint } from './checkpoint.js';

export const SIGNING_KEY_FILE = '_signing.key';
export const SIGNING_PUBLIC_KEY_FILE = '_signing.pub';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Base64 of the public key's SPKI DER: what manifests carry. */
  publicKeyBase64: string;
  /** `SHA256:<base64>` of the SPKI DER. */
  fingerprint: string;
  /** True when this call created the key. */
  created: boolean;
  path: string;
}

export function signingKeyPaths(keysDir: string): { privateKey: string; publicKey: string } {
  return { privateKey: join(keysDir, SIGNING_KEY_FILE), publicKey: join(keysDir, SIGNING_PUBLIC_KEY_FILE) };
}

export function publicKeyBase64(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'der' }).toString('base64');
}

function describe(privateKey: KeyObject, path: string, created: boolean): SigningKey {
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, publicKeyBase64: publicKeyBase64(publicKey), fingerprint: keyFingerprint(publicKey), created, path };
}

/**
 * Loads the signing key, creating it (and its public half) when absent. Call with the project
 * lock held so two commands never create two keys.
 */
export function loadOrCreateSigningKey(keysDir: string): SigningKey {
  const paths = signingKeyPaths(keysDir);
  if (existsSync(paths.privateKey)) {
    const mode = statSync(paths.privateKey).mode & 0o777;
    if ((mode & 0o077) !== 0) chmodSync(paths.privateKey, 0o600);
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(readFileSync(paths.privateKey));
    } catch (error) {
      throw new UserError(`the signing key ${paths.privateKey} is not a PEM private key`, {
        hint: 'restore it from a backup; moving it away makes the next export create a new key (auditors pinning the old public key will notice)',
        exitCode: ExitCode.failed,
        cause: error,
      });
    }
    if (privateKey.asymmetricKeyType !== 'ed25519') {
      throw new UserError(`the signing key ${paths.privateKey} is ${privateKey.asymmetricKeyType ?? 'unknown'}, not Ed25519`, { exitCode: ExitCode.failed });
    }
    const key = describe(privateKey, paths.privateKey, false);
    if (!existsSync(paths.publicKey)) writeFileAtomic(paths.publicKey, key.publicKey.export({ type: 'spki', format: 'pem' }).toString(), { mode: 0o644 });
    return key;
  }
  const pair = generateKeyPairSync('ed25519');
  // Created under a temporary name and linked into place, so two first exports never replace
  // each other's key: the second one finds the first one's key and uses it.
  if (!createFileExclusive(paths.privateKey, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 })) {
    return loadOrCreateSigningKey(keysDir);
  }
  writeFileAtomic(paths.publicKey, pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(), { mode: 0o644 });
  return describe(pair.privateKey, paths.privateKey, true);
}

/** The raw 64-byte signature of the archive seal. */
export function sealSign(key: Pick<SigningKey, 'privateKey'>, message: Buffer): Buffer {
  return sign(null, message, key.privateKey);
}

export function signBytes(key: SigningKey, data: Buffer): string {
  return sign(null, data, key.privateKey).toString('base64');
}

/** Parses a base64 SPKI DER Ed25519 public key; throws on anything else. */
export function parsePublicKeyBase64(text: string): KeyObject {
  const key = createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the key is ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519`);
  return key;
}

export function verifyBytes(publicKey: KeyObject, data: Buffer, signature: string): boolean {
  try {
    return verify(null, data, publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
