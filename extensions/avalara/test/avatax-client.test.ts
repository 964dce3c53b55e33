import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAvalara, type FakeAvalara } from '../../../test/fakes/avalara-server.js';
import { AvaTaxError, createAvaTaxClient, retryAfterMs } from '../services/avatax-client.js';

let avalara: FakeAvalara;
beforeAll(async () => {
  avalara = await startFakeAvalara({ accountId: '1', licenseKey: 'k' });
});
afterAll(() => avalara.close());

describe('createAvaTaxClient', () => {
  it('waits at least what Retry-After says between tries', async () => {
    const waits: number[] = [];
    const client = createAvaTaxClient({ baseUrl: avalara.url, accountId: '1', licenseKey: 'k', random: () => 0, sleep: async (ms) => void waits.push(ms) });
    avalara.rateLimit.storm(2, { retryAfterSeconds: 3 });
    const result = await client.ping();
    expect(result.authenticated).toBe(true);
    expect(waits).toEqual([3000, 3000]);
  });

  it('caps one wait at maxDelayMs and gives up after maxRetries with the AvaTax error', async () => {
    const waits: number[] = [];
    const client = createAvaTaxClient({
      baseUrl: avalara.url, accountId: '1', licenseKey: 'k', maxRetries: 2, maxDelayMs: 1000,
      sleep: async (ms) => void waits.push(ms),
    });
    avalara.rateLimit.storm(10, { retryAfterSeconds: 120 });
    const error = await client.ping().catch((e: unknown) => e);
    avalara.rateLimit.storm(0);
    expect(error).toBeInstanceOf(AvaTaxError);
    expect(error).toMatchObject({ status: 429, code: 'TooManyRequests', retryAfterSeconds: 120 });
    expect(waits).toEqual([1000, 1000]);
  });

  it('does not retry a 4xx other than 429', async () => {
    const waits: number[] = [];
    const client = createAvaTaxClient({ baseUrl: avalara.url, accountId: '1', licenseKey: 'bad', sleep: async (ms) => void waits.push(ms) });
    const error = (await client
      .createTransaction({ type: 'SalesOrder', companyCode: 'DEFAULT', date: '2025-01-01', customerCode: 'c', addresses: {}, lines: [] })
      .catch((e: unknown) => e)) as AvaTaxError;
    expect(error.status).toBe(401);
    expect(error.details[0]?.description).toMatch(/Missing authentication/);
    expect(waits).toEqual([]);
  });

  it('retries a 500 and then succeeds', async () => {
    const client = createAvaTaxClient({ baseUrl: avalara.url, accountId: '1', licenseKey: 'k', sleep: async () => {} });
    avalara.failNext(2);
    const tx = await client.createTransaction({
      type: 'SalesOrder', companyCode: 'DEFAULT', date: '2025-01-01', customerCode: 'c',
      addresses: { singleLocation: { region: 'WA', country: 'US' } }, lines: [{ amount: 200 }],
    });
    expect(tx.totalTax).toBe(13);
  });
});

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});
