/**
 * The project lock: two mutating commands never interleave, a lock left by a process that died on
 * this host is taken over, and one held from another host is never taken (its process cannot be
 * checked from here).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { UserError } from '../src/errors.js';
import { acquireLock, type LockHolder } from '../src/targets/local/lock.js';
import { rejectionOf } from './helpers/errors.js';

const lockPath = () => join(mkdtempSync(join(tmpdir(), 'sovereign-lock-')), 'state', 'lock');
const holderIn = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
const writeHolder = (path: string, holder: LockHolder) => writeFileSync(path, JSON.stringify(holder));

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' });
  expect(child.status).toBe(0);
  return child.pid!;
}

const rejection = (promise: Promise<unknown>) => rejectionOf(promise, UserError);

describe('project lock', () => {
  it('is taken in a new folder, names its holder, and release removes it once', async () => {
    const path = lockPath();
    const before = Date.now();
    const lock = await acquireLock(path, { command: 'tenant create acme', waitMs: 0 });
    const holder = holderIn(path);
    expect(holder).toMatchObject({ pid: process.pid, host: hostname(), command: 'tenant create acme' });
    expect(Date.parse(holder.startedAt)).toBeGreaterThanOrEqual(before - 1000);
    lock.release();
    expect(existsSync(path)).toBe(false);
    // A second release does not remove a lock taken by the next command.
    const next = await acquireLock(path, { command: 'tenant deploy acme', waitMs: 0 });
    lock.release();
    expect(holderIn(path).command).toBe('tenant deploy acme');
    next.release();
    expect(existsSync(path)).toBe(false);
  });

  it('a live holder on this host makes the next command fail with exit 4 naming it', async () => {
    const path = lockPath();
    const first = await acquireLock(path, { command: 'tenant deploy acme', waitMs: 0 });
    const held = readFileSync(path, 'utf8');
    const started = Date.now();
    const error = await rejection(acquireLock(path, { command: 'tenant destroy acme', waitMs: 300 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(error.exitCode).toBe(4);
    expect(error.hint).toBe('wait for it to finish and try again; a lock left by a process that died is recovered automatically');
    expect(error.message).toBe(`the project is locked by \`tenant deploy acme\` (pid ${process.pid} on ${hostname()}, since ${holderIn(path).startedAt})`);
    expect(readFileSync(path, 'utf8')).toBe(held);
    first.release();
  });

  it('waits for a live holder that finishes within the wait', async () => {
    const path = lockPath();
    const first = await acquireLock(path, { command: 'first', waitMs: 0 });
    let secondTaken = false;
    const second = acquireLock(path, { command: 'second', waitMs: 10_000 }).then((lock) => {
      secondTaken = true;
      return lock;
    });
    // The second command is still waiting while the first holds the lock.
    await new Promise((resolve) => setImmediate(resolve));
    expect(secondTaken).toBe(false);
    expect(holderIn(path).command).toBe('first');
    first.release();
    const lock = await second;
    expect(holderIn(path).command).toBe('second');
    lock.release();
  });

  it('reads its wait from SOVEREIGN_LOCK_WAIT_MS when not given one', async () => {
    const path = lockPath();
    const first = await acquireLock(path, { command: 'first', waitMs: 0 });
    const previous = process.env.SOVEREIGN_LOCK_WAIT_MS;
    process.env.SOVEREIGN_LOCK_WAIT_MS = '50';
    try {
      const started = Date.now();
      expect((await rejection(acquireLock(path, { command: 'second' }))).exitCode).toBe(4);
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      if (previous === undefined) delete process.env.SOVEREIGN_LOCK_WAIT_MS;
      else process.env.SOVEREIGN_LOCK_WAIT_MS = previous;
      first.release();
    }
  });

  it('takes over a lock whose holder died on this host', async () => {
    const path = lockPath();
    await acquireLock(path, { command: 'setup', waitMs: 0 }); // creates the folder
    writeHolder(path, { pid: deadPid(), host: hostname(), command: 'tenant deploy acme', startedAt: '2026-01-01T00:00:00.000Z' });
    const lock = await acquireLock(path, { command: 'tenant destroy acme', waitMs: 0 });
    expect(holderIn(path)).toMatchObject({ pid: process.pid, command: 'tenant destroy acme' });
    lock.release();
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.stale-${process.pid}`)).toBe(false);
  });

  it('never takes over a lock held from another host, even by a pid that is dead here', async () => {
    const path = lockPath();
    (await acquireLock(path, { command: 'setup', waitMs: 0 })).release();
    const remote: LockHolder = { pid: deadPid(), host: `not-${hostname()}`, command: 'tenant deploy acme', startedAt: '2026-01-01T00:00:00.000Z' };
    writeHolder(path, remote);
    const held = readFileSync(path, 'utf8');
    const error = await rejection(acquireLock(path, { command: 'tenant destroy acme', waitMs: 100 }));
    expect(error.exitCode).toBe(4);
    expect(error.message).toContain(`(pid ${remote.pid} on not-${hostname()}, since 2026-01-01T00:00:00.000Z)`);
    expect(readFileSync(path, 'utf8')).toBe(held);
  });

  it('pid 1 on this host (always alive) is never taken over', async () => {
    const path = lockPath();
    (await acquireLock(path, { command: 'setup', waitMs: 0 })).release();
    writeHolder(path, { pid: 1, host: hostname(), command: 'init', startedAt: '2026-01-01T00:00:00.000Z' });
    expect((await rejection(acquireLock(path, { command: 'next', waitMs: 50 }))).exitCode).toBe(4);
    expect(holderIn(path).pid).toBe(1);
  });

  for (const [what, text] of [
    ['corrupt', '{"pid": 12'],
    ['empty (torn by a crash between create and write)', ''],
  ] as const) {
    it(`recovers a lock file that stays ${what}`, async () => {
      const path = lockPath();
      (await acquireLock(path, { command: 'setup', waitMs: 0 })).release();
      writeFileSync(path, text);
      const lock = await acquireLock(path, { command: 'next', waitMs: 0 });
      expect(holderIn(path)).toMatchObject({ pid: process.pid, command: 'next' });
      lock.release();
      expect(existsSync(path)).toBe(false);
    });
  }

  it('does not take a lock file that was still being written when first read', async () => {
    const path = lockPath();
    (await acquireLock(path, { command: 'setup', waitMs: 0 })).release();
    writeFileSync(path, '');
    const next = acquireLock(path, { command: 'next', waitMs: 200 });
    // acquireLock has read the empty file and is waiting: the writer finishes meanwhile.
    const live: LockHolder = { pid: process.pid, host: hostname(), command: 'tenant deploy acme', startedAt: new Date().toISOString() };
    writeHolder(path, live);
    const error = await rejection(next);
    expect(error.message).toContain('`tenant deploy acme`');
    expect(holderIn(path)).toEqual(live);
  });

  it('release leaves alone a lock that another command holds by then', async () => {
    // Same pid with a different start (the next command of a long-lived process), and another pid.
    for (const change of [{ startedAt: '2000-01-01T00:00:00.000Z' }, { pid: process.pid + 1 }]) {
      const path = lockPath();
      const lock = await acquireLock(path, { command: 'first', waitMs: 0 });
      const other = { ...holderIn(path), ...change };
      writeHolder(path, other);
      lock.release();
      expect(holderIn(path)).toEqual(other);
    }
  });
  it('a holder whose process may not be signalled (EPERM) is alive; one that is gone (ESRCH) is not', async () => {
    const path = lockPath();
    (await acquireLock(path, { command: 'setup', waitMs: 0 })).release();
    const other: LockHolder = { pid: 424242, host: hostname(), command: 'tenant deploy acme', startedAt: '2026-01-01T00:00:00.000Z' };
    for (const [code, alive] of [['EPERM', true], ['ESRCH', false]] as const) {
      writeHolder(path, other);
      const kill = vi.spyOn(process, 'kill').mockImplementation((pid) => {
        if (pid === other.pid) throw Object.assign(new Error(code), { code });
        return true;
      });
      try {
        const taking = acquireLock(path, { command: 'next', waitMs: 50 });
        if (alive) expect((await rejection(taking)).exitCode).toBe(4);
        else (await taking).release();
      } finally {
        kill.mockRestore();
      }
    }
  });

  it('reports a lock path it cannot create instead of waiting on it', async () => {
    const path = join(lockPath(), '..', 'x'.repeat(300));
    const error = await acquireLock(path, { command: 'next', waitMs: 1000 }).then(
      () => undefined,
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    expect(error?.code).toBe('ENAMETOOLONG');
  });

  it('a released handle never removes the lock again, even one that looks like its own', async () => {
    const path = lockPath();
    const lock = await acquireLock(path, { command: 'first', waitMs: 0 });
    const text = readFileSync(path, 'utf8');
    lock.release();
    writeFileSync(path, text);
    lock.release();
    expect(readFileSync(path, 'utf8')).toBe(text);
  });

  it('a waiting command notices a release within about 100 ms, however long it has waited', async () => {
    const path = lockPath();
    const first = await acquireLock(path, { command: 'first', waitMs: 0 });
    const second = acquireLock(path, { command: 'second', waitMs: 10_000 });
    // Waiting on purpose: the retry interval must stay capped after a long wait.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const released = Date.now();
    first.release();
    (await second).release();
    expect(Date.now() - released).toBeLessThan(400);
  });

  it('closes the lock file it writes', async () => {
    const path = lockPath();
    const open = () => readdirSync('/proc/self/fd').length;
    (await acquireLock(path, { command: 'setup', waitMs: 0 })).release();
    const before = open();
    for (let i = 0; i < 20; i += 1) (await acquireLock(path, { command: 'again', waitMs: 0 })).release();
    expect(open()).toBe(before);
  });
});
