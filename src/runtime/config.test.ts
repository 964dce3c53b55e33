import { describe, expect, it } from 'vitest';
import { RuntimeConfigError } from './errors.js';
import { loadRuntimeConfig } from './config.js';

const base = {
  SOVEREIGN_TENANT: 'acme',
  SOVEREIGN_STAGE: 'dev',
  SOVEREIGN_TABLE: 'sovereign-dev-acme',
  SOVEREIGN_TENANT_CONFIG: JSON.stringify({
    extensions: ['avalara'],
    secrets: { 'avalara.license_key': 'secretsmanager:dev/tenants/acme/avalara:license_key' },
    config: { avalara: { companyCode: 'ACME' } },
    webhookSecret: 'ssm:/dev/tenants/acme/_sovereign/webhook_secret',
  }),
};

function problems(env: Record<string, string>): string[] {
  try {
    loadRuntimeConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(RuntimeConfigError);
    return (error as RuntimeConfigError).problems;
  }
  return [];
}

describe('loadRuntimeConfig', () => {
  it('reads the documented environment with defaults', () => {
    expect(loadRuntimeConfig(base)).toMatchObject({
      tenant: 'acme', stage: 'dev', tier: 'standard', table: 'sovereign-dev-acme', artifact: 'unknown',
      secretsBackend: { kind: 'aws' }, generationSource: { kind: 'dynamodb' }, generationIntervalMs: 1000,
      secretTtlMs: 300_000, secretCacheMax: 1000, logLevel: 'info',
      tenantConfig: { extensions: ['avalara'], config: { avalara: { companyCode: 'ACME' } } },
    });
    expect(loadRuntimeConfig({ ...base, SOVEREIGN_SECRETS_BACKEND: 'vault', SOVEREIGN_VAULT_PATH: '/v', SOVEREIGN_VAULT_KEY_FILE: '/k', SOVEREIGN_GENERATION_SOURCE: 'file:/g.json', SOVEREIGN_TARGET: 'local' }))
      .toMatchObject({ secretsBackend: { kind: 'vault', path: '/v', keyFile: '/k' }, generationSource: { kind: 'file', path: '/g.json' } });
  });

  it('lists every problem at once, never a secret value', () => {
    const found = problems({
      SOVEREIGN_TENANT: 'Acme',
      SOVEREIGN_STAGE: 'dev',
      SOVEREIGN_SECRETS_BACKEND: 'vault',
      SOVEREIGN_GENERATION_INTERVAL_MS: 'soon',
      SOVEREIGN_GENERATION_SOURCE: 's3://x',
      SOVEREIGN_TENANT_CONFIG: JSON.stringify({ extensions: ['ok', 'Bad'], secrets: { 'avalara.key': 'arn:aws:secretsmanager:eu-west-1:1:secret:x', nodot: 'ssm:/x' }, webhookSecret: 'plaintext-password' }),
    });
    expect(found).toEqual(expect.arrayContaining([
      'SOVEREIGN_TENANT "Acme" is not a valid tenant id',
      'SOVEREIGN_TABLE is not set',
      'SOVEREIGN_VAULT_PATH is not set',
      'SOVEREIGN_VAULT_KEY_FILE is not set',
      'SOVEREIGN_GENERATION_INTERVAL_MS must be an integer ≥ 0',
      'SOVEREIGN_GENERATION_SOURCE "s3://x" must be dynamodb or file:<path>',
      'SOVEREIGN_TENANT_CONFIG.extensions: "Bad" is not an extension name',
      'SOVEREIGN_TENANT_CONFIG.secrets: "nodot" is not "<extension>.<key>"',
    ]));
    expect(found.some((p) => p.startsWith('SOVEREIGN_TENANT_CONFIG.secrets["avalara.key"]'))).toBe(true);
    expect(found.some((p) => p.startsWith('SOVEREIGN_TENANT_CONFIG.webhookSecret:'))).toBe(true);
    expect(found.join('\n')).not.toContain('plaintext-password');
    expect(problems({ ...base, SOVEREIGN_TENANT_CONFIG: '{not json' })[0]).toMatch(/^SOVEREIGN_TENANT_CONFIG is not JSON/);
  });
});
