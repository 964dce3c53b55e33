import { describe, expect, it } from 'vitest';
import { projectPaths, type Project } from '../../../project.js';
import { configSchema } from '../../../config.js';
import { loadRuntimeConfig } from '../../../runtime/config.js';
import { newTenantRecord } from '../../../tenants/tenants.js';
import { localTenantEnvironment, permissionArgs, tenantRuntimeConfig, webhookSecretReference } from './launch.js';

const project: Project = {
  root: '/p',
  config: configSchema.parse({ project: 'demo', tenantConfig: { avalara: { companyCode: 'DEFAULT', timeoutMs: 5000 } } }),
  paths: projectPaths('/p'),
};

function record() {
  const r = newTenantRecord({ id: 'acme', tier: 'premium', stage: 'dev', extensions: ['avalara', 'cetec'], by: 'test', now: '2026-01-01T00:00:00.000Z' });
  r.config = { avalara: { companyCode: 'ACME' } };
  r.secrets = {
    'avalara.license_key': { reference: 'secretsmanager:dev/tenants/acme/avalara:license_key', setAt: '', setBy: '' },
    'shipping.api_key': { reference: 'ssm:/dev/tenants/acme/shipping/api_key', setAt: '', setBy: '' },
  };
  return r;
}

describe('tenantRuntimeConfig', () => {
  it('puts the tenant\'s settings over the project defaults and keeps only enabled extensions\' secrets', () => {
    expect(tenantRuntimeConfig(project, record())).toEqual({
      extensions: ['avalara', 'cetec'],
      secrets: { 'avalara.license_key': 'secretsmanager:dev/tenants/acme/avalara:license_key' },
      config: { avalara: { companyCode: 'ACME', timeoutMs: 5000 } },
      webhookSecret: 'ssm:/dev/tenants/acme/_sovereign/webhook_secret',
      auth: { issuers: [], audiences: [], tenantClaim: 'tenant_id', apiKeys: true },
    });
    // Under dev, the gateway's issuer is trusted too.
    expect(tenantRuntimeConfig(project, record(), { dev: true }).auth).toEqual({ issuers: ['urn:sovereign:dev:demo:dev'], audiences: ['sovereign'], tenantClaim: 'tenant_id', apiKeys: true });
    expect(webhookSecretReference('prod', 'globex')).toBe('ssm:/prod/tenants/globex/_sovereign/webhook_secret');
  });
});

describe('localTenantEnvironment', () => {
  const parent = { PATH: '/usr/bin', AWS_SECRET_ACCESS_KEY: 'real-secret', AWS_PROFILE: 'prod', SOVEREIGN_SECRET_TTL_MS: '1000', HOME: '/root' };
  const env = localTenantEnvironment(project, record(), { sha256: 'a'.repeat(64), entry: '/p/.sovereign/artifacts/a/index.mjs' }, parent);

  it('holds only this tenant\'s paths and dummy local credentials, never the parent\'s', () => {
    expect(env).toMatchObject({
      SOVEREIGN_TENANT: 'acme',
      SOVEREIGN_TIER: 'premium',
      SOVEREIGN_TABLE: 'sovereign-dev-acme',
      SOVEREIGN_SECRETS_BACKEND: 'vault',
      SOVEREIGN_VAULT_PATH: '/p/.sovereign/vault/acme.vault',
      SOVEREIGN_VAULT_KEY_FILE: '/p/.sovereign/keys/acme.key',
      SOVEREIGN_GENERATION_SOURCE: 'file:/p/.sovereign/data/acme/generation.json',
      SOVEREIGN_SECRET_TTL_MS: '1000',
      AWS_SECRET_ACCESS_KEY: 'local',
      PATH: '/usr/bin',
    });
    expect(env.AWS_PROFILE).toBeUndefined();
    expect(env.HOME).toBeUndefined();
    expect(JSON.stringify(env)).not.toContain('real-secret');
  });

  it('hands the tenant the data plane’s endpoint and its own session credentials, in Lambda’s variables', () => {
    const credentials = { accessKeyId: 'ASIAEXAMPLEEXAMPLE00', secretAccessKey: 's'.repeat(40), sessionToken: 't'.repeat(128) };
    const withData = localTenantEnvironment(project, record(), { sha256: 'a'.repeat(64), entry: '/p/.sovereign/artifacts/a/index.mjs' }, parent, { endpoint: 'http://127.0.0.1:4567', credentials });
    expect(withData).toMatchObject({
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:4567',
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_SESSION_TOKEN: credentials.sessionToken,
    });
    expect(JSON.stringify(withData)).not.toContain('real-secret');
  });

  it('is a configuration the runtime accepts as it is', () => {
    const config = loadRuntimeConfig(env);
    expect(config).toMatchObject({ tenant: 'acme', stage: 'dev', tier: 'premium', secretsBackend: { kind: 'vault' }, generationSource: { kind: 'file' } });
  });
});

describe('permissionArgs', () => {
  it('grants reading the tenant\'s own key and vault and writing only its data folder', () => {
    const args = permissionArgs({ artifactDir: '/p/.sovereign/artifacts/a', dataDir: '/p/.sovereign/data/acme', vault: '/p/.sovereign/vault/acme.vault', key: '/p/.sovereign/keys/acme.key' }, '/pkg');
    expect(args).toContain('--allow-fs-read=/p/.sovereign/keys/acme.key');
    expect(args).toContain('--allow-fs-read=/p/.sovereign/vault/acme.vault');
    expect(args).toContain('--allow-fs-write=/p/.sovereign/data/acme');
    expect(args.filter((a) => a.startsWith('--allow-fs-write'))).toHaveLength(1);
    expect(args.some((a) => a.includes('/p/.sovereign/keys/') && !a.endsWith('acme.key'))).toBe(false);
    expect(args.some((a) => a === '--allow-fs-read=/p' || a === '--allow-fs-read=/p/.sovereign')).toBe(false);
  });

  it('grants no addons, child processes, workers or WASI', () => {
    const args = permissionArgs({ artifactDir: '/p/.sovereign/artifacts/a', dataDir: '/p/.sovereign/data/acme', vault: '/p/.sovereign/vault/acme.vault', key: '/p/.sovereign/keys/acme.key' }, '/pkg');
    expect(args.length).toBeGreaterThan(0);
    expect(args.filter((a) => /^--allow-(addons|child-process|worker|wasi)/.test(a))).toEqual([]);
  });
});
