/**
 * The local target's API key records: `.sovereign/data/<tenant>/api-keys.json` (an
 * `ApiKeysFile`), written only through the mutation's journaled commit (`tx.write`), so a key file
 * never changes without its audit event nor the reverse. The runtime of `sovereign dev` reads it
 * (`SOVEREIGN_API_KEY_SOURCE=file:<data folder>`) and records last use in `api-keys-used.json`
 * beside it.
 *
 * Both files are in the tenant's data folder, the one folder its process may write: its own code
 * can add a record there (a key for its own tenant, whose routes it serves anyway) or put back a
 * revoked one. No other tenant's process can write it. It can also put a symbolic link, a FIFO or
 * a huge file in their place, so the CLI reads them without following links, without blocking,
 * within a size limit, and its errors never quote what it read (a link to another tenant's key
 * would otherwise end up in an error line and its audit event). The README ("API keys") says
 * what each target protects against.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { API_KEYS_FILE, API_KEYS_USED_FILE, parseApiKeysFile, type ApiKeyRecord, type ApiKeysFile } from '../../contract/api-keys.js';
import { ExitCode, UserError } from '../../errors.js';
import type { Project } from '../../project.js';
import type { ApiKeyStore } from '../target.js';

/** A key id as `generateApiKey` (runtime/key-material.ts) makes them. */
const KEY_ID = /^key_[0-9a-f]{16}$/;

function serialize(keys: ApiKeyRecord[]): string {
  const file: ApiKeysFile = { version: 1, keys };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** The most a keys file may hold (about 10,000 keys) and the most a record of use may. */
const KEYS_FILE_LIMIT = 4 * 1024 * 1024;
const USED_FILE_LIMIT = 1024 * 1024;

/**
 * A file of the tenant's data folder, which its code can replace: read without following a
 * symbolic link (one pointing at another tenant's key would otherwise be read, and a parse error
 * quote it), without blocking on a FIFO, up to `limit` bytes. Undefined when it does not exist.
 */
function readTenantFile(path: string, limit: number): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new Error(code === 'ELOOP' ? 'it is a symbolic link' : `it cannot be opened (${code ?? 'error'})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error('it is not a regular file');
    if (stat.size > limit) throw new Error(`it is larger than ${limit} bytes`);
    const data = Buffer.alloc(stat.size);
    let read = 0;
    while (read < data.length) {
      const n = readSync(fd, data, read, data.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return data.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
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
      try {
        const text = readTenantFile(path, KEYS_FILE_LIMIT);
        return text === undefined ? [] : parseApiKeysFile(text).keys;
      } catch (error) {
        // JSON.parse quotes the text it fails on: say what is wrong, never what is there.
        const why = error instanceof SyntaxError ? 'it is not JSON' : error instanceof Error ? error.message : String(error);
        throw new UserError(`${path} is not a keys file (${why})`, {
          exitCode: ExitCode.failed,
          hint: `it is written only by \`sovereign tenant keys\`; restore it from a backup, or move it away to start ${tenant.id} with no keys`,
        });
      }
    },
    async lastUsed(tenant) {
      try {
        return parseLastUsed(readTenantFile(join(dir(tenant.id), API_KEYS_USED_FILE), USED_FILE_LIMIT));
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
