/**
 * `.sovereign/dev.json`: where a running `sovereign dev` is. The dev server writes it (atomically,
 * on every change) and removes it on shutdown; other commands read it here to find the gateway.
 */
import { readFileSync } from 'node:fs';

/** `.sovereign/dev.json` while `sovereign dev` runs. */
export interface DevStateFile {
  /** The dev server's own pid. */
  pid: number;
  /** The gateway's port: `http://localhost:<port>/t/<tenant>/…`. */
  port: number;
  startedAt: string;
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
