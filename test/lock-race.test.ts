/**
 * Recovering a dead holder's lock while other processes race for it. Another process's moves are
 * played at the one moment they matter: just before this process renames the dead lock aside.
 */
import * as fs from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UserError } from '../src/errors.js';
import { acquireLock, type LockHolder } from '../src/targets/local/lock.js';
import { rejectionOf } from './helpers/errors.js';

/** Run once, right before the next renameSync / linkSync, as if another process acted in between. */
let beforeRename: ((from: string, to: string) => void) | undefined;
let beforeLink: ((existing: string, link: string) => void) | undefined;

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  return {
    ...real,
    renameSync: (from: fs.PathLike, to: fs.PathLike) => {
      const hook = beforeRename;
      beforeRename = undefined;
      hook?.(String(from), String(to));
      real.renameSync(from, to);
    },
    linkSync: (existing: fs.PathLike, link: fs.PathLike) => {
      const hook = beforeLink;
      beforeLink = undefined;
      hook?.(String(existing), String(link));
      real.linkSync(existing, link);
    },
  };
});

afterEach(() => {
  beforeRename = undefined;
  beforeLink = undefined;
  vi.restoreAllMocks();
});

const holder = (extra: Partial<LockHolder>): LockHolder => ({ pid: process.pid, host: hostname(), command: 'tenant deploy acme', startedAt: '2026-01-01T00:00:00.000Z', ...extra });

async function deadLock(): Promise<{ path: string; dead: LockHolder }> {
  const path = join(fs.mkdtempSync(join(tmpdir(), 'sovereign-lock-race-')), 'lock');
  (await acquireLock(path, { command: 'setup', waitMs: 0 })).release();
  const child = (await import('node:child_process')).spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const dead = holder({ pid: child.pid!, command: 'died' });
  fs.writeFileSync(path, JSON.stringify(dead));
  return { path, dead };
}

describe('recovering a dead holder\'s lock', () => {
  it('puts back a live lock that a new process with the dead pid took meanwhile, and waits for it', async () => {
    const { path, dead } = await deadLock();
    const newer = holder({ ...dead, startedAt: '2026-02-02T00:00:00.000Z', command: 'recovered first' });
    // The dead pid is reused by the process that recovers the lock first.
    let reused = false;
    const kill = process.kill.bind(process);
    vi.spyOn(process, 'kill').mockImplementation((pid, signal) => {
      if (pid === dead.pid && reused) return true;
      return kill(pid, signal);
    });
    beforeRename = (from) => {
      fs.writeFileSync(from, JSON.stringify(newer));
      reused = true;
    };
    const error = await rejectionOf(acquireLock(path, { command: 'late', waitMs: 100 }), UserError);
    expect(error.message).toContain('`recovered first`');
    expect(JSON.parse(fs.readFileSync(path, 'utf8'))).toEqual(newer);
    expect(fs.existsSync(`${path}.stale-${process.pid}`)).toBe(false);
  });

  it('puts back a live lock of another pid that started at the same moment', async () => {
    const { path, dead } = await deadLock();
    const newer = holder({ ...dead, pid: process.pid, command: 'recovered first' });
    beforeRename = (from) => fs.writeFileSync(from, JSON.stringify(newer));
    const error = await rejectionOf(acquireLock(path, { command: 'late', waitMs: 100 }), UserError);
    expect(error.message).toContain('`recovered first`');
    expect(JSON.parse(fs.readFileSync(path, 'utf8'))).toEqual(newer);
  });

  it('leaves a third process\'s lock in place when the moved one cannot be put back', async () => {
    const { path, dead } = await deadLock();
    const newer = holder({ ...dead, pid: process.pid, startedAt: '2026-02-02T00:00:00.000Z', command: 'recovered first' });
    const third = holder({ ...dead, pid: process.pid, startedAt: '2026-03-03T00:00:00.000Z', command: 'third' });
    beforeRename = (from) => fs.writeFileSync(from, JSON.stringify(newer));
    beforeLink = (_existing, link) => fs.writeFileSync(link, JSON.stringify(third));
    const error = await rejectionOf(acquireLock(path, { command: 'late', waitMs: 100 }), UserError);
    expect(error.message).toContain('`third`');
    expect(JSON.parse(fs.readFileSync(path, 'utf8'))).toEqual(third);
    expect(fs.existsSync(`${path}.stale-${process.pid}`)).toBe(false);
  });

  it('takes the lock when the dead holder\'s file vanished before it could be moved', async () => {
    const { path } = await deadLock();
    beforeRename = (from) => fs.unlinkSync(from);
    const lock = await acquireLock(path, { command: 'late', waitMs: 100 });
    expect(JSON.parse(fs.readFileSync(path, 'utf8'))).toMatchObject({ command: 'late' });
    lock.release();
  });
});
