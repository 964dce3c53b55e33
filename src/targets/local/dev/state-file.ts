/**
 * `.sovereign/dev.json`: where a running `sovereign dev` is. The dev server writes it (atomically,
 * on every change) and removes it on shutdown; other commands read it here to find the gateway.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DEV_ISSUER_PATH } from '../../../contract/auth.js';

/** `.sovereign/dev.json` while `sovereign dev` runs. */
export interface DevStateFile {
  /** The dev server's own pid. */
  pid: number;
  /** The gateway's port: `http://localhost:<port>/t/<tenant>/…`. */
  port: number;
  startedAt: string;
  /**
   * The credential of dev's own endpoints (`/_sovereign/dev/*`), sent as `Authorization: Bearer`.
   * The file is mode 0600 and outside every tenant process's permitted reads.
   */
  token?: string;
  /**
   * The console's token (`/_sovereign/console?token=…`, see `console/guard.ts`): read-only pages,
   * apart from {@link DevStateFile.token} so the URL `dev` prints opens nothing else.
   */
  consoleToken?: string;
  /**
   * Each tenant's function: `pids` of its execution environments now (none while scaled to zero),
   * `pid` the oldest of them.
   */
  tenants: Record<string, { pid: number | null; pids: number[]; status: string; artifact: string | null }>;
}

/** The file as written, or undefined when it is missing or not JSON. */
export function readDevState(file: string): DevStateFile | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DevStateFile;
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists (one of another user counts). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The state of a dev server that is running now: the file well-formed and its process alive. */
export function runningDevState(file: string): DevStateFile | undefined {
  const state = readDevState(file);
  if (state === undefined || typeof state.pid !== 'number' || typeof state.port !== 'number' || !isAlive(state.pid)) return undefined;
  return state;
}

/** The headers that let a reader of `dev.json` call dev's own endpoints. */
export function devEndpointHeaders(state: DevStateFile): Record<string, string> {
  return typeof state.token === 'string' ? { authorization: `Bearer ${state.token}` } : {};
}

/** dev's own endpoints: a caller needs the token of `dev.json`. The dev issuer's documents are public by design (JWKS). */
const DEV_ENDPOINTS = '/_sovereign/dev/';

/**
 * Why a request for one of dev's own endpoints is refused, or undefined when it may pass. Every
 * path under `/_sovereign/dev/` but the dev issuer's goes through here, so an endpoint added later
 * is covered too. The comparison runs over SHA-256 digests in constant time; an empty `token`
 * refuses everyone.
 */
export function devEndpointRefusal(path: string, authorization: string | undefined, token: string): string | undefined {
  if (!path.startsWith(DEV_ENDPOINTS) || path.startsWith(`${DEV_ISSUER_PATH}/`)) return undefined;
  const presented = /^Bearer ([A-Za-z0-9_-]{1,256})$/.exec(authorization ?? '')?.[1];
  if (presented === undefined || token === '') return 'dev\'s own endpoints need `Authorization: Bearer <token>` with the token of .sovereign/dev.json';
  return sameToken(presented, token) ? undefined : 'the bearer token is not this dev server\'s (.sovereign/dev.json has it)';
}

/** Whether a presented credential is `token`: compared over SHA-256 digests in constant time; an empty one never matches. */
export function sameToken(presented: string, token: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return presented !== '' && token !== '' && timingSafeEqual(digest(presented), digest(token));
}
