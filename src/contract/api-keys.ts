/**
 * API keys of machine clients: their format, their hash, and where a tenant's keys are kept. The
 * CLI (`sovereign tenant keys create|list|revoke`) writes keys; the runtime verifies them. Both
 * read the shapes here.
 *
 * A key is `sov_<stage>_<32 base62 characters><6 base62 characters of checksum>`, e.g.
 * `sov_prod_4fQ…`. The prefix lets secret scanners find leaked keys ({@link API_KEY_PATTERN});
 * the checksum (CRC-32 of the random part) lets the runtime refuse a mistyped or made-up key
 * without a table read. A key is shown once, when it is created; only its SHA-256 is stored
 * (the random part carries 190 bits, so a fast hash is enough: there is nothing to brute-force).
 *
 * Where the keys are:
 * - aws: items of the tenant's table, `pk = _sovereign#apikey`, `sk = <sha256 hex>` (written by
 *   the CLI only: the runtime role may write extension partitions and `_usage`, not `_sovereign…`);
 *   last use in `pk = _usage`, `sk = apikey#<id>`, written by the runtime.
 * - local: `api-keys.json` in the tenant's data folder (written by the CLI's journaled commit),
 *   last use in `api-keys-used.json` beside it (written by the runtime).
 *
 * A create or revoke moves the tenant's generation marker with {@link API_KEYS_GENERATION_REFERENCE}
 * among its changed references: every warm runtime drops its cached key lookups within about a
 * second (`SOVEREIGN_GENERATION_INTERVAL_MS`).
 *
 * Pure and dependency-free: bundled into every tenant runtime. Generating and hashing keys
 * (`node:crypto`) is `runtime/key-material.ts`.
 */

/** Every key starts with this, then the stage and `_`. */
export const API_KEY_PREFIX = 'sov_';
const RANDOM_CHARS = 32;
const CHECKSUM_CHARS = 6;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A pattern secret scanners can use to find sovereign API keys (any stage). */
export const API_KEY_PATTERN = /\bsov_[a-z][a-z0-9]{0,11}_[0-9A-Za-z]{38}\b/;
const WHOLE_KEY = /^sov_([a-z][a-z0-9]{0,11})_([0-9A-Za-z]{32})([0-9A-Za-z]{6})$/;

export { API_KEYS_GENERATION_REFERENCE } from './auth.js';

/** aws: the partition of the tenant table's key items. */
export const API_KEY_PARTITION = '_sovereign#apikey';
/** aws: the partition the runtime records last use in (`sk = apikey#<id>`). */
export const USAGE_PARTITION = '_usage';
/** local: the keys file, in the tenant's data folder. */
export const API_KEYS_FILE = 'api-keys.json';
/** local: the last-use file the runtime writes, beside it. */
export const API_KEYS_USED_FILE = 'api-keys-used.json';

/** A key's name: what `keys list` shows and `keys revoke` takes. */
export const API_KEY_NAME = /^[a-z][a-z0-9-]{0,39}$/;
export { SCOPE } from './auth.js';

/** One stored key: everything but the key itself. */
export interface ApiKeyRecord {
  /** `key_<16 hex>`: names the key in logs, events and `ctx.identity.subject`. */
  id: string;
  name: string;
  /** SHA-256 (hex) of the whole key. */
  hash: string;
  scopes: string[];
  createdAt: string;
  createdBy: string;
  /** ISO time after which the key is refused; null: never. */
  expiresAt: string | null;
}

/** local: the content of {@link API_KEYS_FILE}. */
export interface ApiKeysFile {
  version: 1;
  keys: ApiKeyRecord[];
}

function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) {
    crc ^= text.charCodeAt(i);
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function checksumOf(random: string): string {
  let n = crc32(random);
  let out = '';
  for (let i = 0; i < CHECKSUM_CHARS; i++) {
    out = BASE62[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** The key of `stage` with the random part `random` (32 base62 characters) and its checksum. */
export function apiKeyOf(stage: string, random: string): string {
  return `${API_KEY_PREFIX}${stage}_${random}${checksumOf(random)}`;
}

/** The base62 alphabet of the random part. */
export const API_KEY_ALPHABET = BASE62;
/** Characters of the random part. */
export const API_KEY_RANDOM_CHARS = RANDOM_CHARS;

/**
 * Whether `text` has the shape of a key of `stage` with a correct checksum: what the runtime checks
 * before it looks a key up.
 */
export function isWellFormedApiKey(text: string, stage?: string): boolean {
  const match = WHOLE_KEY.exec(text);
  if (match === null) return false;
  if (stage !== undefined && match[1] !== stage) return false;
  return checksumOf(match[2]!) === match[3];
}

/** Whether the key is expired at `now` (epoch ms). */
export function isExpired(record: Pick<ApiKeyRecord, 'expiresAt'>, now: number): boolean {
  return record.expiresAt !== null && Date.parse(record.expiresAt) <= now;
}

/** Reads {@link ApiKeysFile} text; throws on a file that is not one. */
export function parseApiKeysFile(text: string): ApiKeysFile {
  const value = JSON.parse(text) as Partial<ApiKeysFile>;
  if (value === null || typeof value !== 'object' || value.version !== 1 || !Array.isArray(value.keys)) {
    throw new Error(`${API_KEYS_FILE} must be { version: 1, keys: [...] }`);
  }
  for (const [i, k] of value.keys.entries()) {
    if (typeof k !== 'object' || k === null || typeof k.id !== 'string' || typeof k.name !== 'string' || typeof k.hash !== 'string' ||
        !Array.isArray(k.scopes) || !k.scopes.every((s) => typeof s === 'string') || typeof k.createdAt !== 'string' ||
        (k.expiresAt !== null && typeof k.expiresAt !== 'string')) {
      throw new Error(`${API_KEYS_FILE}: keys[${i}] is not a key record`);
    }
  }
  return value as ApiKeysFile;
}

/** aws: the table item of a key record. */
export function apiKeyItem(record: ApiKeyRecord): Record<string, unknown> {
  const { hash, ...rest } = record;
  return { pk: API_KEY_PARTITION, sk: hash, ...rest };
}

/** aws: the key record of a table item (undefined for an item that is not one). */
export function apiKeyRecordFromItem(item: Record<string, unknown>): ApiKeyRecord | undefined {
  const { sk, id, name, scopes, createdAt, createdBy, expiresAt } = item;
  if (typeof sk !== 'string' || typeof id !== 'string' || typeof name !== 'string' || typeof createdAt !== 'string') return undefined;
  return {
    id,
    name,
    hash: sk,
    scopes: Array.isArray(scopes) ? scopes.filter((s): s is string => typeof s === 'string') : scopes instanceof Set ? [...scopes as Set<string>] : [],
    createdAt,
    createdBy: typeof createdBy === 'string' ? createdBy : 'unknown',
    expiresAt: typeof expiresAt === 'string' ? expiresAt : null,
  };
}
