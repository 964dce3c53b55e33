import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config.js';
import { claimText, devIssuer, resolveTenantAuth, scopesAllow, tokenScopes } from './auth.js';

const config = (auth: unknown) => parseConfig(JSON.stringify({ project: 'demo', auth }), 'sovereign.config.json');

describe('auth settings', () => {
  it('fills {tenant}, applies a tenant\'s override and keeps the default claim', () => {
    const settings = {
      jwt: { issuer: 'https://idp.example/{tenant}', audience: ['api', '{tenant}-app'] },
      tenants: { globex: { jwt: { issuer: 'https://globex.example/', audience: 'g', tenantClaim: null }, apiKeys: false } },
    };
    expect(resolveTenantAuth(settings, 'acme')).toEqual({ issuers: ['https://idp.example/acme'], audiences: ['api', 'acme-app'], tenantClaim: 'tenant_id', apiKeys: true });
    expect(resolveTenantAuth(settings, 'globex')).toEqual({ issuers: ['https://globex.example/'], audiences: ['g'], tenantClaim: null, apiKeys: false });
    expect(() => config(settings)).not.toThrow();
  });

  it('trusts the dev issuer under dev, always with a tenant claim', () => {
    const own = { tenants: { acme: { jwt: { issuer: 'https://acme.example/', audience: 'a', tenantClaim: null } } } };
    expect(resolveTenantAuth(own, 'acme', devIssuer('demo', 'dev'))).toEqual({
      issuers: ['https://acme.example/', 'urn:sovereign:dev:demo:dev'], audiences: ['a'], tenantClaim: 'tenant_id', apiKeys: true,
    });
    expect(resolveTenantAuth(undefined, 'acme', devIssuer('demo', 'dev')).audiences).toEqual(['sovereign']);
  });

  it('refuses a project issuer shared by tenants without a tenant claim', () => {
    expect(() => config({ jwt: { issuer: 'https://idp.example/', audience: 'api', tenantClaim: null } })).toThrow(/shared by every tenant/);
    expect(() => config({ jwt: { issuer: 'https://idp.example/{tenant}', audience: 'api', tenantClaim: null } })).not.toThrow();
  });

  it('reads claims and scopes the way API Gateway passes them', () => {
    expect(claimText(['a', 'b'])).toBe('[a b]');
    expect(claimText(12)).toBe('12');
    expect(claimText({ x: 1 })).toBe('{"x":1}');
    expect(tokenScopes({ scope: 'a b' })).toEqual(['a', 'b']);
    expect(tokenScopes({ scp: ['a', 'b'] })).toEqual(['a', 'b']);
    expect(tokenScopes({ scp: '[a b]' })).toEqual(['a', 'b']);
    expect(scopesAllow(['x', 'y'], ['y'])).toBe(true);
    expect(scopesAllow(['x'], ['y'])).toBe(false);
    expect(scopesAllow([], [])).toBe(true);
  });
});
