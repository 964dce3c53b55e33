import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { list } from 'tar';
import { describe, expect, it } from 'vitest';
import { crc32 } from 'node:zlib';
import { ArchiveError, crc32Combine, DeflateSink, readTarGz, tarHeader, writeTarGz } from './archive.js';

const { privateKey } = generateKeyPairSync('ed25519');
const seal = { sign: (message: Buffer) => sign(null, message, privateKey) };

function fixture(): { dir: string; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sovereign-archive-'));
  writeFileSync(join(dir, 'a'), 'alpha\n');
  writeFileSync(join(dir, 'b'), Buffer.alloc(1024, 7));
  writeFileSync(join(dir, 'c'), '');
  return { dir, out: join(dir, 'out.tar.gz') };
}

async function readAll(path: string): Promise<Array<{ name: string; data: string }>> {
  const out: Array<{ name: string; data: string }> = [];
  let chunks: Buffer[] = [];
  let name = '';
  await readTarGz(path, {
    start: (n) => ((name = n), (chunks = [])),
    data: (c) => void chunks.push(Buffer.from(c)),
    end: () => void out.push({ name, data: Buffer.concat(chunks).toString('latin1') }),
  });
  return out;
}

describe('canonical tar.gz', () => {
  it('round-trips and is readable by tar 7', async () => {
    const { dir, out } = fixture();
    await writeTarGz(out, [
      { name: 'x/a.txt', file: join(dir, 'a'), size: 6 },
      { name: 'b.bin', file: join(dir, 'b'), size: 1024 },
      { name: 'empty', file: join(dir, 'c'), size: 0 },
    ], seal);
    const entries = await readAll(out);
    expect(entries.map((e) => e.name)).toEqual(['x/a.txt', 'b.bin', 'empty']);
    expect(entries[0]!.data).toBe('alpha\n');
    const names: string[] = [];
    await list({ file: out, onReadEntry: (entry) => void names.push(`${entry.path}:${entry.size}:${entry.mtime?.getTime()}`) });
    expect(names).toEqual(['x/a.txt:6:0', 'b.bin:1024:0', 'empty:0:0']);
  });

  it('combines CRC-32s like one pass over both parts', () => {
    const a = Buffer.from('the quick brown fox ');
    const b = Buffer.alloc(100_003, 0x61);
    expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(Buffer.concat([a, b])));
    expect(crc32Combine(crc32(a), crc32(Buffer.alloc(0)), 0)).toBe(crc32(a));
  });

  it('splices an entry compressed ahead of time, giving the same archive as compressing it in place', async () => {
    const { dir, out } = fixture();
    const big = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `{"seq":${i},"hash":"${(i * 7919).toString(16).padStart(64, '0')}"}\n`).join(''));
    writeFileSync(join(dir, 'big'), big);
    const sink = new DeflateSink(join(dir, 'big.deflate'));
    for (let at = 0; at < big.length; at += 65_536) {
      sink.write(big.subarray(at, at + 65_536));
      await sink.ready();
    }
    const deflated = await sink.close();
    await writeTarGz(out, [
      { name: 'a', file: join(dir, 'a'), size: 6 },
      { name: 'big', deflated, size: big.length },
      { name: 'c', file: join(dir, 'c'), size: 0 },
    ], seal);
    const entries = await readAll(out);
    expect(entries.map((e) => e.name)).toEqual(['a', 'big', 'c']);
    expect(Buffer.from(entries[1]!.data, 'latin1').equals(big)).toBe(true);
    const { gunzipSync } = await import('node:zlib');
    expect(gunzipSync(readFileSync(out)).length).toBe(512 + 512 + 512 + big.length + ((512 - (big.length % 512)) % 512) + 512 + 1024);
  });

  it('every single-bit change anywhere in the file is caught by the reader or the seal', async () => {
    const { dir, out } = fixture();
    await writeTarGz(out, [{ name: 'x/a.txt', file: join(dir, 'a'), size: 6 }, { name: 'b.bin', file: join(dir, 'b'), size: 1024 }], seal);
    const good = readFileSync(out);
    const { verify } = await import('node:crypto');
    const publicKey = (await import('node:crypto')).createPublicKey(privateKey);
    const accepted = async (file: string) => {
      try {
        const read = await readTarGz(file, { start: () => undefined, data: () => undefined, end: () => undefined });
        return verify(null, read.seal.message, publicKey, read.seal.signature);
      } catch (error) {
        if (error instanceof ArchiveError) return false;
        throw error;
      }
    };
    expect(await accepted(out)).toBe(true);
    const altered = join(dir, 'altered.tar.gz');
    const missed: string[] = [];
    for (let offset = 0; offset < good.length; offset += 1) {
      const copy = Buffer.from(good);
      copy[offset] = copy[offset]! ^ (1 << (offset % 8));
      writeFileSync(altered, copy);
      if (await accepted(altered)) missed.push(`byte ${offset} bit ${offset % 8}`);
    }
    expect(missed).toEqual([]);
  });

  it('is byte-identical for the same input', async () => {
    const { dir, out } = fixture();
    const entries = [{ name: 'a', file: join(dir, 'a'), size: 6 }];
    const first = await writeTarGz(out, entries, seal);
    const second = await writeTarGz(join(dir, 'again.tar.gz'), entries, seal);
    expect(second.sha256).toBe(first.sha256);
    expect(readFileSync(out).subarray(0, 10).toString('hex')).toBe('1f8b0804000000000003');
  });

  it('refuses appended bytes, an altered gzip header and a non-canonical tar header', async () => {
    const { dir, out } = fixture();
    await writeTarGz(out, [{ name: 'a', file: join(dir, 'a'), size: 6 }], seal);
    const good = readFileSync(out);
    const appended = join(dir, 'appended.tar.gz');
    writeFileSync(appended, Buffer.concat([good, Buffer.from([0])]));
    await expect(readAll(appended)).rejects.toThrow(ArchiveError);
    const header = join(dir, 'header.tar.gz');
    const altered = Buffer.from(good);
    altered[9] = 0xff;
    writeFileSync(header, altered);
    await expect(readAll(header)).rejects.toThrow(/gzip header/);
    const h = tarHeader('a', 6);
    expect(h.subarray(257, 263).toString('latin1')).toBe('ustar\0');
  });
});
