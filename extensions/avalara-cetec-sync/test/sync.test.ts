import { afterEach, describe, expect, it } from 'vitest';
import { FAKE_RATES } from '../../../test/fakes/avalara-server.js';
import { invoiceAt } from '../../../test/fakes/cetec-server.js';
import { secretsAbsent, startSyncWorld, taxItems, type SyncWorld } from './helpers.js';

let world: SyncWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const expectedTax = (index: number, customers: number) => {
  const invoice = invoiceAt(index, customers);
  const rate = FAKE_RATES[invoice.ship_to.state]!;
  return invoice.lines.reduce((sum, l) => sum + Math.round((Math.round(l.qty * l.unit_price * 100) / 100) * rate * 100 + Number.EPSILON) / 100, 0);
};

describe('avalara-cetec-sync', () => {
  it('syncs 60,000 invoices page by page into one item per invoice', async () => {
    world = await startSyncWorld({ invoices: 60_000, customers: 250 }, { concurrency: 16, chunkSize: 250 });
    const { t, cetec, avalara } = world;
    const res = await t.invoke('POST', '/avalara-cetec-sync/sync/invoices', { body: {} });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'complete', processed: 60_000, taxed: 60_000, rejected: 0, offset: 60_000 });
    expect(cetec.pagesServed).toBe(121); // 120 full pages of 500 and the empty one that ends the walk
    expect(avalara.transactions).toBe(60_000);

    const items = await taxItems(t);
    expect(items).toHaveLength(60_000);
    expect(new Set(items.map((i) => i.invoiceId)).size).toBe(60_000);
    const sample = items.find((i) => i.invoiceId === 1_000_000 + 12_345)!;
    expect(sample.totalTax).toBeCloseTo(expectedTax(12_345, 250), 2);
    expect(sample.invoiceNumber).toBe('INV-0012346');
  }, 240_000);

  it('rides out a 429 storm on both APIs', async () => {
    // One request in three refused: retries high enough that no invoice can lose every try by chance.
    world = await startSyncWorld({ invoices: 3_000 }, { chunkSize: 100, avalaraMaxRetries: 14 });
    const { t, cetec, avalara } = world;
    cetec.rateLimit.storm(5, { retryAfterSeconds: 0, everyNth: 2 });
    avalara.rateLimit.storm(400, { retryAfterSeconds: 0, everyNth: 3 });
    const res = await t.invoke('POST', '/avalara-cetec-sync/sync/invoices');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'complete', processed: 3_000, taxed: 3_000 });
    expect(cetec.rateLimit.sent).toBe(5);
    expect(avalara.rateLimit.sent).toBe(400);
    expect(await taxItems(t)).toHaveLength(3_000);
  });

  it('resumes from the checkpoint after Cetec dies mid-run, taxing no invoice twice', async () => {
    world = await startSyncWorld({ invoices: 5_000 }, { cetecMaxRetries: 1 });
    const { t, cetec, avalara } = world;
    cetec.crashAfterPages(4);
    const first = await t.invoke('POST', '/avalara-cetec-sync/sync/invoices');
    expect(first.status).toBe(502);
    expect(first.body).toMatchObject({ title: 'Cetec could not be reached', sync: { status: 'failed', offset: 2_000, processed: 2_000 } });
    const status = await t.invoke('GET', '/avalara-cetec-sync/sync/status');
    expect(status.body).toMatchObject({ status: 'failed', offset: 2_000 });

    await cetec.restart();
    const second = await t.invoke('POST', '/avalara-cetec-sync/sync/invoices');
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({
      status: 'complete',
      processed: 5_000,
      resumes: 1,
      runId: first.body.sync.runId,
      thisCall: { resumedFrom: 2_000, processed: 3_000 },
    });
    const firstPageAfterRestart = cetec.requests.find((r) => r.status === 200 && Number(r.query.offset) >= 2_000);
    expect(firstPageAfterRestart?.query.offset).toBe('2000');
    expect([...avalara.codes.values()].every((count) => count === 1)).toBe(true);
    expect(avalara.codes.size).toBe(5_000);
    expect(await taxItems(t)).toHaveLength(5_000);
    expect(secretsAbsent(t, first.text, second.text, status.text)).toBe(true);
  });

  it('re-running writes the same items again, never duplicates', async () => {
    world = await startSyncWorld({ invoices: 2_000 });
    const { t } = world;
    const first = await t.invoke('POST', '/avalara-cetec-sync/sync/invoices');
    const before = (await taxItems(t)).sort((a, b) => a.sk.localeCompare(b.sk));
    const second = await t.invoke('POST', '/avalara-cetec-sync/sync/invoices');
    const after = (await taxItems(t)).sort((a, b) => a.sk.localeCompare(b.sk));
    expect(second.body).toMatchObject({ status: 'complete', processed: 2_000, thisCall: { resumedFrom: 0 } });
    expect(second.body.runId).not.toBe(first.body.runId);
    expect(after).toHaveLength(2_000);
    expect(after).toEqual(before);
  });

  it('records invoices AvaTax refuses and goes on', async () => {
    world = await startSyncWorld({ invoices: 1_000, badAddressEvery: 100 });
    const { t } = world;
    const res = await t.invoke('POST', '/avalara-cetec-sync/sync/invoices');
    expect(res.body).toMatchObject({ status: 'complete', processed: 1_000, taxed: 990, rejected: 10 });
    const rejected = (await taxItems(t)).filter((i) => i.status === 'rejected');
    expect(rejected).toHaveLength(10);
    expect(rejected[0]).toMatchObject({ region: 'ZZ', error: { code: 'InvalidAddress' } });
  });

  it('stops at once when AvaTax does not know the configured company, instead of rejecting every invoice', async () => {
    world = await startSyncWorld({ invoices: 1_000 }, { companyCode: 'NOPE' });
    const { t, avalara } = world;
    const res = await t.invoke('POST', '/avalara-cetec-sync/sync/invoices');
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ avalaraCode: 'EntityNotFoundError', sync: { status: 'failed', offset: 0, rejected: 0 } });
    expect(avalara.stats.badRequests).toBeLessThanOrEqual(8); // the requests already in flight
    expect(await taxItems(t)).toHaveLength(0);
  });

  it('stops after maxRecords with 202 and continues on the next call', async () => {
    world = await startSyncWorld({ invoices: 2_500 });
    const { t } = world;
    const partial = await t.invoke('POST', '/avalara-cetec-sync/sync/invoices', { body: { maxRecords: 1_000 } });
    expect(partial.status).toBe(202);
    expect(partial.body).toMatchObject({ status: 'running', offset: 1_000 });
    const rest = await t.invoke('POST', '/avalara-cetec-sync/sync/invoices');
    expect(rest.body).toMatchObject({ status: 'complete', processed: 2_500, thisCall: { resumedFrom: 1_000, processed: 1_500 } });
  });

  it('answers 409 while another call holds the run, and restart starts over', async () => {
    world = await startSyncWorld({ invoices: 600 });
    const { t } = world;
    expect((await t.invoke('GET', '/avalara-cetec-sync/sync/status')).body).toEqual({ status: 'never-run' });
    await t.ctx.db.put({
      pk: 'sync', sk: 'invoices', status: 'running', runId: 'other', offset: 100, processed: 100, taxed: 100, rejected: 0,
      resumes: 0, startedAt: 'x', updatedAt: 'x', leaseUntil: Date.now() + 60_000,
    });
    const busy = await t.invoke('POST', '/avalara-cetec-sync/sync/invoices');
    expect(busy.status).toBe(409);
    await t.ctx.db.put({
      pk: 'sync', sk: 'invoices', status: 'failed', runId: 'other', offset: 100, processed: 100, taxed: 100, rejected: 0,
      resumes: 0, startedAt: 'x', updatedAt: 'x',
    });
    const restarted = await t.invoke('POST', '/avalara-cetec-sync/sync/invoices', { body: { restart: true } });
    expect(restarted.body).toMatchObject({ status: 'complete', processed: 600, resumes: 0, thisCall: { resumedFrom: 0 } });
  });

  it('stops with a credentials problem when AvaTax refuses the key, without showing it', async () => {
    world = await startSyncWorld({ invoices: 300 });
    const { t } = world;
    t.secretStore.set(t.referenceOf('avalara_license_key'), 'CANARY-sync-avalara-9d02be4f-rotated-away');
    const res = await t.invoke('POST', '/avalara-cetec-sync/sync/invoices');
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ avalaraCode: 'AuthenticationException', sync: { status: 'failed', offset: 0 } });
    expect(secretsAbsent(t, res.text)).toBe(true);
  });
});
