import { describe, expect, it } from 'vitest';
import type { CfnTemplate } from './cfn.js';
import { renderControlPlaneStack } from './control-plane.js';
import { renderTenantStack } from './tenant-stack.js';

/** Every logical id a template refers to through Ref, Fn::GetAtt, Fn::Sub or DependsOn. */
function referencedIds(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) value.forEach((item) => referencedIds(item, out));
  else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'Ref' && typeof item === 'string') out.add(item);
      else if (key === 'Fn::GetAtt' && Array.isArray(item)) out.add(String(item[0]));
      else if (key === 'Fn::Sub' && typeof item === 'string') {
        for (const match of item.matchAll(/\$\{([^!}][^}]*)\}/g)) out.add(match[1]!.split('.')[0]!);
      } else if (key === 'DependsOn') [item].flat().forEach((id) => out.add(String(id)));
      else referencedIds(item, out);
    }
  }
  return out;
}

function danglingReferences(template: CfnTemplate): string[] {
  const ids = new Set(Object.keys(template.Resources));
  return [...referencedIds({ r: template.Resources, o: template.Outputs })].filter((id) => !id.startsWith('AWS::') && !ids.has(id));
}

describe('template integrity', () => {
  it('refers only to resources the tenant stack defines', () => {
    const template = renderTenantStack({
      project: 'shop',
      tenant: 'acme',
      stage: 'prod',
      tier: 'basic',
      artifactSha256: 'b'.repeat(64),
      extensions: [
        {
          name: 'avalara',
          permissions: [{ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::x-{account}/{tenant}/${aws:username}'] }],
          routes: [{ method: 'GET', path: '/quotes/{id}', scopes: ['quotes:read'] }, { method: 'GET', path: '/status', auth: 'public' }],
        },
      ],
      runtimeConfig: {
        extensions: ['avalara'],
        secrets: {},
        config: {},
        webhookSecret: 'ssm:/prod/tenants/acme/_sovereign/webhook_secret',
        auth: { issuers: ['https://issuer.example.com/acme'], audiences: ['api'], tenantClaim: 'tenant_id', apiKeys: true },
      },
    });
    expect(danglingReferences(template)).toEqual([]);
    const referenced = referencedIds(template.Resources);
    for (const id of ['HttpApiIntegration', 'HttpApiAuthorizer', 'MachineApi', 'MachineApiIntegration']) expect(referenced.has(id), id).toBe(true);
  });

  it('refers only to resources the control plane defines', () => {
    expect(danglingReferences(renderControlPlaneStack({ project: 'shop', stage: 'prod' }))).toEqual([]);
  });

  it('refers only to resources the control plane defines, with the billing webhook', () => {
    const template = renderControlPlaneStack({
      project: 'shop',
      stage: 'prod',
      billing: { artifactSha256: 'c'.repeat(64), config: { suspendAfterFailures: 3, offboardGracePeriod: '30d', plans: {} }, webhookSecret: 'ssm:/prod/_sovereign/billing/webhook_secret' },
    });
    expect(danglingReferences(template)).toEqual([]);
    const referenced = referencedIds({ r: template.Resources, o: template.Outputs });
    for (const id of ['BillingWebhookFunction', 'BillingWebhookRole', 'BillingWebhookLogGroup', 'BillingWebhookUrl', 'ArtifactBucket', 'SecretsKey', 'TenantTable', 'AuditTable']) expect(referenced.has(id)).toBe(true);
  });

  it('lets the billing role re-tier exactly what a tenant stack names, and no control-plane resource', () => {
    const controlPlane = renderControlPlaneStack({
      project: 'shop',
      stage: 'prod',
      billing: { artifactSha256: 'c'.repeat(64), config: { suspendAfterFailures: 3, offboardGracePeriod: '30d', plans: {} }, webhookSecret: 'ssm:/prod/_sovereign/billing/webhook_secret' },
    }) as unknown as { Resources: Record<string, { Properties: Record<string, any> }> };
    const statements = controlPlane.Resources.BillingWebhookRole!.Properties.Policies[0].PolicyDocument.Statement as Array<{ Sid: string; Resource: Array<{ 'Fn::Sub': string }> }>;
    const pattern = (sid: string) => {
      const arn = statements.find((s) => s.Sid === sid)!.Resource[0]!['Fn::Sub'];
      const rest = arn.replace(/^arn:\$\{AWS::Partition\}:[a-z]+:(\$\{AWS::Region\})?:(\$\{AWS::AccountId\})?:/, '');
      return new RegExp(`^${rest.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    };
    const tenant = renderTenantStack({
      project: 'shop',
      tenant: 'acme-eu',
      stage: 'prod',
      tier: 'basic',
      artifactSha256: 'b'.repeat(64),
      extensions: [],
      runtimeConfig: { extensions: [], secrets: {}, config: {}, webhookSecret: 'ssm:/prod/tenants/acme-eu/_sovereign/webhook_secret' },
    }) as unknown as { Resources: Record<string, { Properties: Record<string, any> }> };
    const r = tenant.Resources;
    expect(`stack/${r.HttpApi!.Properties.Name}/0a1b`).toMatch(pattern('RetierTenantStacks'));
    expect(`function:${r.Function!.Properties.FunctionName}`).toMatch(pattern('RetierTenantFunctions'));
    expect(`role/${r.RuntimeRole!.Properties.RoleName}`).toMatch(pattern('PassTenantRuntimeRolesToTheirFunctions'));
    expect(`log-group:${r.LogGroup!.Properties.LogGroupName}`).toMatch(pattern('RetierTenantLogGroups'));
    expect(`/apis/a1b2c3/stages/${r.HttpApiStage!.Properties.StageName}`).toMatch(pattern('RetierTenantApiStages'));
    // The machine API's stage is re-tiered too (a tenant with API keys has one).
    expect(`/apis/d4e5f6/stages/${r.MachineApiStage!.Properties.StageName}`).toMatch(pattern('RetierTenantApiStages'));
    const own = controlPlane.Resources;
    expect(`function:${own.BillingWebhookFunction!.Properties.FunctionName}`).not.toMatch(pattern('RetierTenantFunctions'));
    expect(`role/${own.BillingWebhookRole!.Properties.RoleName}`).not.toMatch(pattern('PassTenantRuntimeRolesToTheirFunctions'));
    expect(`log-group:${own.BillingWebhookLogGroup!.Properties.LogGroupName}`).not.toMatch(pattern('RetierTenantLogGroups'));
    // The control-plane stack fits the tenant stack pattern: an explicit deny covers it.
    expect('stack/sovereign-prod-control-plane/0a1b').toMatch(pattern('NeverTheControlPlaneStack'));
  });

  it('detects a dangling reference', () => {
    const template = renderControlPlaneStack({ project: 'shop', stage: 'prod' });
    template.Outputs.Broken = { Description: 'x', Value: { Ref: 'Missing' } };
    expect(danglingReferences(template)).toEqual(['Missing']);
  });
});
