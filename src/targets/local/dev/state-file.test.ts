import { describe, expect, it } from 'vitest';
import { devEndpointHeaders, devEndpointRefusal, sameToken } from './state-file.js';

describe("dev's own endpoints", () => {
  const token = 'x'.repeat(43);

  it('pass with the bearer token of dev.json only', () => {
    const headers = devEndpointHeaders({ pid: 1, port: 4000, startedAt: '', token, tenants: {} });
    expect(devEndpointRefusal('/_sovereign/dev/logs', headers.authorization, token)).toBeUndefined();
    expect(devEndpointRefusal('/_sovereign/dev/stats', undefined, token)).toMatch(/need `Authorization: Bearer <token>`/);
    expect(devEndpointRefusal('/_sovereign/dev/stats', `Bearer ${'y'.repeat(43)}`, token)).toMatch(/not this dev server's/);
    expect(devEndpointRefusal('/_sovereign/dev/stats', `Bearer ${token.slice(1)}`, token)).toMatch(/not this dev server's/);
    expect(devEndpointRefusal('/_sovereign/dev/stats', `Basic ${token}`, token)).toBeDefined();
  });

  it('cover every path under /_sovereign/dev/ but the dev issuer\'s public documents', () => {
    expect(devEndpointRefusal('/_sovereign/dev/anything-added-later', undefined, token)).toBeDefined();
    expect(devEndpointRefusal('/_sovereign/dev/issuer/jwks.json', undefined, token)).toBeUndefined();
    expect(devEndpointRefusal('/_sovereign/dev/issuerx', undefined, token)).toBeDefined();
    expect(devEndpointRefusal('/_sovereign/billing/webhook', undefined, token)).toBeUndefined();
  });

  it('refuse everyone when the server has no token', () => {
    expect(devEndpointRefusal('/_sovereign/dev/logs', 'Bearer ', '')).toBeDefined();
    expect(devEndpointHeaders({ pid: 1, port: 4000, startedAt: '', tenants: {} })).toEqual({});
  });
});

describe('sameToken', () => {
  it('matches the token only, and never an empty one', () => {
    expect(sameToken('abc', 'abc')).toBe(true);
    expect(sameToken('abd', 'abc')).toBe(false);
    expect(sameToken('ab', 'abc')).toBe(false);
    expect(sameToken('', '')).toBe(false);
    expect(sameToken('abc', '')).toBe(false);
  });
});
