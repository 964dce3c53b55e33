/**
 * Pinned signers: which keys `audit verify` and `tenant certificate-verify` accept.
 *
 * A bundle or certificate carries its signer's public key, so a valid signature alone proves only
 * that *someone* signed it: whoever hands an auditor a forged bundle signs it with a fresh key. It
 * is trusted only when its signer is a key the user pinned beforehand: `--key`, or the project's
 * `audit.trustedKeys`. Trusting the key inside the file takes an explicit flag and a warning.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { badInput, ExitCode, UserError } from '../errors.js';
import { findProjectRoot, loadProject } from '../project.js';
import { keyFingerprint } from './checkpoint.js';
import { parsePublicKeyBase64, publicKeyBase64 } from './signing.js';

export const TRUST_BUNDLE_KEY_FLAG = '--trust-bundle-key';

export interface PinnedKey {
  /** Base64 SPKI DER. */
  publicKey: string;
  fingerprint: string;
  /** Where it was pinned: `--key` or `audit.trustedKeys[i]`. */
  source: string;
}

/** What a verification trusts: pinned keys, or (explicitly) the key inside the file. */
export type SignerTrust = { mode: 'pinned'; keys: PinnedKey[] } | { mode: 'embedded' };

const shorten = (value: string) => (value.length > 60 ? `${value.slice(0, 57)}...` : value);

/**
 * Reads a public key given as a file holding PEM or base64 SPKI, or as the base64 text itself.
 * `allowEc` also accepts ECDSA P-256 keys (a KMS checkpoint key), not only Ed25519.
 */
export function readPublicKey(value: string, baseDir: string, what: string, options: { allowEc?: boolean } = {}): KeyObject {
  let text = value.trim();
  const file = resolve(baseDir, value);
  if (existsSync(file) && statSync(file).isFile()) text = readFileSync(file, 'utf8').trim();
  try {
    if (!text.includes('-----BEGIN')) {
      if (!options.allowEc) return parsePublicKeyBase64(text.replace(/\s+/g, ''));
      return createPublicKey({ key: Buffer.from(text.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'spki' });
    }
    const key = createPublicKey(text);
    if (key.asymmetricKeyType === 'ed25519' || (options.allowEc && key.asymmetricKeyType === 'ec')) return key;
    throw new Error('unsupported key type');
  } catch {
    throw badInput(`${what} "${shorten(value)}" is not an Ed25519 public key (a PEM file, or base64 of its SPKI form)`, 'the project key is in .sovereign/keys/_signing.pub; a bundle names its signer in manifest.json');
  }
}

function pinned(key: KeyObject, source: string): PinnedKey {
  return { publicKey: publicKeyBase64(key), fingerprint: keyFingerprint(key), source };
}

export interface TrustInputs {
  /** `--key`, read from `cwd`. */
  key?: string;
  cwd: string;
  /** `--trust-bundle-key`. */
  trustBundleKey: boolean;
  /** The project's `audit.trustedKeys` and its root, when there is a project. */
  project?: { root: string; trustedKeys: string[] };
}

/** `--key` wins over the project's keys; with neither, only the explicit flag trusts the file's key. */
export function resolveSignerTrust(inputs: TrustInputs): SignerTrust {
  if (inputs.key !== undefined && inputs.trustBundleKey) throw badInput(`--key and ${TRUST_BUNDLE_KEY_FLAG} contradict each other`, `pass one: --key pins a signer, ${TRUST_BUNDLE_KEY_FLAG} accepts whichever key signed the file`);
  if (inputs.key !== undefined) return { mode: 'pinned', keys: [pinned(readPublicKey(inputs.key, inputs.cwd, '--key'), '--key')] };
  const configured = inputs.project?.trustedKeys ?? [];
  if (configured.length > 0 && !inputs.trustBundleKey) {
    return { mode: 'pinned', keys: configured.map((value, i) => pinned(readPublicKey(value, inputs.project!.root, `audit.trustedKeys[${i}]`), `audit.trustedKeys[${i}]`)) };
  }
  if (inputs.trustBundleKey) return { mode: 'embedded' };
  return { mode: 'pinned', keys: [] };
}

/** The failure for a signer that is not pinned: exit 1 with how to pin it. */
export function unpinnedSigner(what: string, fingerprint: string, trust: { keys: PinnedKey[] }): UserError {
  const pinnedList = trust.keys.length === 0 ? 'no key is pinned' : `pinned: ${trust.keys.map((k) => `${k.fingerprint} (${k.source})`).join(', ')}`;
  return new UserError(`${what} is signed by ${fingerprint}, which is not a pinned key (${pinnedList})`, {
    hint: `check ${fingerprint} with whoever exported it, then pin their public key: --key <file.pub>, or add it to "audit": { "trustedKeys": [...] } in sovereign.config.json (${TRUST_BUNDLE_KEY_FLAG} accepts the key inside the file, unchecked)`,
    exitCode: ExitCode.failed,
  });
}

export function embeddedKeyWarning(what: string, fingerprint: string): string {
  return `${TRUST_BUNDLE_KEY_FLAG}: trusting the key inside the ${what} (${fingerprint}); this proves only that whoever holds that key signed it, not who that is`;
}

/** The project's pinned keys, when `cwd` is inside a project (an auditor may have none). */
export async function projectTrustedKeys(cwd: string): Promise<TrustInputs['project']> {
  if (findProjectRoot(cwd) === undefined) return undefined;
  const project = await loadProject(cwd);
  return { root: project.root, trustedKeys: project.config.audit?.trustedKeys ?? [] };
}
