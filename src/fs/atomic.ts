import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

export interface AtomicWriteOptions {
  /** File mode of the new file, e.g. 0o600 for keys. */
  mode?: number;
}

/** Path of a temporary sibling; the `.tmp-` prefix lets recovery find leftovers. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.tmp-${basename(path)}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Writes `data` to a temporary file, fsyncs it and returns its path (for staged commits). */
export function writeTempFile(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): string {
  mkdirSync(dirname(path), { recursive: true });
  const temp = tempPathFor(path);
  const fd = openSync(temp, 'wx', options.mode ?? 0o644);
  try {
    const buffer = typeof data === 'string' ? Buffer.from(data) : data;
    let offset = 0;
    while (offset < buffer.length) offset += writeSync(fd, buffer, offset, buffer.length - offset);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temp);
    throw error;
  }
  closeSync(fd);
  return temp;
}

/** Fsyncs a directory so a rename inside it survives a crash. */
export function fsyncDirectory(path: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes a file atomically: temp file, fsync, rename, fsync of the directory. */
export function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const temp = writeTempFile(path, data, options);
  try {
    renameSync(temp, path);
  } catch (error) {
    unlinkSync(temp);
    throw error;
  }
  fsyncDirectory(dirname(path));
}

/**
 * Creates `path` with `data` only if it does not exist yet, whole or not at all: written under a
 * temporary name and linked into place. False when another writer created it first (its file is
 * kept, so two first users of a key end up sharing one).
 */
export function createFileExclusive(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): boolean {
  const temp = writeTempFile(path, data, options);
  try {
    linkSync(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temp);
  }
  fsyncDirectory(dirname(path));
  return true;
}
