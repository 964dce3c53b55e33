/** The fake AvaTax and Cetec servers behave like the real APIs in the ways the extensions rely on. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAvalara, type FakeAvalara } from './fakes/avalara-server.js';
import { invoiceAt, startFakeCetec, type FakeCetec } from './fakes/cetec-server.js';

let cetec: FakeCetec;
let avalara: FakeAvalara;
beforeAll(async () => {
  cetec = await startFakeCetec({ token: 'tok', invoices: 1_050, customers: 10 });
  avalara = await startFakeAvalara({ accountId: '42', licenseKey: 'lk' });
});
afterAll(async () => {
  await cetec.close();
  await avalara.close();
});

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const model = {
  type: 'SalesOrder',
  companyCode: 'DEFAULT',
  date: '2025-01-01',
  customerCode: 'C',
  addresses: { singleLocation: { region: 'TX', country: 'US' } },
  lines: [{ amount: 100 }],
};

describe('fake Cetec', () => {
  it('wants the preshared_token query parameter', async () => {
    const missing = await fetch(`${cetec.url}/goapis/api/v1/invoice/list`);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ error: 'preshared_token is required' });
    const wrong = await fetch(`${cetec.url}/goapis/api/v1/invoice/list?preshared_token=nope`);
    expect(wrong.status).toBe(401);
  });

  it('pages with offset and limit, clamps the limit and reports the total', async () => {
    const page = await fetch(`${cetec.url}/goapis/api/v1/invoice/list?preshared_token=tok&offset=1000&limit=5000`);
    expect(page.headers.get('x-total-count')).toBe('1050');
    const items = (await page.json()) as Array<{ id: number }>;
    expect(items).toHaveLength(50);
    expect(items[0]).toEqual(invoiceAt(1000, 10));
    expect(invoiceAt(1000, 10)).toEqual(invoiceAt(1000, 10));
  });

  it('answers 429 with Retry-After during a storm', async () => {
    cetec.rateLimit.storm(1, { retryAfterSeconds: 7 });
    const res = await fetch(`${cetec.url}/goapis/api/v1/customer/list?preshared_token=tok`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
  });

  it('dies after N pages and serves again on the same port after a restart', async () => {
    cetec.crashAfterPages(1);
    const list = (offset: number) => fetch(`${cetec.url}/goapis/api/v1/order/list?preshared_token=tok&offset=${offset}&limit=10`);
    expect((await list(0)).status).toBe(200);
    await expect(list(10)).rejects.toThrow();
    await expect(list(10)).rejects.toThrow();
    await cetec.restart();
    expect((await list(10)).status).toBe(200);
  });
});

describe('fake AvaTax', () => {
  it('answers ping without credentials, saying whether they worked', async () => {
    const anonymous = await fetch(`${avalara.url}/api/v2/utilities/ping`);
    expect(await anonymous.json()).toMatchObject({ authenticated: false, authenticationType: 'None' });
    const signed = await fetch(`${avalara.url}/api/v2/utilities/ping`, { headers: { authorization: basic('42', 'lk') } });
    expect(await signed.json()).toMatchObject({ authenticated: true, authenticationType: 'AccountIdLicenseKey', authenticatedAccountId: 42 });
  });

  it('refuses transactions without valid Basic credentials with the AvaTax error envelope', async () => {
    const res = await fetch(`${avalara.url}/api/v2/transactions/create`, {
      method: 'POST',
      headers: { authorization: basic('42', 'wrong'), 'content-type': 'application/json' },
      body: JSON.stringify(model),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({
      error: { code: 'AuthenticationException', message: 'Authentication failed.', details: [{ code: 'AuthenticationException', faultCode: 'Client' }] },
    });
  });

  it('computes tax and answers 201 with a Temporary SalesOrder', async () => {
    const res = await fetch(`${avalara.url}/api/v2/transactions/create`, {
      method: 'POST',
      headers: { authorization: basic('42', 'lk'), 'content-type': 'application/json' },
      body: JSON.stringify({ ...model, code: 'doc-1' }),
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ code: 'doc-1', status: 'Temporary', id: 0, totalTax: 6.25, totalAmount: 100 });
    expect(avalara.codes.get('doc-1')).toBe(1);
  });
});
