/**
 * A preload for the CLI child (`NODE_OPTIONS=--require <this file>`) that numbers every mutating
 * node:fs call whose path lies inside the project's state folder and can SIGKILL the process at
 * one of them.
 *
 * Environment:
 * - `SOVEREIGN_CRASH_ROOT`   the state folder watched (default `<cwd>/.sovereign`)
 * - `SOVEREIGN_CRASH_TRACE`  a file that gets one JSON line `{n, call, path}` per counted call
 * - `SOVEREIGN_CRASH_AT=N`   kill the process at the N-th counted call (1-based)
 * - `SOVEREIGN_CRASH_WHEN`   `before` (default: the call does not happen), `after` (it did), or
 *                            `torn`: a writeSync writes the first half of its bytes, then the
 *                            process is killed (a write cut short, as by a power loss)
 *
 * Counted: writeFileSync, appendFileSync, writeSync, writevSync, renameSync, fsyncSync,
 * fdatasyncSync, ftruncateSync, truncateSync, unlinkSync, rmSync, rmdirSync, mkdirSync,
 * mkdtempSync, openSync with a write/append/create flag, copyFileSync, linkSync, symlinkSync,
 * chmodSync, fchmodSync, and the callback and promise forms of the path-based ones. Calls on a
 * file descriptor are attributed to the path it was opened with (a directory opened read-only for
 * its fsync included). Calls outside the state folder (scratch folders in the OS temp dir, the
 * trace file) are not counted. Calls made by another counted call are counted too (node 20's
 * rmSync removes a folder's files with unlinkSync), so a crash half-way through one is a point.
 */
'use strict';

const fs = require('node:fs');
const fsp = require('node:fs/promises');
const path = require('node:path');
const { syncBuiltinESMExports } = require('node:module');

const original = {
  appendFileSync: fs.appendFileSync,
  realpathSync: fs.realpathSync,
};

const rootInput = path.resolve(process.env.SOVEREIGN_CRASH_ROOT || path.join(process.cwd(), '.sovereign'));
const roots = new Set([rootInput]);
try {
  roots.add(original.realpathSync(path.dirname(rootInput)) + path.sep + path.basename(rootInput));
} catch {
  // The project folder does not exist yet.
}
const tracePath = process.env.SOVEREIGN_CRASH_TRACE;
const crashAt = process.env.SOVEREIGN_CRASH_AT ? Number(process.env.SOVEREIGN_CRASH_AT) : undefined;
const crashAfter = process.env.SOVEREIGN_CRASH_WHEN === 'after';
const crashTorn = process.env.SOVEREIGN_CRASH_WHEN === 'torn';

let counter = 0;
/** fd → path, for every fd opened inside the state folder. */
const fds = new Map();

function toPath(p) {
  if (typeof p === 'string') return p;
  if (Buffer.isBuffer(p)) return p.toString();
  if (p instanceof URL) return require('node:url').fileURLToPath(p);
  return undefined;
}

function inside(p) {
  const text = toPath(p);
  if (text === undefined) return undefined;
  const abs = path.resolve(text);
  for (const root of roots) {
    if (abs === root || abs.startsWith(root + path.sep)) return abs;
  }
  return undefined;
}

function kill() {
  process.kill(process.pid, 'SIGKILL');
}

/**
 * Numbers a counted call and returns a function to run after it; kills the process before the
 * call when it is the chosen one and `before` is asked.
 */
function point(call, abs) {
  counter += 1;
  const n = counter;
  if (tracePath) original.appendFileSync(tracePath, `${JSON.stringify({ n, call, path: abs })}\n`);
  if (crashAt === n && !crashAfter && !crashTorn) kill();
  return () => {
    if (crashAt === n && crashAfter) kill();
  };
}

const WRITE_FLAGS = fs.constants.O_WRONLY | fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_APPEND | fs.constants.O_TRUNC;

function writesFlag(flags) {
  if (flags === undefined || flags === null) return false;
  if (typeof flags === 'number') return (flags & WRITE_FLAGS) !== 0;
  return /[wa+]/.test(String(flags));
}

/** Wraps a sync function whose first argument is a path (or two paths, for renames and copies). */
function wrapPathSync(name, { twoPaths = false, counts = () => true } = {}) {
  const fn = fs[name];
  if (typeof fn !== 'function') return;
  fs[name] = function (...args) {
    const abs = inside(args[0]) ?? (twoPaths ? inside(args[1]) : undefined);
    if (abs === undefined || !counts(args)) return fn.apply(this, args);
    const done = point(name, twoPaths && inside(args[1]) ? `${abs} -> ${inside(args[1])}` : abs);
    try {
      return fn.apply(this, args);
    } finally {
      done();
    }
  };
}

/** Wraps a sync function whose first argument is a file descriptor. */
function wrapFdSync(name) {
  const fn = fs[name];
  if (typeof fn !== 'function') return;
  fs[name] = function (...args) {
    const abs = fds.get(args[0]);
    if (abs === undefined) return fn.apply(this, args);
    const done = point(name, abs);
    try {
      return fn.apply(this, args);
    } finally {
      done();
    }
  };
}

for (const name of ['writeFileSync', 'appendFileSync']) {
  // A file descriptor as the target is attributed like the fd calls.
  const fn = fs[name];
  fs[name] = function (...args) {
    const abs = typeof args[0] === 'number' ? fds.get(args[0]) : inside(args[0]);
    if (abs === undefined) return fn.apply(this, args);
    const done = point(name, abs);
    try {
      return fn.apply(this, args);
    } finally {
      done();
    }
  };
}
for (const name of ['unlinkSync', 'rmSync', 'rmdirSync', 'mkdirSync', 'mkdtempSync', 'truncateSync', 'chmodSync']) wrapPathSync(name);
for (const name of ['renameSync', 'copyFileSync', 'linkSync', 'cpSync']) wrapPathSync(name, { twoPaths: true });
wrapPathSync('symlinkSync', { twoPaths: true });
for (const name of ['writeSync', 'writevSync', 'fsyncSync', 'fdatasyncSync', 'ftruncateSync', 'fchmodSync']) wrapFdSync(name);

if (crashTorn) {
  const writeSync = fs.writeSync;
  fs.writeSync = function (fd, data, ...rest) {
    if (counter + 1 !== crashAt || !fds.has(fd)) return writeSync.call(this, fd, data, ...rest);
    // The counted wrapper numbers this call; write half of it instead, then die.
    const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const offset = typeof data === 'string' ? 0 : (rest[0] ?? 0);
    const length = typeof data === 'string' ? bytes.length : (rest[1] ?? bytes.length - offset);
    writeSync.call(this, fd, bytes, offset, Math.floor(length / 2));
    kill();
  };
}

{
  const openSync = fs.openSync;
  fs.openSync = function (...args) {
    const abs = inside(args[0]);
    if (abs === undefined) return openSync.apply(this, args);
    let fd;
    if (writesFlag(args[1])) {
      const done = point('openSync', abs);
      try {
        fd = openSync.apply(this, args);
      } finally {
        done();
      }
    } else {
      fd = openSync.apply(this, args);
    }
    fds.set(fd, abs);
    return fd;
  };
  const closeSync = fs.closeSync;
  fs.closeSync = function (fd, ...rest) {
    fds.delete(fd);
    return closeSync.call(this, fd, ...rest);
  };
}

/** Callback forms: the kill-after runs when the callback is called. */
function wrapCallback(name, { twoPaths = false, counts = () => true } = {}) {
  const fn = fs[name];
  if (typeof fn !== 'function') return;
  fs[name] = function (...args) {
    const abs = inside(args[0]) ?? (twoPaths ? inside(args[1]) : undefined);
    const cb = args[args.length - 1];
    if (abs === undefined || typeof cb !== 'function' || !counts(args)) return fn.apply(this, args);
    const done = point(name, abs);
    args[args.length - 1] = function (...results) {
      done();
      return cb.apply(this, results);
    };
    return fn.apply(this, args);
  };
}
for (const name of ['writeFile', 'appendFile', 'unlink', 'rm', 'rmdir', 'mkdir', 'mkdtemp', 'truncate', 'chmod']) wrapCallback(name);
for (const name of ['rename', 'copyFile', 'link', 'cp']) wrapCallback(name, { twoPaths: true });
wrapCallback('open', { counts: (args) => typeof args[1] !== 'function' && writesFlag(args[1]) });

/** Promise forms (`node:fs/promises`, the same object as `fs.promises`). */
function wrapPromise(name, { twoPaths = false, counts = () => true } = {}) {
  const fn = fsp[name];
  if (typeof fn !== 'function') return;
  fsp[name] = async function (...args) {
    const abs = inside(args[0]) ?? (twoPaths ? inside(args[1]) : undefined);
    if (abs === undefined || !counts(args)) return fn.apply(this, args);
    const done = point(`promises.${name}`, abs);
    try {
      return await fn.apply(this, args);
    } finally {
      done();
    }
  };
}
for (const name of ['writeFile', 'appendFile', 'unlink', 'rm', 'rmdir', 'mkdir', 'mkdtemp', 'truncate', 'chmod']) wrapPromise(name);
for (const name of ['rename', 'copyFile', 'link', 'cp']) wrapPromise(name, { twoPaths: true });
wrapPromise('open', { counts: (args) => writesFlag(args[1]) });

// Streams opened for writing (createWriteStream opens through fs.open, counted above when the
// flag writes); their writes go through the fd and are not numbered one by one.

syncBuiltinESMExports();
