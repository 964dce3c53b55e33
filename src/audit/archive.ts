/**
 * The container of an audit bundle: a POSIX ustar archive in one gzip member, written in a single
 * canonical form so that every byte of the file is accounted for.
 *
 * - Tar headers carry only the name and the size; mode 0644, uid/gid 0, mtime 0, empty user and
 *   group names. The reader rebuilds each header from (name, size) and requires the bytes to be
 *   identical, requires zero padding and exactly two zero blocks at the end, and nothing after.
 * - The gzip header is always `1f 8b 08 00 00000000 00 03` (no name, no time, OS unix); the
 *   reader requires exactly that header and checks that the file's last eight bytes are the CRC-32
 *   and length of everything it decompressed, so appended or trailing bytes are refused.
 *
 * Any archive tool reads these files (`tar xzf`); the writer is small so that the reader can hold
 * every header byte to the canonical form without depending on a library's header layout.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, createReadStream, createWriteStream, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants, createDeflateRaw, createGunzip, crc32 } from 'node:zlib';

export const BLOCK = 512;
/**
 * The gzip header every bundle starts with: no name, no time, OS unix, and one extra field
 * (`SV`, 96 bytes) holding the SHA-256 of every byte after the header and the signer's Ed25519
 * signature over it. Deflate has many encodings of the same data (another match distance over
 * equal bytes, an unused code length), so checking the decompressed content alone cannot catch
 * every changed byte of the file; this seal does. gzip and tar skip extra fields.
 */
export const GZIP_HEADER = Buffer.from('1f8b0804000000000003', 'hex');
const SEAL_ID = Buffer.from('SV');
const SEAL_LENGTH = 96;
/** XLEN, subfield id, subfield length. */
const EXTRA_PREFIX = Buffer.concat([Buffer.from([SEAL_LENGTH + 4, 0]), SEAL_ID, Buffer.from([SEAL_LENGTH, 0])]);
const SEAL_OFFSET = GZIP_HEADER.length + EXTRA_PREFIX.length;
export const HEADER_LENGTH = SEAL_OFFSET + SEAL_LENGTH;
const SEAL_CONTEXT = Buffer.from('sovereign-audit-bundle-seal-v1\0');

/** The bytes the seal signature is over. */
export function sealMessage(bodySha256: Buffer): Buffer {
  return Buffer.concat([SEAL_CONTEXT, bodySha256]);
}

/** Signs a seal message (Ed25519, 64 bytes). */
export type SealSigner = (message: Buffer) => Buffer;
const MAX_SIZE = 8 ** 11 - 1;

/** One file of the archive, read from disk when the archive is written. */
export interface ArchiveEntry {
  name: string;
  size: number;
  /** File to copy into the archive. */
  file?: string;
  /** The entry's bytes already compressed by {@link DeflateSink} (made while they were produced). */
  deflated?: DeflatedData;
}

/** Bytes compressed ahead of time: a raw deflate stream ending in a sync flush, and their CRC-32. */
export interface DeflatedData {
  file: string;
  crc32: number;
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

// CRC-32 of two concatenated parts from the CRCs of each (zlib's crc32_combine): the CRC of a
// part compressed ahead of time joins those of the bytes around it without reading it again.
function gf2Times(matrix: Uint32Array, vector: number): number {
  let sum = 0;
  for (let i = 0; vector !== 0; i += 1, vector >>>= 1) if (vector & 1) sum ^= matrix[i]!;
  return sum >>> 0;
}

function gf2Square(square: Uint32Array, matrix: Uint32Array): void {
  for (let n = 0; n < 32; n += 1) square[n] = gf2Times(matrix, matrix[n]!);
}

export function crc32Combine(crc1: number, crc2: number, length2: number): number {
  if (length2 <= 0) return crc1 >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = 0xedb88320;
  for (let n = 1, row = 1; n < 32; n += 1, row <<= 1) odd[n] = row >>> 0;
  gf2Square(even, odd);
  gf2Square(odd, even);
  let crc = crc1 >>> 0;
  let len = length2;
  do {
    gf2Square(even, odd);
    if (len % 2 === 1) crc = gf2Times(even, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
    gf2Square(odd, even);
    if (len % 2 === 1) crc = gf2Times(odd, crc);
    len = Math.floor(len / 2);
  } while (len !== 0);
  return (crc ^ crc2) >>> 0;
}

/** Bytes a {@link DeflateSink} may hold before its producer waits. */
const SINK_BACKLOG = 8 << 20;

/** The final deflate block after a sync flush: an empty fixed-Huffman block marked last. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

/**
 * Compresses bytes into a raw deflate file as they are produced (on the thread pool, while the
 * producer goes on), ending in a sync flush so the result can be spliced into a bundle.
 */
export class DeflateSink {
  crc32 = 0;
  size = 0;
  private readonly deflate: ReturnType<typeof createDeflateRaw>;
  private readonly done: Promise<void>;

  constructor(readonly file: string, level = 1) {
    this.deflate = createDeflateRaw({ level, finishFlush: zlibConstants.Z_SYNC_FLUSH });
    this.done = pipeline(this.deflate, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
    this.done.catch(() => undefined);
  }

  write(part: Buffer): void {
    this.crc32 = crc32(part, this.crc32);
    this.size += part.length;
    this.deflate.write(part);
  }

  /** Waits while the compressor is more than a few blocks behind (it works meanwhile). */
  async ready(): Promise<void> {
    if (this.deflate.writableLength > SINK_BACKLOG && this.deflate.writableNeedDrain) await once(this.deflate, 'drain');
  }

  async close(): Promise<DeflatedData> {
    this.deflate.end();
    await this.done;
    return { file: this.file, crc32: this.crc32 };
  }
}

type Piece = { kind: 'plain'; parts: () => AsyncGenerator<Buffer> } | { kind: 'deflated'; data: DeflatedData; size: number };

/** Splits the tar stream into runs compressed here and entries compressed ahead of time. */
function tarPieces(entries: ArchiveEntry[]): Piece[] {
  const pieces: Piece[] = [];
  let run: Array<() => AsyncGenerator<Buffer>> = [];
  const closeRun = () => {
    const parts = run;
    run = [];
    if (parts.length > 0) pieces.push({ kind: 'plain', parts: async function* () { for (const part of parts) yield* part(); } });
  };
  for (const entry of entries) {
    run.push(async function* () { yield tarHeader(entry.name, entry.size); });
    if (entry.deflated) {
      closeRun();
      pieces.push({ kind: 'deflated', data: entry.deflated, size: entry.size });
    } else {
      const file = entry.file!;
      run.push(async function* () {
        let copied = 0;
        for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
          copied += chunk.length;
          yield chunk;
        }
        if (copied !== entry.size) throw new ArchiveError(`${file} changed size while it was archived`);
      });
    }
    const pad = padding(entry.size);
    if (pad > 0) run.push(async function* () { yield Buffer.alloc(pad, 0); });
  }
  run.push(async function* () { yield Buffer.alloc(BLOCK * 2, 0); });
  closeRun();
  return pieces;
}

async function* gzipStream(entries: ArchiveEntry[], level: number): AsyncGenerator<Buffer> {
  let crc = 0;
  let total = 0;
  yield Buffer.concat([GZIP_HEADER, EXTRA_PREFIX, Buffer.alloc(SEAL_LENGTH, 0)]);
  for (const piece of tarPieces(entries)) {
    if (piece.kind === 'deflated') {
      for await (const chunk of createReadStream(piece.data.file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) yield chunk;
      crc = crc32Combine(crc, piece.data.crc32, piece.size);
      total += piece.size;
      continue;
    }
    const deflate = createDeflateRaw({ level, finishFlush: zlibConstants.Z_SYNC_FLUSH });
    const feed = (async () => {
      for await (const part of piece.parts()) {
        crc = crc32(part, crc);
        total += part.length;
        if (!deflate.write(part)) await once(deflate, 'drain');
      }
      deflate.end();
    })();
    feed.catch((error: unknown) => deflate.destroy(error as Error));
    for await (const chunk of deflate as AsyncIterable<Buffer>) yield chunk;
    await feed;
  }
  yield FINAL_BLOCK;
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(total % 2 ** 32, 4);
  yield trailer;
}

/**
 * Writes the entries, in the given order, as a canonical .tar.gz at `out` (not atomically; synced
 * to disk) and returns its SHA-256 and size. The deflate stream is made of runs, each ending in a
 * sync flush, so an entry compressed ahead of time ({@link DeflateSink}) is spliced in unchanged.
 */
export async function writeTarGz(out: string, entries: ArchiveEntry[], options: { level?: number; sign: SealSigner }): Promise<{ sha256: string; size: number }> {
  const seen = new Set<string>();
  for (const entry of entries) {
    if (seen.has(entry.name)) throw new ArchiveError(`archive entry "${entry.name}" appears twice`);
    if ((entry.file === undefined) === (entry.deflated === undefined)) throw new ArchiveError(`archive entry "${entry.name}" needs a file or deflated data`);
    seen.add(entry.name);
  }
  const body = createHash('sha256');
  let size = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const before = size;
      size += chunk.length;
      if (size > HEADER_LENGTH) body.update(before >= HEADER_LENGTH ? chunk : chunk.subarray(HEADER_LENGTH - before));
      done(null, chunk);
    },
  });
  const fd = openSync(out, 'wx', 0o644);
  try {
    await pipeline(gzipStream(entries, options.level ?? 1), hashing, createWriteStream('', { fd, autoClose: false }));
    const digest = body.digest();
    const signature = options.sign(sealMessage(digest));
    if (signature.length !== SEAL_LENGTH - 32) throw new ArchiveError('the seal signature must be 64 bytes (Ed25519)');
    writeSync(fd, Buffer.concat([digest, signature]), 0, SEAL_LENGTH, SEAL_OFFSET);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const whole = createHash('sha256');
  for await (const chunk of createReadStream(out, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) whole.update(chunk);
  return { sha256: whole.digest('hex'), size };
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
export interface ReadResult {
  entries: number;
  tarBytes: number;
  /** The seal of the header, to be checked against the signer once the manifest names it. */
  seal: { message: Buffer; signature: Buffer };
}

export async function readTarGz(path: string, handler: EntryHandler): Promise<ReadResult> {
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(HEADER_LENGTH);
  const trailer = Buffer.alloc(8);
  let fileSize: number;
  try {
    fileSize = fstatSync(fd).size;
    if (fileSize < HEADER_LENGTH + 8) throw new ArchiveError('the file is too short to be a bundle');
    readSync(fd, head, 0, HEADER_LENGTH, 0);
    readSync(fd, trailer, 0, 8, fileSize - 8);
  } finally {
    closeSync(fd);
  }
  if (head[0] !== 0x1f || head[1] !== 0x8b) throw new ArchiveError('the file is not gzip-compressed');
  const fixed = Buffer.concat([GZIP_HEADER, EXTRA_PREFIX]);
  if (!head.subarray(0, SEAL_OFFSET).equals(fixed)) throw new ArchiveError(`the gzip header was altered (expected ${fixed.toString('hex')}, found ${head.subarray(0, SEAL_OFFSET).toString('hex')})`);
  const declared = head.subarray(SEAL_OFFSET, SEAL_OFFSET + 32);
  const signature = Buffer.from(head.subarray(SEAL_OFFSET + 32, HEADER_LENGTH));
  const body = createHash('sha256');
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  raw.on('data', (chunk) => {
    const buffer = chunk as Buffer;
    if (raw.bytesRead - buffer.length >= HEADER_LENGTH) body.update(buffer);
    else if (raw.bytesRead > HEADER_LENGTH) body.update(buffer.subarray(HEADER_LENGTH - (raw.bytesRead - buffer.length)));
  });

  let crc = 0;
  let total = 0;
  let pending = Buffer.alloc(0);
  let state: 'header' | 'data' | 'padding' | 'end' | 'done' = 'header';
  let remaining = 0;
  let padRemaining = 0;
  let zeroBlocks = 0;
  let index = 0;
  let current = '';

  const source = raw.pipe(createGunzip()) as Readable;
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
  if (!body.digest().equals(declared)) throw new ArchiveError('the compressed bytes do not match the SHA-256 sealed in the gzip header (the file was altered)');
  return { entries: index, tarBytes: total, seal: { message: sealMessage(Buffer.from(declared)), signature } };
}
