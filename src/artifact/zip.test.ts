import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readZip, writeZip } from './zip.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('writeZip', () => {
  it('writes the bytes it always has (a change would change every artifact hash)', () => {
    const zip = writeZip([
      { name: 'index.mjs', data: Buffer.from('export const x = 1;') },
      { name: 'manifest.json', data: Buffer.from('{}') },
      { name: 'empty', data: Buffer.alloc(0) },
    ]);
    expect(sha(zip)).toBe('f386307c0c7f69b86dfd7d9d75d9be83305939947c3a4bb1e9f21c3337f09d97');
  });

  it('gives the same bytes whatever the entry order', () => {
    const a = writeZip([{ name: 'index.mjs', data: Buffer.from('export const x = 1;') }, { name: 'manifest.json', data: Buffer.from('{}') }]);
    const b = writeZip([{ name: 'manifest.json', data: Buffer.from('{}') }, { name: 'index.mjs', data: Buffer.from('export const x = 1;') }]);
    expect(sha(a)).toBe(sha(b));
  });

  it('round-trips with fixed time and permissions', () => {
    const data = Buffer.from('x'.repeat(10_000) + 'ü');
    const entries = readZip(writeZip([{ name: 'b.txt', data }, { name: 'a.txt', data: Buffer.alloc(0) }]));
    expect(entries.map((e) => e.name)).toEqual(['a.txt', 'b.txt']);
    expect(entries[1]!.data.equals(data)).toBe(true);
    expect(entries.every((e) => e.mode === 0o100644 && e.dosTime === 0 && e.dosDate === 0x21)).toBe(true);
  });

  it('refuses duplicate names and detects corruption', () => {
    expect(() => writeZip([{ name: 'a', data: Buffer.from('1') }, { name: 'a', data: Buffer.from('2') }])).toThrow(/duplicate/);
    const zip = writeZip([{ name: 'a', data: Buffer.from('hello hello hello') }]);
    zip[14] = zip[14]! ^ 0xff; // local header CRC is not read; corrupt the central one instead
    const central = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    zip[central + 16] = zip[central + 16]! ^ 0xff;
    expect(() => readZip(zip)).toThrow(/CRC/);
  });
});
