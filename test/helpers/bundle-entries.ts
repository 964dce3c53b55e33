import { list } from 'tar';

/** Reads a bundle's entries, in order, with tar 7 (any archive tool reads a bundle). */
export async function readEntries(file: string): Promise<Array<{ name: string; data: Buffer }>> {
  const out: Array<{ name: string; data: Buffer }> = [];
  await list({
    file,
    onReadEntry: (entry) => {
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => out.push({ name: entry.path, data: Buffer.concat(chunks) }));
    },
  });
  return out;
}
