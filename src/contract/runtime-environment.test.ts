import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GLOBAL_ENV } from '../commands/types.js';
import { configSchema } from '../config.js';
import { localTenantEnvironment, tenantRuntimeConfig } from '../targets/local/dev/launch.js';
import { projectPaths, type Project } from '../project.js';
import { loadRuntimeConfig } from '../runtime/config.js';
import { DEFAULT_PICKUP_MS } from '../targets/local/notify.js';
import { lambdaTenantEnvironment } from '../templates/tenant-stack.js';
import { newTenantRecord } from '../tenants/tenants.js';
import { devIssuer, resolveTenantAuth } from './auth.js';
import { serializeTenantRuntimeConfig } from './tenant-runtime-config.js';
import {
  formatGenerationSource, isUnknownRuntimeVariable, parseGenerationSource, RUNTIME_DEFAULTS, RUNTIME_ENV, RUNTIME_ENV_VARS,
  RUNTIME_TUNING_VARS, runtimeEnvironment, type RuntimeEnvironmentInput,
} from './runtime-environment.js';

const tenantConfig = {
  extensions: ['cetec', 'avalara'],
  secrets: { 'avalara.license_key': 'secretsmanager:dev/tenants/acme/avalara:license_key', 'avalara.account_id': 'ssm:/dev/tenants/acme/avalara/account_id' },
  config: { avalara: { companyCode: 'ACME' } },
  webhookSecret: 'ssm:/dev/tenants/acme/_sovereign/webhook_secret',
};

function input(overrides: Partial<RuntimeEnvironmentInput> = {}): RuntimeEnvironmentInput {
  return {
    tenant: 'acme', stage: 'dev', tier: 'premium', table: 'sovereign-dev-acme', artifact: 'a'.repeat(64), tenantConfig,
    secretsBackend: { kind: 'aws' }, generationSource: { kind: 'dynamodb' }, ...overrides,
  };
}

describe('runtimeEnvironment', () => {
  it('names only variables of the contract, which the runtime reads back into the same configuration', () => {
    const env = runtimeEnvironment(input({
      secretsBackend: { kind: 'vault', path: '/v/acme.vault', keyFile: '/k/acme.key' },
      generationSource: { kind: 'file', path: '/d/generation.json' },
      tuning: { SOVEREIGN_SECRET_TTL_MS: '1000', SOVEREIGN_LOG_LEVEL: '' },
    }));
    expect(Object.keys(env).every((name) => (RUNTIME_ENV_VARS as readonly string[]).includes(name))).toBe(true);
    expect(env[RUNTIME_ENV.logLevel]).toBeUndefined();
    expect(loadRuntimeConfig(env)).toEqual({
      tenant: 'acme', stage: 'dev', tier: 'premium', table: 'sovereign-dev-acme', artifact: 'a'.repeat(64),
      tenantConfig: { ...tenantConfig, extensions: ['avalara', 'cetec'] },
      secretsBackend: { kind: 'vault', path: '/v/acme.vault', keyFile: '/k/acme.key' },
      generationSource: { kind: 'file', path: '/d/generation.json' },
      apiKeySource: { kind: 'dynamodb' },
      generationIntervalMs: RUNTIME_DEFAULTS.generationIntervalMs, secretTtlMs: 1000, secretCacheMax: RUNTIME_DEFAULTS.secretCacheMax,
      secretMaxStaleMs: RUNTIME_DEFAULTS.secretMaxStaleMs, logLevel: RUNTIME_DEFAULTS.logLevel,
    });
  });

  it('round-trips the generation source', () => {
    fc.assert(fc.property(fc.string({ minLength: 1 }), (path) => {
      expect(parseGenerationSource(formatGenerationSource({ kind: 'file', path }))).toEqual({ kind: 'file', path });
    }));
    expect(parseGenerationSource(formatGenerationSource({ kind: 'dynamodb' }))).toEqual({ kind: 'dynamodb' });
    expect(parseGenerationSource('file:')).toBeUndefined();
    expect(parseGenerationSource('s3://x')).toBeUndefined();
  });

  it('tolerates the CLI\'s own option twins and the dev server\'s variables, and nothing else', () => {
    for (const name of Object.values(GLOBAL_ENV)) expect({ name, unknown: isUnknownRuntimeVariable(name) }).toEqual({ name, unknown: false });
    expect(isUnknownRuntimeVariable('SOVEREIGN_DEV_ENTRY')).toBe(false);
    expect(isUnknownRuntimeVariable('SOVEREIGN_TENANTS')).toBe(true);
    expect(isUnknownRuntimeVariable('PATH')).toBe(false);
    expect(RUNTIME_TUNING_VARS.every((name) => (RUNTIME_ENV_VARS as readonly string[]).includes(name))).toBe(true);
  });

  it('is the default the CLI promises for picking up a rotation', () => {
    expect(DEFAULT_PICKUP_MS).toBe(RUNTIME_DEFAULTS.generationIntervalMs);
  });
});

// The local launcher and the CloudFormation template each built this environment themselves;
// they now differ only where the targets do (secret store, generation marker, artifact).
describe('the local and the aws environment of one tenant', () => {
  const project: Project = { root: '/p', config: configSchema.parse({ project: 'demo' }), paths: projectPaths('/p') };
  const record = newTenantRecord({ id: 'acme', tier: 'premium', stage: 'dev', extensions: ['cetec', 'avalara'], by: 'test', now: '2026-01-01T00:00:00.000Z' });
  record.config = { avalara: { companyCode: 'ACME' } };
  record.secrets = {
    'avalara.license_key': { reference: 'secretsmanager:dev/tenants/acme/avalara:license_key', setAt: '', setBy: '' },
    'avalara.account_id': { reference: 'ssm:/dev/tenants/acme/avalara/account_id', setAt: '', setBy: '' },
  };
  const runtimeConfig = tenantRuntimeConfig(project, record);
  const local = localTenantEnvironment(project, record, { sha256: 'b'.repeat(64), entry: '/p/.sovereign/artifacts/b/index.mjs' }, {});
  const aws = lambdaTenantEnvironment({
    project: 'demo', tenant: 'acme', stage: 'dev', tier: 'premium', artifactSha256: 'a'.repeat(64),
    extensions: [{ name: 'avalara', permissions: [], routes: [] }, { name: 'cetec', permissions: [], routes: [] }], runtimeConfig,
  });

  // Under dev the gateway's own issuer is trusted as well; nothing else differs.
  const underDev = { ...runtimeConfig, auth: resolveTenantAuth(undefined, 'acme', devIssuer('demo', 'dev')) };

  it('carry the same tenant, tier, table and tenant configuration text (but for the dev issuer)', () => {
    for (const name of [RUNTIME_ENV.tenant, RUNTIME_ENV.stage, RUNTIME_ENV.tier, RUNTIME_ENV.table]) {
      expect({ name, value: local[name] }).toEqual({ name, value: aws[name] });
    }
    expect(local[RUNTIME_ENV.tenantConfig]).toBe(serializeTenantRuntimeConfig(underDev));
    expect(aws[RUNTIME_ENV.tenantConfig]).toBe(serializeTenantRuntimeConfig(runtimeConfig));
  });

  it('are both read by the runtime into the same tenant configuration', () => {
    const fromLocal = loadRuntimeConfig(local);
    const fromAws = loadRuntimeConfig(aws);
    expect(fromLocal.tenantConfig).toEqual(underDev);
    expect(fromAws.tenantConfig).toEqual(runtimeConfig);
    expect(fromLocal.secretsBackend.kind).toBe('vault');
    expect(fromAws.secretsBackend.kind).toBe('aws');
  });
});
