import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { thrownBy } from '../../test/helpers/errors.js';
import { apiKeyView, parseExpiry, parseKeyName, parseScopes } from './api-keys.js';

const refused = (fn: () => unknown): UserError => thrownBy(fn, UserError);

describe('tenant keys input', () => {
  it('--expires takes minutes, hours or days up to 3650 days; anything else is exit 2', () => {
    expect(parseExpiry('30m')).toBe(30 * 60_000);
    expect(parseExpiry('12h')).toBe(12 * 3_600_000);
    expect(parseExpiry('90d')).toBe(90 * 86_400_000);
    expect(parseExpiry('3650d')).toBe(3650 * 86_400_000);
    for (const bad of ['', '0d', '00d', '3651d', '87601h', '90', 'd', '1w', '1.5d', '-1d', ' 1d', '1d ', '10000000d', '1D']) {
      const error = refused(() => parseExpiry(bad));
      expect(error.exitCode, bad).toBe(2);
      expect(error.hint, bad).toMatch(/e\.g\. --expires 90d/);
    }
  });

  it('--scopes splits commas across repeated flags, keeps the order given and drops repeats', () => {
    expect(parseScopes([])).toEqual([]);
    expect(parseScopes(['b:write,a:read', 'a:read', 'c/d ,e.f'])).toEqual(['b:write', 'a:read', 'c/d', 'e.f']);
    for (const bad of [[''], ['a,'], ['a b'], ['a;b'], [`x${'y'.repeat(128)}`], ['-a']]) expect(refused(() => parseScopes(bad)).exitCode, bad.join()).toBe(2);
  });

  it('a key name is API_KEY_NAME', () => {
    expect(parseKeyName('erp')).toBe('erp');
    expect(parseKeyName(`a${'b'.repeat(39)}`)).toHaveLength(40);
    for (const bad of ['', 'ERP', '1erp', '-erp', 'e_rp', `a${'b'.repeat(40)}`, 'erp\n']) expect(refused(() => parseKeyName(bad)).exitCode, JSON.stringify(bad)).toBe(2);
  });
});

describe('a key as listed', () => {
  const record = { id: 'key_0123456789abcdef', name: 'erp', hash: 'a'.repeat(64), scopes: ['x'], createdAt: '2026-01-01T00:00:00.000Z', createdBy: 'ops@host', expiresAt: '2026-02-01T00:00:00.000Z' };

  it('is active until its expiry and expired from then on; last use comes from the record of use, never the hash', () => {
    const before = apiKeyView(record, {}, Date.parse('2026-01-31T23:59:59.999Z'));
    expect(before).toEqual({ name: 'erp', id: record.id, scopes: ['x'], createdAt: record.createdAt, createdBy: 'ops@host', lastUsedAt: null, expiresAt: record.expiresAt, status: 'active' });
    expect(apiKeyView(record, {}, Date.parse(record.expiresAt)).status).toBe('expired');
    expect(apiKeyView({ ...record, expiresAt: null }, {}, Date.parse('2100-01-01T00:00:00Z')).status).toBe('active');
    expect(apiKeyView(record, { [record.id]: '2026-01-15T00:00:00.000Z', key_ffffffffffffffff: 'x' }, 0).lastUsedAt).toBe('2026-01-15T00:00:00.000Z');
    expect(JSON.stringify(before)).not.toContain(record.hash);
  });
});
