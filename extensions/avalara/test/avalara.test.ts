import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from 'sovereign-cli/testing';
import { startFakeAvalara, type FakeAvalara } from '../../../test/fakes/avalara-server.js';
import manifest from '../extension.js';
import * as createQuote from '../handlers/create-quote.js';
import * as ping from '../handlers/ping.js';

const ACCOUNT_ID = '2000134479';
const LICENSE_KEY = 'CANARY-avalara-license-7f3d9e21';

let avalara: FakeAvalara;
let t: TestContext | undefined;

beforeAll(async () => {
  avalara = await startFakeAvalara({ accountId: ACCOUNT_ID, licenseKey: LICENSE_KEY, companies: ['DEFAULT', 'ACME'] });
});
afterAll(async () => {
  await avalara.close();
});
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function context(secrets: Record<string, string> = { account_id: ACCOUNT_ID, license_key: LICENSE_KEY }, config: Record<string, unknown> = {}) {
  t = await createTestContext({
    tenant: 'acme',
    extension: 'avalara',
    manifest,
    handlers: { ping, 'create-quote': createQuote },
    secrets,
    config: { baseUrl: avalara.url, ...config },
  });
  return t;
}

const quote = {
  customerCode: 'CUST-1',
  code: 'quote-1',
  date: '2025-03-01',
  shipTo: { line1: '100 Main St', city: 'Irvine', region: 'CA', postalCode: '92614', country: 'US' },
  lines: [
    { quantity: 2, amount: 100, itemCode: 'PCB-100' },
    { quantity: 1, amount: 50.5, itemCode: 'CAB-010' },
  ],
};

function expectNoCanary(t: TestContext, ...texts: string[]): void {
  for (const text of [...texts, ...t.logs]) expect(text).not.toContain(LICENSE_KEY);
}

describe('avalara extension', () => {
  it('pings AvaTax with HTTP Basic credentials', async () => {
    const t = await context();
    const res = await t.invoke('GET', '/avalara/ping');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ authenticated: true, authenticationType: 'AccountIdLicenseKey', version: '25.11.0' });
    expect(avalara.lastClientHeader).toMatch(/^sovereign-avalara; 1\.0\.0; sovereign; /);
  });

  it('reports a ping with credentials AvaTax does not accept as unauthenticated', async () => {
    const t = await context({ account_id: ACCOUNT_ID, license_key: 'wrong-key' });
    const res = await t.invoke('GET', '/avalara/ping');
    expect(res.body).toMatchObject({ authenticated: false, authenticationType: 'None' });
  });

  it('computes a tax quote as an uncommitted SalesOrder', async () => {
    const t = await context();
    const res = await t.invoke('POST', '/avalara/quotes', { body: quote });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      code: 'quote-1',
      date: '2025-03-01',
      totalAmount: 150.5,
      totalTaxable: 150.5,
      totalTax: 10.91,
      lines: [
        { lineNumber: '1', lineAmount: 100, taxableAmount: 100, tax: 7.25 },
        { lineNumber: '2', lineAmount: 50.5, taxableAmount: 50.5, tax: 3.66 },
      ],
    });
  });

  it('uses the configured company code', async () => {
    const t = await context(undefined, { companyCode: 'NOPE' });
    const res = await t.invoke('POST', '/avalara/quotes', { body: quote });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ avalaraCode: 'EntityNotFoundError', detail: "Company with code 'NOPE' not found." });
  });

  it('maps refused credentials to a 502 problem that names the secrets but never shows them', async () => {
    const t = await context({ account_id: ACCOUNT_ID, license_key: `${LICENSE_KEY}-old` });
    const res = await t.invoke('POST', '/avalara/quotes', { body: quote });
    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect(res.body).toMatchObject({ title: 'AvaTax refused the tenant credentials', avalaraCode: 'AuthenticationException' });
    expect(res.body.detail).toContain('avalara.license_key');
    expectNoCanary(t, res.text);
  });

  it('maps an address AvaTax rejects to 422 with its details', async () => {
    const t = await context();
    const res = await t.invoke('POST', '/avalara/quotes', { body: { ...quote, shipTo: { ...quote.shipTo, region: 'ZZ' } } });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({
      avalaraCode: 'InvalidAddress',
      errors: [{ code: 'InvalidAddress', message: "The address region 'ZZ' is not recognised." }],
    });
  });

  it('rides out a 429 storm, honouring Retry-After', async () => {
    const t = await context();
    const before = avalara.rateLimit.sent;
    avalara.rateLimit.storm(4, { retryAfterSeconds: 0 });
    const res = await t.invoke('POST', '/avalara/quotes', { body: quote });
    expect(res.status).toBe(200);
    expect(avalara.rateLimit.sent - before).toBe(4);
  });

  it('answers 503 with Retry-After when the rate limit outlasts the retries', async () => {
    const t = await context();
    avalara.rateLimit.storm(50, { retryAfterSeconds: 0 });
    const res = await t.invoke('POST', '/avalara/quotes', { body: quote });
    avalara.rateLimit.storm(0);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ title: 'AvaTax rate limit reached', avalaraCode: 'TooManyRequests' });
  });

  it('refuses a malformed quote before calling AvaTax', async () => {
    const t = await context();
    const calls = avalara.stats.requests;
    const res = await t.invoke('POST', '/avalara/quotes', { body: { customerCode: 'x', lines: [] } });
    expect(res.status).toBe(400);
    expect(avalara.stats.requests).toBe(calls);
  });

  it('answers 502 when AvaTax is unreachable', async () => {
    const down = await startFakeAvalara({ accountId: ACCOUNT_ID, licenseKey: LICENSE_KEY });
    await down.close();
    const t = await context(undefined, { baseUrl: down.url, maxRetries: 1 });
    const res = await t.invoke('GET', '/avalara/ping');
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ title: 'AvaTax could not be reached' });
  });
});
