import { describe, expect, it } from 'vitest';
import { NotATenantTemplateError, renderTenantStack, retierTenantTemplate, lambdaTenantEnvironment, type TenantStackInputs } from './tenant-stack.js';
import { TIER_NAMES, TIERS } from './tiers.js';
import { renderControlPlaneStack } from './control-plane.js';
import { tenantRoleName } from './names.js';

const SHA = 'a'.repeat(64);

function inputs(overrides: Partial<TenantStackInputs> = {}): TenantStackInputs {
  return {
    project: 'shop',
    tenant: 'acme',
    stage: 'dev',
    tier: 'standard',
    artifactSha256: SHA,
    extensions: [
      { name: 'cetec', permissions: [], routes: [] },
      {
        name: 'avalara',
        permissions: [
          { actions: ['sqs:SendMessage'], resources: ['arn:aws:sqs:{region}:{account}:avalara-{stage}-{tenant}'] },
        ],
        routes: [],
      },
    ],
    runtimeConfig: {
      extensions: ['cetec', 'avalara'],
      secrets: {
        'avalara.license_key': 'secretsmanager:dev/tenants/acme/avalara:license_key',
        'avalara.account_id': 'ssm:/dev/tenants/acme/avalara/account_id',
      },
      config: { avalara: { companyCode: 'ACME' } },
      webhookSecret: 'secretsmanager:dev/tenants/acme/webhook',
    },
    ...overrides,
  };
}

type Json = Record<string, any>;

/** Every string anywhere in `value` that is not the direct argument of Fn::Sub. */
function unsubstitutedStrings(value: unknown, underSub = false): string[] {
  if (typeof value === 'string') return underSub ? [] : [value];
  if (Array.isArray(value)) return value.flatMap((item) => unsubstitutedStrings(item));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => unsubstitutedStrings(item, key === 'Fn::Sub'));
  }
  return [];
}

describe('renderTenantStack', () => {
  it('matches the snapshot', () => {
    expect(renderTenantStack(inputs())).toMatchSnapshot();
  });

  it('names every resource after stage and tenant', () => {
    const template = renderTenantStack(inputs({ tenant: 'acme-eu', stage: 'prod' })) as Json;
    const r = template.Resources;
    expect(r.Function.Properties.FunctionName).toBe('sovereign-prod-acme-eu');
    expect(r.Table.Properties.TableName).toBe('sovereign-prod-acme-eu');
    expect(r.RuntimeRole.Properties.RoleName).toBe('sovereign-prod-acme-eu-runtime');
    expect(r.LogGroup.Properties.LogGroupName).toBe('/aws/lambda/sovereign-prod-acme-eu');
    expect(r.Function.Properties.Code.S3Key).toBe(`artifacts/${SHA}.zip`);
    expect(Object.keys(template.Outputs).sort()).toEqual(['ApiUrl', 'DataKeyArn', 'FunctionName', 'MachineApiUrl', 'TableName']);
    expect(r.MachineApi.Properties.Name).toBe('sovereign-prod-acme-eu-machine');
    expect(r.DataKeyAlias.Properties.AliasName).toBe('alias/sovereign-prod/tenants/acme-eu');
  });

  it('protects the table from deletion outside dev only', () => {
    const dev = renderTenantStack(inputs({ stage: 'dev' })) as Json;
    const prod = renderTenantStack(inputs({ stage: 'prod' })) as Json;
    expect(dev.Resources.Table.Properties.DeletionProtectionEnabled).toBe(false);
    expect(prod.Resources.Table.Properties.DeletionProtectionEnabled).toBe(true);
  });

  it('takes throttling, concurrency and retention from the tier', () => {
    for (const tier of ['basic', 'standard', 'premium'] as const) {
      const r = (renderTenantStack(inputs({ tier })) as Json).Resources;
      expect(r.HttpApiStage.Properties.DefaultRouteSettings).toEqual({
        ThrottlingRateLimit: TIERS[tier].rateLimit,
        ThrottlingBurstLimit: TIERS[tier].burstLimit,
      });
      expect(r.Function.Properties.ReservedConcurrentExecutions).toBe(TIERS[tier].reservedConcurrency);
      expect(r.LogGroup.Properties.RetentionInDays).toBe(TIERS[tier].logRetentionDays);
    }
    expect(() => renderTenantStack(inputs({ tier: 'gold' as never }))).toThrow(/tier "gold"/);
  });

  it('tags every taggable resource with tenant, stage and project', () => {
    const r = (renderTenantStack(inputs()) as Json).Resources;
    const expected = { 'sovereign:project': 'shop', 'sovereign:stage': 'dev', 'sovereign:tenant': 'acme' };
    for (const id of ['LogGroup', 'Table', 'RuntimeRole', 'Function']) {
      const tags = Object.fromEntries(r[id].Properties.Tags.map((t: Json) => [t.Key, t.Value]));
      expect(tags, id).toEqual(expected);
    }
    expect(r.HttpApi.Properties.Tags).toEqual(expected);
    expect(r.HttpApiStage.Properties.Tags).toEqual(expected);
  });

  it('puts the runtime contract in the environment, with references only', () => {
    const env = (renderTenantStack(inputs()) as Json).Resources.Function.Properties.Environment.Variables;
    expect(env.SOVEREIGN_TENANT).toBe('acme');
    expect(env.SOVEREIGN_TABLE).toBe('sovereign-dev-acme');
    expect(env.SOVEREIGN_ARTIFACT).toBe(SHA);
    expect(env.SOVEREIGN_SECRETS_BACKEND).toBe('aws');
    expect(env.SOVEREIGN_GENERATION_SOURCE).toBe('dynamodb');
    const config = JSON.parse(env.SOVEREIGN_TENANT_CONFIG);
    expect(config.extensions).toEqual(['avalara', 'cetec']);
    expect(config.secrets['avalara.license_key']).toBe('secretsmanager:dev/tenants/acme/avalara:license_key');
    expect(config.webhookSecret).toBe('secretsmanager:dev/tenants/acme/webhook');
  });

  it('refuses a secret that is not a reference without echoing it', () => {
    const leaked = 'sk_live_51H8xYzSuperSecretValue';
    const bad = inputs();
    bad.runtimeConfig = { ...bad.runtimeConfig, secrets: { 'avalara.license_key': leaked } };
    let message = '';
    try {
      renderTenantStack(bad);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/avalara\.license_key.*not a reference/);
    expect(message).not.toContain(leaked);
  });

  it('refuses a configuration larger than Lambda environment limits', () => {
    const big = inputs();
    big.runtimeConfig = { ...big.runtimeConfig, config: { avalara: { blob: 'x'.repeat(5000) } } };
    expect(() => lambdaTenantEnvironment(big)).toThrow(/4096 bytes of environment/);
  });

  it('leaves no pseudo parameter outside Fn::Sub', () => {
    const strings = unsubstitutedStrings(renderTenantStack(inputs()));
    expect(strings.filter((s) => s.includes('${'))).toEqual([]);
  });

  it('keeps the role name within 64 characters for the longest tenant id and stage', () => {
    const name = tenantRoleName('abcdefghijkl', 'a'.repeat(28));
    expect(name.length).toBeLessThanOrEqual(64);
    expect(() => tenantRoleName('dev', 'Bad_Tenant')).toThrow();
  });
});

describe('retierTenantTemplate', () => {
  const variants: Array<Partial<TenantStackInputs>> = [
    {},
    { tenant: 'acme-eu', stage: 'prod', timeoutSeconds: 10 },
    { tenant: 'globex', stage: 'staging', artifactBucket: 'my-bucket', extensions: [], runtimeConfig: { extensions: [], secrets: {}, config: {}, webhookSecret: 'ssm:/staging/tenants/globex/_sovereign/webhook_secret' } },
  ];

  it('equals rendering at the new tier, for every pair of tiers and several tenants', () => {
    for (const variant of variants) {
      for (const from of TIER_NAMES) {
        for (const to of TIER_NAMES) {
          const before = renderTenantStack(inputs({ ...variant, tier: from }));
          expect(retierTenantTemplate(before, to)).toEqual(renderTenantStack(inputs({ ...variant, tier: to })));
          // The same once it has been through CloudFormation (GetTemplate returns the JSON that was sent).
          expect(retierTenantTemplate(JSON.parse(JSON.stringify(before)), to)).toEqual(renderTenantStack(inputs({ ...variant, tier: to })));
        }
      }
    }
  });

  it('changes the limits, the tier variable, the description and the metadata, and leaves its input alone', () => {
    const before = renderTenantStack(inputs({ tier: 'basic' }));
    const copy = structuredClone(before);
    const after = retierTenantTemplate(before, 'premium') as Json;
    expect(before).toEqual(copy);
    expect(after.Resources.Function.Properties).toMatchObject({ MemorySize: TIERS.premium.memorySize, ReservedConcurrentExecutions: TIERS.premium.reservedConcurrency });
    expect(after.Resources.Function.Properties.Environment.Variables.SOVEREIGN_TIER).toBe('premium');
    expect(after.Resources.HttpApiStage.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: TIERS.premium.rateLimit, ThrottlingBurstLimit: TIERS.premium.burstLimit });
    expect(after.Resources.LogGroup.Properties.RetentionInDays).toBe(TIERS.premium.logRetentionDays);
    expect(after.Metadata.Sovereign.tier).toBe('premium');
    expect(after.Description).toContain('tier premium');
    const changed = Object.keys(after.Resources).filter((id) => JSON.stringify(after.Resources[id]) !== JSON.stringify((before as Json).Resources[id]));
    // Both API stages (the machine API's too) take the tier's throttling.
    expect(changed.sort()).toEqual(['Function', 'HttpApiStage', 'LogGroup', 'MachineApiStage']);
    expect(after.Resources.MachineApiStage.Properties.DefaultRouteSettings).toEqual(after.Resources.HttpApiStage.Properties.DefaultRouteSettings);
  });

  it('refuses templates that are not this tenant\'s sovereign template, naming the problem', () => {
    const mine = () => renderTenantStack(inputs()) as Json;
    const refused = (template: unknown, expected = {}) => {
      try {
        retierTenantTemplate(template, 'premium', expected);
      } catch (error) {
        expect(error).toBeInstanceOf(NotATenantTemplateError);
        return (error as Error).message;
      }
      throw new Error('not refused');
    };
    expect(refused({ AWSTemplateFormatVersion: '2010-09-09', Resources: { Bucket: { Type: 'AWS::S3::Bucket', Properties: {} } } })).toMatch(/no Metadata\.Sovereign/);
    expect(refused(renderControlPlaneStack({ project: 'shop', stage: 'dev' }))).toMatch(/not a sovereign tenant template/);
    expect(refused('Resources: {}')).toMatch(/not a sovereign tenant template/);
    expect(refused(mine(), { tenant: 'globex' })).toMatch(/tenant "acme", not "globex"/);
    expect(refused(mine(), { stage: 'prod' })).toMatch(/stage "dev", not "prod"/);
    expect(refused(mine(), { project: 'other' })).toMatch(/project "shop", not "other"/);
    const future = mine();
    future.Metadata.Sovereign.templateVersion = 99;
    expect(refused(future)).toMatch(/template version is 99/);
    const renamed = mine();
    renamed.Resources.Function.Properties.FunctionName = 'someone-else';
    expect(refused(renamed)).toMatch(/function is not named sovereign-dev-acme/);
    const moved = mine();
    moved.Resources.Runtime = moved.Resources.Function;
    delete moved.Resources.Function;
    expect(refused(moved)).toMatch(/no Function resource/);
    const described = mine();
    described.Description = 'hand-written';
    expect(refused(described)).toMatch(/description/);
    expect(() => retierTenantTemplate(mine(), 'gold' as never)).toThrow(/tier "gold"/);
  });
});
