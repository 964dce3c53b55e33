import { describe, expect, it } from 'vitest';
import { parseSince, routeRequest } from './gateway.js';

describe('routeRequest', () => {
  it('routes by <tenant>.localhost host', () => {
    expect(routeRequest('acme.localhost:4000', '/avalara/ping?x=1')).toEqual({ tenant: 'acme', path: '/avalara/ping', query: 'x=1' });
    expect(routeRequest('ACME.localhost', '/')).toEqual({ tenant: 'acme', path: '/', query: '' });
  });

  it('routes by /t/<tenant>/ path on localhost', () => {
    expect(routeRequest('localhost:4000', '/t/globex/cetec/invoices?limit=2')).toEqual({ tenant: 'globex', path: '/cetec/invoices', query: 'limit=2' });
    expect(routeRequest('127.0.0.1:4000', '/t/globex')).toEqual({ tenant: 'globex', path: '/', query: '' });
  });

  it('routes no tenant for a Host that is not local (DNS rebinding)', () => {
    expect(routeRequest('evil.example:4000', '/t/acme/avalara/ping')).toEqual({ path: '/t/acme/avalara/ping', query: '' });
    expect(routeRequest('[::1]:4000', '/t/acme/')).toEqual({ tenant: 'acme', path: '/', query: '' });
  });

  it('leaves gateway paths without a tenant', () => {
    expect(routeRequest('localhost:4000', '/_sovereign/dev/stats')).toEqual({ path: '/_sovereign/dev/stats', query: '' });
  });
});

describe('parseSince', () => {
  it('takes ISO dates, epoch milliseconds and durations before now', () => {
    expect(parseSince('2026-01-01T00:00:00Z')).toBe(Date.UTC(2026, 0, 1));
    expect(parseSince('1700000000000')).toBe(1_700_000_000_000);
    expect(parseSince('5m', 1_000_000)).toBe(700_000);
    expect(parseSince(null)).toBeUndefined();
    expect(parseSince('yesterday')).toBeUndefined();
  });
});
