/**
 * A fake AvaTax REST v2 API on loopback: HTTP Basic auth with `accountId:licenseKey`, the AvaTax
 * error envelope (`{ error: { code, message, target, details[] } }`), 429 with `Retry-After`, and
 * deterministic tax from a per-state rate table.
 *
 *   GET  /api/v2/utilities/ping           200 always; `authenticated` tells whether the credentials worked
 *   POST /api/v2/transactions/create      401 without valid credentials; 400 on a bad model
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RateLimitFault, sendJson, startLoopbackServer, type LoopbackServer } from './http.js';

export interface FakeAvalaraOptions {
  accountId: string;
  licenseKey: string;
  /** Company codes that exist (default `['DEFAULT']`). */
  companies?: string[];
}

export interface FakeAvalara extends LoopbackServer {
  readonly rateLimit: RateLimitFault;
  /** Transactions created (200 answers to transactions/create). */
  readonly transactions: number;
  /** All requests seen, by outcome. */
  readonly stats: { requests: number; unauthorized: number; badRequests: number };
  /** `X-Avalara-Client` of the last request. */
  readonly lastClientHeader: string | undefined;
  /** Every `code` of a created transaction, counted (to spot duplicates). */
  readonly codes: Map<string, number>;
  /** The next `count` transactions/create answer 500 with an AvaTax envelope. */
  failNext(count: number): void;
}

/** State sales tax rates the fake applies (approximations; the fake only needs determinism). */
export const FAKE_RATES: Record<string, number> = {
  CA: 0.0725,
  WA: 0.065,
  TX: 0.0625,
  NY: 0.04,
  OR: 0,
  FL: 0.06,
  IL: 0.0625,
  CO: 0.029,
};

const TYPES = new Set([
  'SalesOrder', 'SalesInvoice', 'PurchaseOrder', 'PurchaseInvoice', 'ReturnOrder', 'ReturnInvoice',
  'InventoryTransferOrder', 'InventoryTransferInvoice',
]);

function avaError(code: string, message: string, target: string, description: string) {
  return {
    error: {
      code,
      message,
      target,
      details: [
        {
          code,
          message,
          description,
          faultCode: target === 'HttpRequest' ? 'Client' : 'Server',
          helpLink: `https://developer.avalara.com/avatax/errors/${code}`,
          severity: 'Error',
        },
      ],
    },
  };
}

const round2 = (n: number) => Math.round((n + Number.EPSILON) * 100) / 100;

interface AddressInfo {
  region?: string;
  country?: string;
  postalCode?: string;
  line1?: string;
  city?: string;
}

interface LineModel {
  number?: string;
  quantity?: number;
  amount?: number;
  taxCode?: string;
  itemCode?: string;
  description?: string;
}

interface CreateTransactionModel {
  type?: string;
  companyCode?: string;
  code?: string;
  date?: string;
  customerCode?: string;
  exemptionNo?: string;
  commit?: boolean;
  lines?: LineModel[];
  addresses?: { singleLocation?: AddressInfo; shipFrom?: AddressInfo; shipTo?: AddressInfo };
}

export async function startFakeAvalara(options: FakeAvalaraOptions): Promise<FakeAvalara> {
  const companies = new Set(options.companies ?? ['DEFAULT']);
  const expected = `Basic ${Buffer.from(`${options.accountId}:${options.licenseKey}`).toString('base64')}`;
  const rateLimit = new RateLimitFault();
  const stats = { requests: 0, unauthorized: 0, badRequests: 0 };
  const codes = new Map<string, number>();
  let transactions = 0;
  let nextId = 80_000_000;
  let failures = 0;
  let lastClientHeader: string | undefined;

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string): void => {
    stats.requests += 1;
    lastClientHeader = req.headers['x-avalara-client'] as string | undefined;
    const url = new URL(req.url ?? '/', 'http://fake');
    if (rateLimit.take()) {
      return sendJson(
        res,
        429,
        avaError('TooManyRequests', 'You have exceeded the rate limit.', 'HttpRequest', 'Slow down and retry after the time given in Retry-After.'),
        { 'retry-after': String(rateLimit.retryAfterSeconds) },
      );
    }
    const authorized = req.headers.authorization === expected;

    if (req.method === 'GET' && url.pathname === '/api/v2/utilities/ping') {
      return sendJson(res, 200, {
        version: '25.11.0',
        authenticated: authorized,
        authenticationType: authorized ? 'AccountIdLicenseKey' : 'None',
        ...(authorized ? { authenticatedAccountId: Number(options.accountId) || 0 } : {}),
      });
    }
    if (req.method === 'POST' && url.pathname === '/api/v2/transactions/create') {
      if (!authorized) {
        stats.unauthorized += 1;
        return sendJson(
          res,
          401,
          avaError('AuthenticationException', 'Authentication failed.', 'HttpRequest', 'Missing authentication or unable to authenticate the user or the account.'),
        );
      }
      if (failures > 0) {
        failures -= 1;
        return sendJson(res, 500, avaError('ServerConfiguration', 'An internal error occurred.', 'Unknown', 'Server configuration problem.'));
      }
      let model: CreateTransactionModel;
      try {
        model = JSON.parse(raw) as CreateTransactionModel;
      } catch {
        stats.badRequests += 1;
        return sendJson(res, 400, avaError('JsonFormatError', 'The request body is not valid JSON.', 'IncorrectData', 'Send a JSON body.'));
      }
      const bad = (code: string, message: string) => {
        stats.badRequests += 1;
        sendJson(res, 400, avaError(code, message, 'IncorrectData', message));
      };
      if (!model.type || !TYPES.has(model.type)) return bad('InvalidEnumValue', `The value '${String(model.type)}' is not valid for field 'type'.`);
      if (!model.companyCode || !companies.has(model.companyCode)) {
        return bad('EntityNotFoundError', `Company with code '${String(model.companyCode)}' not found.`);
      }
      if (!model.customerCode) return bad('ValueRequiredError', "Field 'customerCode' is required.");
      if (!model.date || !/^\d{4}-\d{2}-\d{2}/.test(model.date)) return bad('ValueRequiredError', "Field 'date' is required.");
      if (!Array.isArray(model.lines) || model.lines.length === 0) return bad('MissingLine', 'A transaction must have at least one line.');
      const to = model.addresses?.shipTo ?? model.addresses?.singleLocation;
      if (!to) return bad('MissingAddress', 'A transaction must have a shipTo or singleLocation address.');
      if ((to.country ?? 'US') !== 'US' || !to.region || !(to.region in FAKE_RATES)) {
        return bad('InvalidAddress', `The address region '${String(to.region)}' is not recognised.`);
      }
      const rate = model.exemptionNo ? 0 : (FAKE_RATES[to.region] as number);
      let totalAmount = 0;
      let totalTax = 0;
      const lines = model.lines.map((line, i) => {
        const amount = Number(line.amount ?? 0);
        const tax = round2(amount * rate);
        totalAmount += amount;
        totalTax += tax;
        return {
          lineNumber: line.number ?? String(i + 1),
          itemCode: line.itemCode ?? '',
          quantity: line.quantity ?? 1,
          lineAmount: amount,
          taxableAmount: rate > 0 ? amount : 0,
          exemptAmount: rate > 0 ? 0 : amount,
          tax,
          taxCalculated: tax,
          details: [{ country: 'US', region: to.region, jurisType: 'State', jurisName: to.region, rate, tax, taxableAmount: amount }],
        };
      });
      transactions += 1;
      if (model.code) codes.set(model.code, (codes.get(model.code) ?? 0) + 1);
      const saved = model.type !== 'SalesOrder' && model.commit === true;
      return sendJson(res, 201, {
        id: saved ? (nextId += 1) : 0,
        code: model.code ?? `tmp-${transactions}`,
        companyId: 1,
        date: model.date.slice(0, 10),
        status: saved ? 'Committed' : model.type === 'SalesOrder' ? 'Temporary' : 'Saved',
        type: model.type,
        customerCode: model.customerCode,
        currencyCode: 'USD',
        totalAmount: round2(totalAmount),
        totalExempt: rate > 0 ? 0 : round2(totalAmount),
        totalTaxable: rate > 0 ? round2(totalAmount) : 0,
        totalTax: round2(totalTax),
        totalTaxCalculated: round2(totalTax),
        lines,
        summary: [{ country: 'US', region: to.region, jurisType: 'State', jurisName: to.region, rate, tax: round2(totalTax), taxable: round2(totalAmount) }],
      });
    }
    return sendJson(res, 404, avaError('EntityNotFoundError', `No route ${req.method} ${url.pathname}.`, 'HttpRequest', 'Unknown endpoint.'));
  };

  const server = await startLoopbackServer(handle);
  return {
    get url() {
      return server.url;
    },
    get port() {
      return server.port;
    },
    crash: () => server.crash(),
    restart: () => server.restart(),
    close: () => server.close(),
    rateLimit,
    get transactions() {
      return transactions;
    },
    stats,
    get lastClientHeader() {
      return lastClientHeader;
    },
    codes,
    failNext(count: number) {
      failures = count;
    },
  };
}
