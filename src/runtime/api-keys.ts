/**
 * API key verification in the runtime: a presented key is checked for shape and checksum (no read
 * for a made-up key), hashed, and looked up where the target keeps the tenant's keys
 * (`contract/api-keys.ts`): the table (aws) or the tenant's data folder (`dev`). Lookups are
 * cached — found keys until the generation marker lists a key change, unknown ones briefly — and
 * bounded. Last use is recorded at most once a minute per key and environment.
 *
 * Loaded on the first request that carries an API key: `node:crypto` and the SDK's commands are
 * not paid for by tenants whose callers use JWTs.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  API_KEY_PARTITION, API_KEYS_FILE, API_KEYS_USED_FILE, apiKeyRecordFromItem, isWellFormedApiKey, parseApiKeysFile,
  USAGE_PARTITION, type ApiKeyRecord,
} from '../contract/api-keys.js';
import type { GenerationSource } from './config.js';
import { hashApiKey } from './key-material.js';
import type { DocumentClientProvider } from './db.js';

/** How long an unknown key's miss is remembered (a key created since is found after this at worst). */
export const MISS_TTL_MS = 2_000;
/** Cached lookups at most (found and unknown together); the oldest go first. */
export const MAX_CACHED_LOOKUPS = 1_000;
/** Last use is written at most this often per key. */
export const USAGE_INTERVAL_MS = 60_000;

export type KeyCheck =
  | { ok: true; record: ApiKeyRecord }
  | { ok: false; reason: 'malformed' | 'unknown' | 'expired' };

const MALFORMED: KeyCheck = { ok: false, reason: 'malformed' };
const UNKNOWN: KeyCheck = { ok: false, reason: 'unknown' };
const EXPIRED: KeyCheck = { ok: false, reason: 'expired' };

export interface ApiKeyVerifierOptions {
  stage: string;
  table: string;
  source: GenerationSource;
  documentClient: DocumentClientProvider;
  now: () => number;
  /** A failed last-use write (never fails the request). */
  onUsageError?: (error: unknown) => void;
}

interface Cached {
  record: ApiKeyRecord | null;
  at: number;
}

export class ApiKeyVerifier {
  private readonly cache = new Map<string, Cached>();
  private readonly pending = new Map<string, Promise<ApiKeyRecord | null>>();
  private readonly usedAt = new Map<string, number>();
  /** Table or file reads so far (tests, benchmarks). */
  lookups = 0;
  /** Moves on every invalidation: a read that started before one is not cached. */
  private epoch = 0;

  constructor(private readonly options: ApiKeyVerifierOptions) {}

  /** Drops every cached lookup: a key was created or revoked. */
  invalidate(): void {
    this.epoch++;
    this.cache.clear();
    this.pending.clear();
  }

  /**
   * Whether `key` is one of the tenant's live keys, and its record: synchronously when the answer
   * is known without a read (malformed, or cached), else a promise of it.
   */
  verify(key: string): KeyCheck | Promise<KeyCheck> {
    if (!isWellFormedApiKey(key, this.options.stage)) return MALFORMED;
    const hash = hashApiKey(key);
    const now = this.options.now();
    const cached = this.cache.get(hash);
    if (cached !== undefined && (cached.record !== null || now - cached.at < MISS_TTL_MS)) return this.judge(cached.record, now);
    const epoch = this.epoch;
    return this.lookup(hash).then((record) => {
      if (epoch === this.epoch) this.remember(hash, { record, at: now });
      return this.judge(record, now);
    });
  }

  private judge(record: ApiKeyRecord | null, now: number): KeyCheck {
    if (record === null) return UNKNOWN;
    if (record.expiresAt !== null && Date.parse(record.expiresAt) <= now) return EXPIRED;
    this.recordUse(record.id, now);
    return { ok: true, record };
  }

  private remember(hash: string, entry: Cached): void {
    this.cache.delete(hash);
    this.cache.set(hash, entry);
    if (this.cache.size > MAX_CACHED_LOOKUPS) this.cache.delete(this.cache.keys().next().value as string);
  }

  /** One read per hash at a time (concurrent requests with the same key share it). */
  private lookup(hash: string): Promise<ApiKeyRecord | null> {
    let pending = this.pending.get(hash);
    if (pending === undefined) {
      this.lookups++;
      const read = this.options.source.kind === 'file' ? this.fromFile(this.options.source.path, hash) : this.fromTable(hash);
      const shared: Promise<ApiKeyRecord | null> = read.finally(() => {
        if (this.pending.get(hash) === shared) this.pending.delete(hash);
      });
      pending = shared;
      this.pending.set(hash, pending);
    }
    return pending;
  }

  private async fromFile(dir: string, hash: string): Promise<ApiKeyRecord | null> {
    let text: string;
    try {
      text = await readFile(join(dir, API_KEYS_FILE), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    return parseApiKeysFile(text).keys.find((k) => k.hash === hash) ?? null;
  }

  private async fromTable(hash: string): Promise<ApiKeyRecord | null> {
    const [client, { GetCommand }] = await Promise.all([this.options.documentClient(), import('@aws-sdk/lib-dynamodb')]);
    const out = await client.send(new GetCommand({ TableName: this.options.table, Key: { pk: API_KEY_PARTITION, sk: hash }, ConsistentRead: true }));
    return out.Item ? (apiKeyRecordFromItem(out.Item) ?? null) : null;
  }

  /** Records the key's last use, at most once per {@link USAGE_INTERVAL_MS}; never awaited by the request. */
  private recordUse(id: string, now: number): void {
    const last = this.usedAt.get(id);
    if (last !== undefined && now - last < USAGE_INTERVAL_MS) return;
    this.usedAt.set(id, now);
    const at = new Date(now).toISOString();
    const write = this.options.source.kind === 'file' ? this.usageToFile(this.options.source.path, id, at) : this.usageToTable(id, at);
    write.catch((error: unknown) => this.options.onUsageError?.(error));
  }

  private async usageToFile(dir: string, id: string, at: string): Promise<void> {
    const path = join(dir, API_KEYS_USED_FILE);
    let used: Record<string, string> = {};
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as unknown;
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) used = parsed as Record<string, string>;
    } catch {
      // absent or unreadable: start afresh (it is a hint for `keys list`, nothing depends on it)
    }
    used[id] = at;
    const temp = `${path}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(used));
    await rename(temp, path);
  }

  private async usageToTable(id: string, at: string): Promise<void> {
    const [client, { UpdateCommand }] = await Promise.all([this.options.documentClient(), import('@aws-sdk/lib-dynamodb')]);
    await client.send(new UpdateCommand({
      TableName: this.options.table,
      Key: { pk: USAGE_PARTITION, sk: `apikey#${id}` },
      UpdateExpression: 'SET lastUsedAt = :at',
      ExpressionAttributeValues: { ':at': at },
    }));
  }
}
