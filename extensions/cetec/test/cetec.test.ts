import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from 'sovereign-cli/testing';
import { invoiceAt, startFakeCetec, type FakeCetec } from '../../../test/fakes/cetec-server.js';
import manifest from '../extension.js';
import * as getInvoice from '../handlers/get-invoice.js';
import * as listCustomers from '../handlers/list-customers.js';
import * as listInvoices from '../handlers/list-invoices.js';
import * as listOrders from '../handlers/list-orders.js';

const TOKEN = 'CANARY-cetec-token-5b1e0c77';

let cetec: FakeCetec;
let t: TestContext | undefined;

beforeAll(async () => {
  cetec = await startFakeCetec({ token: TOKEN, invoices: 1234, customers: 40, orders: 300 });
});
afterAll(() => cetec.close());
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function context(token = TOKEN) {
  t = await createTestContext({
    extension: 'cetec',
    manifest,
    handlers: {
      'list-customers': listCustomers,
      'list-orders': listOrders,
      'list-invoices': listInvoices,
      'get-invoice': getInvoice,
    },
    secrets: { api_token: token },
    config: { baseUrl: cetec.url },
  });
  return t;
}

describe('cetec extension', () => {
  it('pages through customers with offset and limit until nextOffset is null', async () => {
    const t = await context();
    const seen: number[] = [];
    let offset: number | null = 0;
    let pages = 0;
    while (offset !== null) {
      const res = await t.invoke('GET', '/cetec/customers', { query: { offset: String(offset), limit: '15' } });
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((c: { id: number }) => c.id));
      offset = res.body.nextOffset;
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => 5000 + i));
  });

  it('sends the token as the preshared_token query parameter', async () => {
    const t = await context();
    await t.invoke('GET', '/cetec/orders', { query: { limit: '5' } });
    const last = cetec.requests.at(-1)!;
    expect(last.path).toBe('/goapis/api/v1/order/list');
    expect(last.query).toMatchObject({ preshared_token: TOKEN, offset: '0', limit: '5' });
  });

  it('lists invoices from an offset and fetches one invoice', async () => {
    const t = await context();
    const page = await t.invoke('GET', '/cetec/invoices', { query: { offset: '1230', limit: '10' } });
    expect(page.body.items).toHaveLength(4);
    expect(page.body.nextOffset).toBeNull();
    const one = await t.invoke('GET', '/cetec/invoices/1000007');
    expect(one.status).toBe(200);
    expect(one.body).toEqual(invoiceAt(7, 40));
    const missing = await t.invoke('GET', '/cetec/invoices/999');
    expect(missing.status).toBe(404);
  });

  it('maps a refused token to a 502 problem and never shows the token', async () => {
    const t = await context(`${TOKEN}-revoked`);
    const res = await t.invoke('GET', '/cetec/invoices');
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ title: 'Cetec refused the tenant token' });
    for (const text of [res.text, ...t.logs]) expect(text).not.toContain(TOKEN);
  });

  it('rides out 429s from Cetec', async () => {
    const t = await context();
    cetec.rateLimit.storm(3, { retryAfterSeconds: 0 });
    const res = await t.invoke('GET', '/cetec/customers', { query: { limit: '10' } });
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(10);
    expect(cetec.rateLimit.sent).toBeGreaterThanOrEqual(3);
  });

  it('validates the list query', async () => {
    const t = await context();
    const res = await t.invoke('GET', '/cetec/customers', { query: { limit: '5000' } });
    expect(res.status).toBe(400);
  });
});
