/**
 * Making and hashing API keys (`contract/api-keys.ts` has their format): the CLI creates keys with
 * {@link generateApiKey}, the runtime and the CLI hash them with {@link hashApiKey}. Here and not in
 * the contract because it needs `node:crypto`, which the contract never imports.
 */
import * as crypto from 'node:crypto';
import { API_KEY_ALPHABET, API_KEY_RANDOM_CHARS, apiKeyOf } from '../contract/api-keys.js';

/** A new key for `stage` and its id. The key is the only copy: show it once, store its hash. */
export function generateApiKey(stage: string): { key: string; id: string } {
  let random = '';
  // Rejection sampling keeps every character uniform (248 = 4 × 62).
  while (random.length < API_KEY_RANDOM_CHARS) {
    for (const byte of crypto.randomBytes(48)) {
      if (byte < 248 && random.length < API_KEY_RANDOM_CHARS) random += API_KEY_ALPHABET[byte % 62];
    }
  }
  return { key: apiKeyOf(stage, random), id: `key_${crypto.randomBytes(8).toString('hex')}` };
}

// One-shot `crypto.hash` where the Node has it (20.12+): a fraction of createHash's cost per key.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** The stored hash of a key: SHA-256, hex. */
export function hashApiKey(key: string): string {
  return oneShot !== undefined ? oneShot('sha256', key, 'hex') : crypto.createHash('sha256').update(key).digest('hex');
}
