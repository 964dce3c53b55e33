import { closeSync, existsSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync, fsyncSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { hostname } from 'node:os';
import { conflict } from '../../errors.js';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
}

export interface LockOptions {
  command: string;
  /** How long to wait for a live holder before giving up (default 3 s, `SOVEREIGN_LOCK_WAIT_MS`). */
  waitMs?: number;
}

export interface ProjectLock {
  release(): void;
}

function readHolder(path: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

function isAlive(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true; // cannot tell: treat as alive
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryCreate(path: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  writeSync(fd, JSON.stringify(holder));
  fsyncSync(fd);
  closeSync(fd);
  return true;
}

/**
 * Takes away a lock whose holder died. The lock file is renamed aside first; if what was moved
 * turns out to be a newer, live holder's lock (another process recovered it meanwhile), it is
 * linked back, which fails harmlessly if yet another lock exists by then.
 */
function recoverStale(path: string, stale: LockHolder): void {
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch {
    return;
  }
  const moved = readHolder(aside);
  if (moved && (moved.pid !== stale.pid || moved.startedAt !== stale.startedAt)) {
    try {
      linkSync(aside, path);
    } catch {
      // a third process holds the lock now; the one we moved aside is gone for good
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // already removed
  }
}

/**
 * Removes lock copies that a recovering process moved aside and died before deleting
 * (`<lock>.stale-<pid>` of a pid that is gone). Called with the lock held, so no live process is
 * between its rename and its unlink of them — except one still running, whose copy is left alone.
 */
function removeAbandonedAsides(path: string): void {
  const prefix = `${basename(path)}.stale-`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive({ pid, host: hostname(), command: '', startedAt: '' })) continue;
    try {
      unlinkSync(join(dirname(path), name));
    } catch {
      // removed meanwhile
    }
  }
}

/** Who holds the lock at `path`, as `sovereign doctor` reports it (read only: nothing is recovered). */
export type LockInspection =
  | { state: 'free' }
  | { state: 'held' | 'stale'; holder: LockHolder }
  /** Held from another host: whether its holder runs cannot be told from here. */
  | { state: 'foreign'; holder: LockHolder }
  /** Present but unreadable: being written right now, or torn by a crash. */
  | { state: 'unreadable' };

export function inspectLock(path: string): LockInspection {
  if (!existsSync(path)) return { state: 'free' };
  const holder = readHolder(path);
  if (!holder || typeof holder.pid !== 'number') return { state: 'unreadable' };
  if (holder.host !== hostname()) return { state: 'foreign', holder };
  return { state: isAlive(holder) ? 'held' : 'stale', holder };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The project lock: two mutating commands never interleave. The second waits briefly, then fails
 * with exit 4 naming the holder; a lock left by a dead process is recovered.
 */
export async function acquireLock(path: string, options: LockOptions): Promise<ProjectLock> {
  mkdirSync(dirname(path), { recursive: true });
  const holder: LockHolder = { pid: process.pid, host: hostname(), command: options.command, startedAt: new Date().toISOString() };
  const waitMs = options.waitMs ?? Number(process.env.SOVEREIGN_LOCK_WAIT_MS ?? 3000);
  const deadline = Date.now() + waitMs;
  let delay = 10;
  for (;;) {
    if (tryCreate(path, holder)) break;
    const current = readHolder(path);
    if (current && !isAlive(current)) {
      recoverStale(path, current);
      continue;
    }
    if (!current) {
      // being written right now, or torn by a crash between create and write
      await sleep(delay);
      const again = readHolder(path);
      // Stryker disable next-line ObjectLiteral,UnaryOperator,StringLiteral: the marker only has to differ from every real holder (pid >= 1, a start time), and any of these variants does
      if (!again) recoverStale(path, { pid: -1, host: hostname(), command: '', startedAt: '' });
      continue;
    }
    if (Date.now() >= deadline) {
      throw conflict(
        `the project is locked by \`${current.command}\` (pid ${current.pid} on ${current.host}, since ${current.startedAt})`,
        'wait for it to finish and try again; a lock left by a process that died is recovered automatically',
      );
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
  removeAbandonedAsides(path);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      const current = readHolder(path);
      if (current && current.pid === holder.pid && current.startedAt === holder.startedAt) unlinkSync(path);
    },
  };
}
