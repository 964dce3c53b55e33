/**
 * `sovereign tenant keys`: API keys of a tenant's machine clients, over whichever target keeps
 * them (`ApiKeyStore`). A key is generated here, returned once to be printed, and only its record
 * (`ApiKeyRecord`: the SHA-256, never the key) is stored. Every create and revoke is one state
 * mutation: the record change and its audit event land together (the event names the key by name
 * and id, with its scopes and expiry — never the key or its hash), and the tenant's generation
 * marker moves on with `API_KEYS_GENERATION_REFERENCE`, so warm runtimes drop their cached
 * lookups within about a second.
 */
import { API_KEY_NAME, API_KEYS_GENERATION_REFERENCE, isExpired, SCOPE, type ApiKeyRecord } from '../contract/api-keys.js';
import { generateApiKey, hashApiKey } from '../runtime/key-material.js';
import { resolveTenantAuth } from '../contract/auth.js';
import { badInput, conflict, notFound } from '../errors.js';
import type { Project } from '../project.js';
import type { TenantRecord } from '../state/registry.js';
import type { StateStore } from '../state/store.js';
import type { ApiKeyStore } from '../targets/target.js';
import { requireTenant } from './tenants.js';

/** A key as `keys list` shows it: everything but the key and its hash. */
export interface ApiKeyView {
  name: string;
  id: string;
  scopes: string[];
  createdAt: string;
  createdBy: string;
  /** As the runtime recorded it; null: never used (or no record of it). */
  lastUsedAt: string | null;
  expiresAt: string | null;
  status: 'active' | 'expired';
}

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** Ten years: a longer expiry is a typo for "never" (leave `--expires` out). */
const MAX_EXPIRY_MS = 3650 * UNIT_MS.d;

/** `--expires 90d` (minutes, hours or days) in milliseconds. */
export function parseExpiry(text: string): number {
  const match = /^([1-9]\d{0,6})(m|h|d)$/.exec(text);
  const ms = match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : Number.NaN;
  if (!(ms <= MAX_EXPIRY_MS)) {
    throw badInput(`--expires "${text}" is not a duration of up to 3650 days`, 'e.g. --expires 90d, 12h or 30m; leave it out for a key that does not expire');
  }
  return ms;
}

/** `--name`: the key's name among the tenant's keys. */
export function parseKeyName(text: string): string {
  if (!API_KEY_NAME.test(text)) throw badInput(`"${text}" is not a key name`, 'a name is 1–40 characters of a-z, 0-9 and "-", starting with a letter, e.g. erp or nightly-sync');
  return text;
}

/** `--scopes a,b` (and repeated): each a scope, in the order given, without repeats. */
export function parseScopes(values: readonly string[]): string[] {
  const scopes: string[] = [];
  for (const value of values) {
    for (const scope of value.split(',').map((s) => s.trim())) {
      if (!SCOPE.test(scope)) throw badInput(`--scopes: "${scope}" is not a scope`, 'a scope is 1–128 letters, digits or ":._/-", e.g. --scopes invoices:read,invoices:write');
      if (!scopes.includes(scope)) scopes.push(scope);
    }
  }
  return scopes;
}

export function apiKeyView(record: ApiKeyRecord, lastUsed: Record<string, string>, now: number): ApiKeyView {
  return {
    name: record.name,
    id: record.id,
    scopes: [...record.scopes],
    createdAt: record.createdAt,
    createdBy: record.createdBy,
    lastUsedAt: lastUsed[record.id] ?? null,
    expiresAt: record.expiresAt,
    status: isExpired(record, now) ? 'expired' : 'active',
  };
}

export interface KeysEnv {
  state: StateStore;
  project: Project;
  store: ApiKeyStore;
  now?: () => Date;
}

const nowOf = (env: KeysEnv): Date => env.now?.() ?? new Date();

export interface CreateApiKeyOptions {
  tenant: string;
  name: string;
  scopes: string[];
  /** Milliseconds from now; undefined: never expires. */
  expiresInMs?: number;
}

/** Creates a key. The returned `key` is the only copy there will ever be: print it once. */
export async function createApiKey(env: KeysEnv, options: CreateApiKeyOptions): Promise<{ key: string; tenant: string; view: ApiKeyView }> {
  const { state, store } = env;
  const info = { command: 'tenant keys create', action: 'tenant.keys.create', tenant: options.tenant, args: { name: options.name } };
  return state.mutate(info, async (tx) => {
    const record = await requireTenant(state, options.tenant);
    if (!resolveTenantAuth(env.project.config.auth, record.id).apiKeys) {
      throw badInput(`tenant "${record.id}" does not accept API keys (auth.apiKeys is false in sovereign.config.json)`, `set "apiKeys": true in auth (or in auth.tenants.${record.id}) to let machine clients call it with keys`);
    }
    const current = await store.records(record);
    if (current.some((k) => k.name === options.name)) {
      throw conflict(`tenant "${record.id}" already has an API key named "${options.name}"`, `choose another --name, or revoke it first: sovereign tenant keys revoke ${record.id} ${options.name}`);
    }
    const now = nowOf(env);
    const { key, id } = generateApiKey(record.stage);
    const created: ApiKeyRecord = {
      id,
      name: options.name,
      hash: hashApiKey(key),
      scopes: options.scopes,
      createdAt: now.toISOString(),
      createdBy: state.actor,
      expiresAt: options.expiresInMs === undefined ? null : new Date(now.getTime() + options.expiresInMs).toISOString(),
    };
    store.stageCreate(tx, record, created, current);
    tx.bumpGeneration(record.id, { references: [API_KEYS_GENERATION_REFERENCE] });
    Object.assign(tx.eventArgs, { id, scopes: created.scopes, expiresAt: created.expiresAt });
    return { key, tenant: record.id, view: apiKeyView(created, {}, now.getTime()) };
  });
}

/** Revokes the tenant's key named `name`: its record goes, runtimes refuse it within about a second. */
export async function revokeApiKey(env: KeysEnv, options: { tenant: string; name: string }): Promise<{ tenant: string; view: ApiKeyView }> {
  const { state, store } = env;
  const info = { command: 'tenant keys revoke', action: 'tenant.keys.revoke', tenant: options.tenant, args: { name: options.name } };
  return state.mutate(info, async (tx) => {
    const record = await requireTenant(state, options.tenant);
    const current = await store.records(record);
    const found = current.find((k) => k.name === options.name);
    if (!found) throw notFound(`tenant "${record.id}" has no API key named "${options.name}"`, `list its keys with \`sovereign tenant keys list ${record.id}\``);
    store.stageRevoke(tx, record, found, current);
    tx.bumpGeneration(record.id, { references: [API_KEYS_GENERATION_REFERENCE] });
    Object.assign(tx.eventArgs, { id: found.id, scopes: found.scopes, expiresAt: found.expiresAt });
    return { tenant: record.id, view: apiKeyView(found, {}, nowOf(env).getTime()) };
  });
}

/** The keys of a tenant the caller has read, with their last use, in stored order. */
export async function tenantKeyViews(store: ApiKeyStore, record: TenantRecord, now: Date): Promise<ApiKeyView[]> {
  const [records, lastUsed] = await Promise.all([store.records(record), store.lastUsed(record)]);
  return records.map((r) => apiKeyView(r, lastUsed, now.getTime()));
}

/** The tenant's keys with their last use. */
export async function listApiKeys(env: KeysEnv, tenant: string): Promise<{ tenant: string; keys: ApiKeyView[] }> {
  const record = await requireTenant(env.state, tenant);
  return { tenant: record.id, keys: await tenantKeyViews(env.store, record, nowOf(env)) };
}
