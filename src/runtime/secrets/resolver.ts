/**
 * The secret resolver: turns a tenant's references into values through the one cache core, and
 * registers every value it hands out with the redactor so logs never show it.
 */
import { TtlCache, type CacheOptions } from '../cache.js';
import { RuntimeError, SecretAccessDeniedError, SecretNotFoundError } from '../errors.js';
import type { Redactor } from '../redact.js';
import type { SecretFetcher } from './fetcher.js';
import { formatReference, parseReference, referenceTarget, type SecretReference } from '../../contract/reference.js';

/** What health reports per reference: never the value. */
export type ReferenceStatus = 'ok' | 'missing' | 'denied' | 'error';

interface CachedSecret {
  raw: string;
  json?: unknown;
  /** `raw` as a settled promise, made once: a warm read of a whole value allocates nothing. */
  settled?: Promise<string>;
}

/** A reference that does not parse (it came from configuration, so the message is safe). */
export class InvalidReferenceError extends RuntimeError {
  constructor(message: string) {
    super(message, 500);
    this.name = 'InvalidReferenceError';
  }
}

export interface SecretResolverOptions {
  backend: SecretFetcher;
  redactor: Redactor;
  cache?: CacheOptions;
}

/** The cache key of a reference: its target plus the version stage (the JSON key is applied after). */
export function cacheKeyOf(reference: SecretReference): string {
  return reference.service === 'ssm'
    ? referenceTarget(reference)
    : `${referenceTarget(reference)}|${reference.versionStage ?? 'AWSCURRENT'}`;
}

export class SecretResolver {
  readonly cache: TtlCache<CachedSecret>;
  private readonly backend: SecretFetcher;
  private readonly redactor: Redactor;
  /** Reference text → its parse and cache key, memoised (one lookup per warm request). */
  private readonly parsed = new Map<string, { reference: SecretReference; key: string }>();

  constructor(options: SecretResolverOptions) {
    this.backend = options.backend;
    this.redactor = options.redactor;
    this.cache = new TtlCache<CachedSecret>(options.cache);
  }

  private parse(text: string): { reference: SecretReference; key: string } {
    let parsed = this.parsed.get(text);
    if (parsed === undefined) {
      const result = parseReference(text);
      if (!result.ok) throw new InvalidReferenceError(`invalid secret reference: ${result.problem.message}`);
      parsed = { reference: result.reference, key: cacheKeyOf(result.reference) };
      if (this.parsed.size > 10_000) this.parsed.clear();
      this.parsed.set(text, parsed);
    }
    return parsed;
  }

  /** Parses (and memoises) a reference. */
  reference(text: string): SecretReference {
    return this.parse(text).reference;
  }

  /** The value behind a reference, from the cache or the backend. */
  resolve(text: string): Promise<string> {
    let parsed: { reference: SecretReference; key: string };
    try {
      parsed = this.parse(text);
    } catch (error) {
      return Promise.reject(error);
    }
    const { reference, key } = parsed;
    const fresh = this.cache.getFresh(key);
    if (fresh !== undefined) {
      if (reference.service === 'ssm' || reference.jsonKey === undefined) return (fresh.settled ??= Promise.resolve(fresh.raw));
      try {
        return Promise.resolve(this.valueOf(fresh, reference));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.cache.get(key, () => this.load(reference)).then((entry) => this.valueOf(entry, reference));
  }

  private valueOf(entry: CachedSecret, reference: SecretReference): string {
    if (reference.service === 'secretsmanager' && reference.jsonKey !== undefined) {
      const value = extractJsonKey(entry, reference);
      this.redactor.add(value);
      return value;
    }
    return entry.raw;
  }

  /**
   * Drops cached values of the given references' targets, whatever JSON key or version stage was
   * read (all when `'all'`). Returns how many cached values were dropped.
   */
  invalidate(references: string[] | 'all'): number {
    if (references === 'all') return this.cache.invalidate();
    const targets = new Set<string>();
    for (const text of references) {
      const result = parseReference(text);
      if (result.ok) targets.add(referenceTarget(result.reference));
    }
    if (targets.size === 0) return 0;
    const keys = this.cache.keys().filter((key) => targets.has(key.split('|')[0] ?? key));
    return this.cache.invalidate(keys);
  }

  /** Passes a recorded vault generation to the backend (see `SecretFetcher.raiseVaultFloor`). */
  raiseVaultFloor(generation: number): void {
    this.backend.raiseVaultFloor?.(generation);
  }

  /** Whether a reference resolves now (health): ok / missing / denied / error. */
  async status(text: string): Promise<ReferenceStatus> {
    try {
      await this.resolve(text);
      return 'ok';
    } catch (error) {
      return statusOf(error);
    }
  }

  private async load(reference: SecretReference): Promise<CachedSecret> {
    const raw = await this.backend.fetch(reference);
    this.redactor.add(raw);
    return { raw };
  }
}

function extractJsonKey(entry: CachedSecret, reference: SecretReference & { service: 'secretsmanager' }): string {
  const key = reference.jsonKey as string;
  if (entry.json === undefined) {
    try {
      entry.json = JSON.parse(entry.raw);
    } catch {
      entry.json = null;
    }
  }
  const json = entry.json;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new SecretNotFoundError(formatReference(reference), { detail: 'the secret value is not a JSON object' });
  }
  if (!Object.hasOwn(json, key)) {
    throw new SecretNotFoundError(formatReference(reference), { detail: `JSON key "${key}" is not in the secret` });
  }
  const value = (json as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Classifies a resolver error for health output. */
export function statusOf(error: unknown): ReferenceStatus {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof SecretNotFoundError) return 'missing';
    if (current instanceof SecretAccessDeniedError) return 'denied';
    current = current.cause;
  }
  return 'error';
}
