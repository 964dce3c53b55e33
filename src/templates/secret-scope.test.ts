import { describe, expect, it } from 'vitest';
import { tenantSecretScope } from './secret-scope.js';

describe('tenantSecretScope', () => {
  it('defaults to the stage/tenants/<tenant>/ prefixes', () => {
    expect(tenantSecretScope({ stage: 'prod', tenant: 'acme', extensions: ['avalara', 'cetec'] })).toEqual({
      ssmParameters: ['/prod/tenants/acme/*'],
      secrets: ['prod/tenants/acme/*'],
    });
  });

  it('gives one exact secret per extension with the <extension>-<tenant>-secrets pattern', () => {
    const scope = tenantSecretScope({
      stage: 'prod',
      tenant: 'acme',
      extensions: ['avalara', 'cetec'],
      secretsConfig: { secretsManagerName: '{extension}-{tenant}-secrets' },
      references: ['ssm:/prod/tenants/acme/_sovereign/webhook_secret'],
    });
    expect(scope.secrets).toEqual(['avalara-acme-secrets', 'cetec-acme-secrets']);
    expect(scope.ssmParameters).toEqual(['/prod/tenants/acme/*']);
  });

  it('adds a webhook parameter that lies outside a custom SSM prefix', () => {
    const scope = tenantSecretScope({
      stage: 'prod',
      tenant: 'acme',
      extensions: ['avalara'],
      secretsConfig: { ssmPrefix: '/apps/{extension}/{tenant}/' },
      references: ['ssm:/prod/tenants/acme/_sovereign/webhook_secret'],
    });
    expect(scope.ssmParameters).toEqual(['/apps/avalara/acme/*', '/prod/tenants/acme/_sovereign/webhook_secret']);
  });
});
