import { afterEach, describe, expect, it } from 'vitest';
import type { ExtensionTable } from 'sovereign-cli/runtime';
import { createAvaTaxClient } from '../../avalara/services/avatax-client.js';
import { cetecListUrl } from '../../cetec/services/cetec-client.js';
import { syncConfigSchema } from '../models/config.js';
import { readSyncState, runInvoiceSync, mapWithConcurrency } from '../services/invoice-sync.js';
import { AVALARA_ACCOUNT, AVALARA_KEY, CETEC_TOKEN, startSyncWorld, taxItems, type SyncWorld } from './helpers.js';

let world: SyncWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** The table, except that every write fails once `allowed` batch writes have gone through: a process dying mid-run. */
function dyingTable(db: ExtensionTable, allowed: number): ExtensionTable & { dead: boolean } {
  let writes = 0;
  const table = {
    dead: false,
    get: db.get.bind(db),
    delete: db.delete.bind(db),
    query: db.query.bind(db),
    async put(item: Parameters<ExtensionTable['put']>[0]) {
      if (table.dead) throw new Error('process gone');
      return db.put(item);
    },
    async putMany(items: Parameters<ExtensionTable['putMany']>[0]) {
      writes += 1;
      if (writes > allowed) table.dead = true;
      if (table.dead) throw new Error('process gone');
      return db.putMany(items);
    },
  };
  return table;
}

describe('runInvoiceSync', () => {
  it('resumes after a hard crash from the last checkpoint once the dead run lease expires', async () => {
    world = await startSyncWorld({ invoices: 1_000 });
    const { t, cetec, avalara } = world;
    const config = syncConfigSchema.parse({ cetecBaseUrl: cetec.url, avalaraBaseUrl: avalara.url, chunkSize: 100, timeBudgetMs: 60_000 });
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const deps = (db: ExtensionTable) => ({
      db,
      paginate: t.ctx.paginate.bind(t.ctx),
      avaTax: createAvaTaxClient({ baseUrl: avalara.url, accountId: AVALARA_ACCOUNT, licenseKey: AVALARA_KEY }),
      log: t.ctx.log,
      metrics: t.ctx.metrics,
      invoiceListUrl: cetecListUrl(cetec.url, 'invoice', CETEC_TOKEN),
      config,
      now: () => clock,
    });

    // Each chunk of 100 is written as 4 lanes: 13 writes get 3 chunks (and one lane of the 4th) in.
    const dying = dyingTable(t.ctx.db, 13);
    await expect(runInvoiceSync(deps(dying), { restart: false })).rejects.toThrow('process gone');
    const crashed = await readSyncState(t.ctx.db);
    expect(crashed).toMatchObject({ status: 'running', offset: 300, processed: 300 });

    // Another call while the dead run still holds its lease is refused…
    expect((await runInvoiceSync(deps(t.ctx.db), { restart: false })).kind).toBe('busy');
    // …and once the lease has expired, the run resumes where the last checkpoint says.
    clock += 120_000;
    const resumed = await runInvoiceSync(deps(t.ctx.db), { restart: false });
    expect(resumed).toMatchObject({ kind: 'complete', thisCall: { resumedFrom: 300, processed: 700 }, state: { processed: 1_000, resumes: 1 } });
    expect(await taxItems(t)).toHaveLength(1_000);
  });
});

describe('mapWithConcurrency', () => {
  it('keeps input order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapWithConcurrency([5, 1, 4, 2, 3, 0], 2, async (n) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, n));
      running -= 1;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0]);
    expect(peak).toBe(2);
  });

  it('starts no new work after a failure', async () => {
    const started: number[] = [];
    const run = mapWithConcurrency([1, 2, 3, 4, 5, 6], 2, async (n) => {
      started.push(n);
      if (n === 2) throw new Error('boom');
      await new Promise((r) => setTimeout(r, 5));
      return n;
    });
    await expect(run).rejects.toThrow('boom');
    await new Promise((r) => setTimeout(r, 20));
    expect(started).toEqual([1, 2]);
  });
});
