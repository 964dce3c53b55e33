import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalTable, type LocalTable } from '../testing/dynalite.js';
import { createExtensionTable, lazyDocumentClient } from './db.js';

let table: LocalTable;
beforeAll(async () => {
  table = await startLocalTable('sovereign-dev-db');
});
afterAll(async () => {
  await table.close();
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('ExtensionTable', () => {
  it('keeps extensions apart with the <extension># prefix', async () => {
    const client = lazyDocumentClient(table.client);
    const a = createExtensionTable(table.name, 'avalara', client);
    const b = createExtensionTable(table.name, 'cetec', client);
    await a.put({ pk: 'cfg', sk: 'main', value: 'a' });
    await b.put({ pk: 'cfg', sk: 'main', value: 'b' });
    expect(await a.get('cfg', 'main')).toEqual({ pk: 'cfg', sk: 'main', value: 'a' });
    expect(await b.get('cfg', 'main')).toEqual({ pk: 'cfg', sk: 'main', value: 'b' });
    const raw = (await table.items()).filter((i) => i.sk === 'main').map((i) => i.pk).sort();
    expect(raw).toEqual(['avalara#cfg', 'cetec#cfg']);
    await a.delete('cfg', 'main');
    expect(await a.get('cfg', 'main')).toBeUndefined();
    expect(await b.get('cfg', 'main')).toBeDefined();
  });

  it('writes many items in batches and queries them in sort-key order with prefix and limit', async () => {
    const t = createExtensionTable(table.name, 'sync', lazyDocumentClient(table.client));
    const items = Array.from({ length: 130 }, (_, i) => ({ pk: 'invoice', sk: `${i % 2 ? 'open' : 'paid'}#${String(i).padStart(4, '0')}`, n: i }));
    await t.putMany(items);
    const all = await collect(t.query('invoice'));
    expect(all).toHaveLength(130);
    expect(all.map((i) => i.sk)).toEqual([...all.map((i) => i.sk as string)].sort());
    const open = await collect(t.query('invoice', { skPrefix: 'open#' }));
    expect(open).toHaveLength(65);
    expect(open.every((i) => i.pk === 'invoice' && (i.sk as string).startsWith('open#'))).toBe(true);
    expect(await collect(t.query('invoice', { skPrefix: 'paid#', limit: 7 }))).toHaveLength(7);
    expect(await collect(createExtensionTable(table.name, 'other', lazyDocumentClient(table.client)).query('invoice'))).toEqual([]);
  });
});
