/**
 * The local target's API key records: `.sovereign/data/<tenant>/api-keys.json` (an
 * `ApiKeysFile`), written only through the mutation's journaled commit (`tx.write`), so a key file
 * never changes without its audit event nor the reverse. The runtime of `sovereign dev` reads it
 * (`SOVEREIGN_API_KEY_SOURCE=file:<data folder>`) and records last use in `api-keys-used.json`
 * beside it.
 *
 * Both files are in the tenant's data folder, the one folder its process may write: its own code
 * can add a record there (a key for its own tenant, whose routes it serves anyway) or put back a
 * revoked one. No other tenant's process can write it. The README ("API keys") says what each
 * target protects against.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_KEYS_FILE, API_KEYS_USED_FILE, parseApiKeysFile, type ApiKeyRecord, type ApiKeysFile } from '../../contract/api-keys.js';
import { ExitCode, UserError } from '../../errors.js';
import type { Project } from '../../project.js';
import type { ApiKeyStore } from '../target.js';

/** A key id as `generateApiKey` makes them. */
const KEY_ID = /^key_[0-9a-f]{16}$/;

function serialize(keys: ApiKeyRecord[]): string {
  const file: ApiKeysFile = { version: 1, keys };
  return `${JSON.stringify(file, null, 2)}\n`;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Last use as the runtime wrote it: only well-formed `{ "<key id>": "<iso time>" }` entries count. */
export function parseLastUsed(text: string | undefined): Record<string, string> {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {};
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  const out: Record<string, string> = {};
  for (const [id, at] of Object.entries(value as Record<string, unknown>)) {
    if (KEY_ID.test(id) && typeof at === 'string' && at.length <= 40 && !Number.isNaN(Date.parse(at))) out[id] = new Date(Date.parse(at)).toISOString();
  }
  return out;
}

export function localApiKeyStore(project: Project): ApiKeyStore {
  const dir = (tenant: string) => join(project.paths.data, tenant);
  const keysPath = (tenant: string) => join(dir(tenant), API_KEYS_FILE);
  return {
    async records(tenant) {
      const path = keysPath(tenant.id);
      const text = readText(path);
      if (text === undefined) return [];
      try {
        return parseApiKeysFile(text).keys;
      } catch (error) {
        throw new UserError(`${path} is not a keys file (${error instanceof Error ? error.message : String(error)})`, {
          exitCode: ExitCode.failed,
          hint: `it is written only by \`sovereign tenant keys\`; restore it from a backup, or move it away to start ${tenant.id} with no keys`,
        });
      }
    },
    async lastUsed(tenant) {
      try {
        return parseLastUsed(readText(join(dir(tenant.id), API_KEYS_USED_FILE)));
      } catch {
        // Unreadable (a folder in its place, no permission): no record of use.
        return {};
      }
    },
    stageCreate(tx, tenant, record, current) {
      tx.write(keysPath(tenant.id), serialize([...current, record]));
    },
    stageRevoke(tx, tenant, record, current) {
      tx.write(keysPath(tenant.id), serialize(current.filter((k) => k.id !== record.id)));
    },
  };
}
