/**
 * A fake Cetec ERP API on loopback. Like the real one it authenticates with a `preshared_token`
 * query parameter and pages list endpoints with `offset` / `limit`, answering JSON arrays with an
 * `X-Total-Count` header. Its data set is generated from the record index on every request, so
 * 60,000 invoices cost no memory.
 *
 *   GET /goapis/api/v1/customer/list?preshared_token=…&offset=0&limit=100
 *   GET /goapis/api/v1/order/list?…
 *   GET /goapis/api/v1/invoice/list?…
 *   GET /goapis/api/v1/invoice/{id}?preshared_token=…
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RateLimitFault, seededRandom, sendJson, startLoopbackServer, type LoopbackServer } from './http.js';

export interface CetecAddress {
  address1: string;
  city: string;
  state: string;
  zip: string;
  country: string;
}

export interface CetecCustomer {
  id: number;
  name: string;
  external_key: string;
  tax_exempt: boolean;
  ship_to: CetecAddress;
}

export interface CetecLine {
  line_number: number;
  prcpart: string;
  description: string;
  qty: number;
  unit_price: number;
}

export interface CetecOrder {
  id: number;
  ordernum: string;
  customer_id: number;
  order_date: string;
  status: 'open' | 'shipped' | 'closed';
  lines: CetecLine[];
}

export interface CetecInvoice {
  id: number;
  invoice_number: string;
  ordernum: string;
  customer_id: number;
  customer_name: string;
  invoice_date: string;
  ship_to: CetecAddress;
  lines: CetecLine[];
  total: number;
}

export interface FakeCetecOptions {
  /** The token the fake accepts. */
  token: string;
  invoices?: number;
  customers?: number;
  orders?: number;
  /** Largest `limit` honoured; larger values are clamped (default 500). */
  maxLimit?: number;
  /** Every n-th invoice (index % n === n - 1) ships to region `ZZ`, which AvaTax refuses. */
  badAddressEvery?: number;
}

export interface FakeCetec extends LoopbackServer {
  readonly counts: { invoices: number; customers: number; orders: number };
  /** 429 storms: `rateLimit.storm(50, { retryAfterSeconds: 0 })`. */
  readonly rateLimit: RateLimitFault;
  /** List pages served with 200 since start. */
  readonly pagesServed: number;
  /** Every request seen: path, query (token included, this is the fake) and status. */
  readonly requests: Array<{ path: string; query: Record<string, string>; status: number }>;
  /** After `pages` more list pages are served, the next list request kills the server. */
  crashAfterPages(pages: number): void;
}

const STATES: Array<[string, string, string]> = [
  ['CA', 'Irvine', '92614'],
  ['WA', 'Seattle', '98101'],
  ['TX', 'Austin', '78701'],
  ['NY', 'Albany', '12207'],
  ['OR', 'Portland', '97201'],
  ['FL', 'Miami', '33101'],
  ['IL', 'Chicago', '60601'],
  ['CO', 'Denver', '80202'],
];
const PARTS = ['PCB-100', 'PCB-220', 'CAB-010', 'ENC-3U', 'PSU-450', 'FAN-80', 'SCR-M3', 'LBL-STD'];

const round2 = (n: number) => Math.round(n * 100) / 100;

function dateFor(index: number): string {
  const day = new Date(Date.UTC(2025, 0, 1) + (index % 365) * 86_400_000);
  return day.toISOString().slice(0, 10);
}

export function customerAt(index: number): CetecCustomer {
  const [state, city, zip] = STATES[index % STATES.length] as [string, string, string];
  return {
    id: 5000 + index,
    name: `Customer ${index + 1} Manufacturing`,
    external_key: `CUST-${String(index + 1).padStart(5, '0')}`,
    tax_exempt: index % 17 === 0,
    ship_to: { address1: `${100 + (index % 900)} Main St`, city, state, zip, country: 'US' },
  };
}

function linesFor(seed: number): CetecLine[] {
  const random = seededRandom(seed);
  const count = 1 + Math.floor(random() * 3);
  const lines: CetecLine[] = [];
  for (let n = 1; n <= count; n += 1) {
    const part = PARTS[Math.floor(random() * PARTS.length)] as string;
    lines.push({
      line_number: n,
      prcpart: part,
      description: `${part} assembly`,
      qty: 1 + Math.floor(random() * 20),
      unit_price: round2(5 + random() * 495),
    });
  }
  return lines;
}

export function orderAt(index: number, customers: number): CetecOrder {
  return {
    id: 200_000 + index,
    ordernum: `SO-${String(200_000 + index)}`,
    customer_id: 5000 + (index % customers),
    order_date: dateFor(index),
    status: (['open', 'shipped', 'closed'] as const)[index % 3] as CetecOrder['status'],
    lines: linesFor(index * 7 + 3),
  };
}

export function invoiceAt(index: number, customers: number, badAddressEvery = 0): CetecInvoice {
  const customer = customerAt(index % customers);
  const lines = linesFor(index * 7 + 3);
  const shipTo = badAddressEvery > 0 && index % badAddressEvery === badAddressEvery - 1 ? { ...customer.ship_to, state: 'ZZ' } : customer.ship_to;
  return {
    id: 1_000_000 + index,
    invoice_number: `INV-${String(index + 1).padStart(7, '0')}`,
    ordernum: `SO-${String(200_000 + index)}`,
    customer_id: customer.id,
    customer_name: customer.name,
    invoice_date: dateFor(index),
    ship_to: shipTo,
    lines,
    total: round2(lines.reduce((sum, line) => sum + line.qty * line.unit_price, 0)),
  };
}

export async function startFakeCetec(options: FakeCetecOptions): Promise<FakeCetec> {
  const counts = {
    invoices: options.invoices ?? 1000,
    customers: options.customers ?? 250,
    orders: options.orders ?? 1000,
  };
  const maxLimit = options.maxLimit ?? 500;
  const rateLimit = new RateLimitFault();
  const requests: FakeCetec['requests'] = [];
  let pagesServed = 0;
  let crashAt: number | undefined;
  let server: LoopbackServer | undefined;

  const record = (path: string, query: Record<string, string>, status: number) => {
    requests.push({ path, query, status });
    if (requests.length > 2000) requests.splice(0, requests.length - 2000);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record(url.pathname, query, status);
      sendJson(res, status, body, headers);
    };
    if (rateLimit.take()) {
      return reply(429, { error: 'Too many requests' }, { 'retry-after': String(rateLimit.retryAfterSeconds) });
    }
    const token = url.searchParams.get('preshared_token');
    if (!token) return reply(401, { error: 'preshared_token is required' });
    if (token !== options.token) return reply(401, { error: 'Invalid preshared_token' });
    if (req.method !== 'GET') return reply(405, { error: `Method ${req.method} not allowed` });

    const list = /^\/goapis\/api\/v1\/(customer|order|invoice)\/list$/.exec(url.pathname);
    if (list) {
      if (crashAt !== undefined && pagesServed >= crashAt) {
        crashAt = undefined;
        record(url.pathname, query, 0);
        void server?.crash();
        return;
      }
      const offset = Number(url.searchParams.get('offset') ?? '0');
      const limit = Number(url.searchParams.get('limit') ?? '100');
      if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(limit) || limit < 1) {
        return reply(400, { error: 'offset and limit must be non-negative integers; limit at least 1' });
      }
      const size = Math.min(limit, maxLimit);
      const kind = list[1] as 'customer' | 'order' | 'invoice';
      const total = kind === 'customer' ? counts.customers : kind === 'order' ? counts.orders : counts.invoices;
      const page: unknown[] = [];
      for (let i = offset; i < Math.min(total, offset + size); i += 1) {
        page.push(
          kind === 'customer' ? customerAt(i) : kind === 'order' ? orderAt(i, counts.customers) : invoiceAt(i, counts.customers, options.badAddressEvery),
        );
      }
      pagesServed += 1;
      return reply(200, page, { 'x-total-count': String(total) });
    }
    const one = /^\/goapis\/api\/v1\/invoice\/(\d+)$/.exec(url.pathname);
    if (one) {
      const index = Number(one[1]) - 1_000_000;
      if (index < 0 || index >= counts.invoices) return reply(404, { error: `Invoice ${one[1]} not found` });
      return reply(200, invoiceAt(index, counts.customers, options.badAddressEvery));
    }
    return reply(404, { error: `No route ${url.pathname}` });
  };

  server = await startLoopbackServer((req, res) => handle(req, res));
  const base = server;
  return {
    get url() {
      return base.url;
    },
    get port() {
      return base.port;
    },
    crash: () => base.crash(),
    restart: () => base.restart(),
    close: () => base.close(),
    counts,
    rateLimit,
    get pagesServed() {
      return pagesServed;
    },
    requests,
    crashAfterPages(pages: number) {
      crashAt = pagesServed + pages;
    },
  };
}
