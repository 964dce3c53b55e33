import { describe, expect, it } from 'vitest';
import { formatDevEvent, viewRows } from './view.js';

describe('formatDevEvent', () => {
  it('writes the event lines scripts and CI logs read', () => {
    expect(formatDevEvent({ kind: 'dev ready', fields: { port: 4000, tenants: 'acme,globex' } })).toBe('dev ready port=4000 tenants=acme,globex');
    expect(formatDevEvent({ kind: 'tenant started', fields: { tenant: 'acme', pid: 42 } })).toBe('tenant acme started pid=42');
    expect(formatDevEvent({ kind: 'tenant crashed', fields: { tenant: 'acme', code: 1, signal: undefined, restarting_in: '500ms' } })).toBe('tenant acme crashed code=1 restarting in 500ms');
    expect(formatDevEvent({ kind: 'tenant failed', fields: { tenant: 'acme', reason: 'no such extension' } })).toBe('tenant acme failed reason="no such extension"');
  });
});

describe('viewRows', () => {
  it('shows status, rate, errors, p99 and the secret cache hit rate per tenant', () => {
    const rows = viewRows({
      pid: 1,
      port: 4000,
      startedAt: '',
      tenants: [
        { tenant: 'acme', status: 'running', pid: 7, environments: 3, restarts: 1, requests: 10, errors: 2, throttled: 3, statusClasses: {}, ratePerSecond: 2.5, latencyMs: { p50: 1, p99: 12.3, recentP99: 4.56 }, secretCache: { hits: 3, misses: 1, hitRate: 0.75 } },
        { tenant: 'globex', status: 'crashed', pid: null, restarts: 0, requests: 0, errors: 0, throttled: 0, statusClasses: {}, ratePerSecond: 0, latencyMs: { p50: null, p99: null, recentP99: null }, secretCache: null },
      ],
    });
    expect(rows[0]).toMatchObject({ tenant: 'acme', status: 'running', environments: '3', pid: '7', rps: '2.5', errors: '2', throttled: '3', p99: '4.6ms', cache: '75%', restarts: '1' });
    expect(rows[1]).toMatchObject({ tenant: 'globex', environments: '0', pid: '-', p99: '-', cache: '-' });
  });
});
