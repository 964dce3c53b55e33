/**
 * The container of an audit bundle: a POSIX ustar archive in one gzip member, written in a single
 * canonical form so that every byte of the file is accounted for.
 *
 * - Tar headers carry only the name and the size; mode 0644, uid/gid 0, mtime 0, empty user and
 *   group names. The reader rebuilds each header from (name, size) and requires the bytes to be
 *   identical, requires zero padding and exactly two zero blocks at the end, and nothing after.
 * - The gzip header is normalized to `1f 8b 08 00 00000000 00 03` (no name, no time, OS unix); the
 *   reader requires exactly that header and checks that the file's last eight bytes are the CRC-32
 *   and length of everything it decompressed, so appended or trailing bytes are refused.
 *
 * Any archive tool reads these files (`tar xzf`); the writer is small so that the reader can hold
 * every header byte to the canonical form without depending on a library's header layout.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, fstatSync, openSync, readSync } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip, crc32 } from 'node:zlib';

export const BLOCK = 512;
/** The gzip header every bundle starts with. */
export const GZIP_HEADER = Buffer.from('1f8b0800000000000003', 'hex');
const MAX_SIZE = 8 ** 11 - 1;

/** One file of the archive, read from disk when the archive is written. */
export interface ArchiveEntry {
  name: string;
  /** File to copy into the archive. */
  file: string;
  size: number;
}

/** The archive is not in the canonical form, or is damaged. */
export class ArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveError';
  }
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** The canonical ustar header of a regular file. */
export function tarHeader(name: string, size: number): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length === 0 || nameBytes.length > 100) throw new ArchiveError(`archive entry name "${name}" must be 1–100 bytes`);
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_SIZE) throw new ArchiveError(`archive entry "${name}" has an unsupported size ${size}`);
  const header = Buffer.alloc(BLOCK, 0);
  nameBytes.copy(header, 0);
  header.write(octal(0o644, 8), 100, 'ascii');
  header.write(octal(0, 8), 108, 'ascii');
  header.write(octal(0, 8), 116, 'ascii');
  header.write(octal(size, 12), 124, 'ascii');
  header.write(octal(0, 12), 136, 'ascii');
  header.write('        ', 148, 'ascii');
  header.write('0', 156, 'ascii');
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  header.write(octal(0, 8), 329, 'ascii');
  header.write(octal(0, 8), 337, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return header;
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** Sets the gzip header's XFL and OS bytes to fixed values (they depend on level and platform). */
function normalizeGzipHeader(): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (seen < 10) {
        const copy = Buffer.from(chunk);
        for (let i = 0; i < copy.length && seen + i < 10; i += 1) {
          const at = seen + i;
          if (at === 8) copy[i] = 0x00;
          if (at === 9) copy[i] = 0x03;
        }
        seen += chunk.length;
        done(null, copy);
        return;
      }
      done(null, chunk);
    },
  });
}

async function* tarStream(entries: ArchiveEntry[]): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    yield tarHeader(entry.name, entry.size);
    let copied = 0;
    for await (const chunk of createReadStream(entry.file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      copied += chunk.length;
      yield chunk;
    }
    if (copied !== entry.size) throw new ArchiveError(`${entry.file} changed size while it was archived`);
    const pad = padding(entry.size);
    if (pad > 0) yield Buffer.alloc(pad, 0);
  }
  yield Buffer.alloc(BLOCK * 2, 0);
}

/** Writes the entries, in the given order, as a canonical .tar.gz at `out` (not atomically); returns its SHA-256 and size. */
export async function writeTarGz(out: string, entries: ArchiveEntry[], options: { level?: number } = {}): Promise<{ sha256: string; size: number }> {
  const seen = new Set<string>();
  for (const entry of entries) {
    if (seen.has(entry.name)) throw new ArchiveError(`archive entry "${entry.name}" appears twice`);
    seen.add(entry.name);
  }
  const hash = createHash('sha256');
  let size = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(tarStream(entries), createGzip({ level: options.level ?? 6 }), normalizeGzipHeader(), hashing, createWriteStream(out, { flags: 'wx', mode: 0o644 }));
  return { sha256: hash.digest('hex'), size };
}

/** What the reader does with each entry. */
export interface EntryHandler {
  start(name: string, size: number, index: number): void;
  data(chunk: Buffer): void;
  end(): void | Promise<void>;
}

function isZero(buffer: Buffer): boolean {
  for (const byte of buffer) if (byte !== 0) return false;
  return true;
}

function readName(header: Buffer): string {
  const end = header.indexOf(0);
  return header.subarray(0, end < 0 || end > 100 ? 100 : end).toString('utf8');
}

function readSize(header: Buffer, name: string): number {
  const text = header.subarray(124, 135).toString('ascii');
  if (!/^[0-7]{11}$/.test(text)) throw new ArchiveError(`tar header of "${name}" has a malformed size`);
  return parseInt(text, 8);
}

/**
 * Reads a bundle file, checking the gzip framing and every tar byte against the canonical form,
 * and hands each entry's bytes to `handler` as they stream by.
 */
export async function readTarGz(path: string, handler: EntryHandler): Promise<{ entries: number; tarBytes: number }> {
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(10);
  const trailer = Buffer.alloc(8);
  let fileSize: number;
  try {
    fileSize = fstatSync(fd).size;
    if (fileSize < 18) throw new ArchiveError('the file is too short to be a bundle');
    readSync(fd, head, 0, 10, 0);
    readSync(fd, trailer, 0, 8, fileSize - 8);
  } finally {
    closeSync(fd);
  }
  if (head[0] !== 0x1f || head[1] !== 0x8b) throw new ArchiveError('the file is not gzip-compressed');
  if (!head.equals(GZIP_HEADER)) throw new ArchiveError(`the gzip header was altered (expected ${GZIP_HEADER.toString('hex')}, found ${head.toString('hex')})`);

  let crc = 0;
  let total = 0;
  let pending = Buffer.alloc(0);
  let state: 'header' | 'data' | 'padding' | 'end' | 'done' = 'header';
  let remaining = 0;
  let padRemaining = 0;
  let zeroBlocks = 0;
  let index = 0;
  let current = '';

  const source = createReadStream(path).pipe(createGunzip()) as Readable;
  try {
    for await (const raw of source as AsyncIterable<Buffer>) {
      crc = crc32(raw, crc);
      total += raw.length;
      let chunk = pending.length > 0 ? Buffer.concat([pending, raw]) : raw;
      pending = Buffer.alloc(0);
      while (chunk.length > 0) {
        if (state === 'data') {
          const take = Math.min(remaining, chunk.length);
          handler.data(chunk.subarray(0, take));
          remaining -= take;
          chunk = chunk.subarray(take);
          if (remaining === 0) {
            await handler.end();
            state = padRemaining > 0 ? 'padding' : 'header';
          }
          continue;
        }
        if (state === 'padding') {
          const take = Math.min(padRemaining, chunk.length);
          if (!isZero(chunk.subarray(0, take))) throw new ArchiveError(`the padding after "${current}" was altered`);
          padRemaining -= take;
          chunk = chunk.subarray(take);
          if (padRemaining === 0) state = 'header';
          continue;
        }
        if (state === 'done') throw new ArchiveError('there are bytes after the end of the archive');
        if (chunk.length < BLOCK) {
          pending = Buffer.from(chunk);
          break;
        }
        const block = chunk.subarray(0, BLOCK);
        chunk = chunk.subarray(BLOCK);
        if (state === 'end') {
          if (!isZero(block)) throw new ArchiveError('the end-of-archive marker was altered');
          state = 'done';
          continue;
        }
        if (isZero(block)) {
          zeroBlocks += 1;
          state = 'end';
          continue;
        }
        const name = readName(block);
        const size = readSize(block, name || '?');
        let canonical: Buffer;
        try {
          canonical = tarHeader(name, size);
        } catch {
          throw new ArchiveError(`tar header ${index + 1} is malformed`);
        }
        if (!canonical.equals(block)) throw new ArchiveError(`the tar header of "${name}" was altered (it is not in the canonical form)`);
        current = name;
        handler.start(name, size, index);
        index += 1;
        remaining = size;
        padRemaining = padding(size);
        if (size === 0) {
          await handler.end();
          state = padRemaining > 0 ? 'padding' : 'header';
        } else {
          state = 'data';
        }
      }
    }
  } catch (error) {
    if (error instanceof ArchiveError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new ArchiveError(`the compressed data is damaged (${code || (error as Error).message})`);
  }
  if (pending.length > 0 || state !== 'done' || zeroBlocks !== 1) {
    throw new ArchiveError(state === 'data' || state === 'padding' ? `the archive ends inside "${current}"` : 'the archive has no proper end (it was truncated or extended)');
  }
  const expected = Buffer.alloc(8);
  expected.writeUInt32LE(crc >>> 0, 0);
  expected.writeUInt32LE(total % 2 ** 32, 4);
  if (!expected.equals(trailer)) throw new ArchiveError('the file does not end with the gzip trailer of its data (bytes were appended or altered)');
  return { entries: index, tarBytes: total };
}
