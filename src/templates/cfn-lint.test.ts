/**
 * The rendered stacks through cfn-lint, AWS's CloudFormation linter (a Python tool: the test runs
 * where it is installed and says it is skipped elsewhere). Every finding fails the test — errors
 * and warnings alike, e.g. a deprecated Lambda runtime (E2533) or a DependsOn that a Ref already
 * implies (W3005) — in a commercial and a China region, where partitions differ. GovCloud is left
 * out: it has no Lambda Function URLs, which the billing webhook needs (see docs/aws.md).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderControlPlaneStack } from './control-plane.js';
import { renderTenantStack, type TenantStackInputs } from './tenant-stack.js';

const cfnLint = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' }).status === 0;

const tenant: TenantStackInputs = {
  project: 'shop',
  tenant: 'acme',
  stage: 'prod',
  tier: 'standard',
  artifactSha256: 'a'.repeat(64),
  extensions: [
    {
      name: 'avalara',
      permissions: [{ actions: ['sqs:SendMessage'], resources: ['arn:aws:sqs:{region}:{account}:avalara-{stage}-{tenant}'] }],
      routes: [{ method: 'POST', path: '/quotes', scopes: ['quotes:write'] }, { method: 'GET', path: '/quotes/{id}' }, { method: 'GET', path: '/', auth: 'public' }],
    },
  ],
  runtimeConfig: { extensions: ['avalara'], secrets: { 'avalara.key': 'ssm:/prod/tenants/acme/avalara/key' }, config: {}, webhookSecret: 'secretsmanager:prod/tenants/acme/webhook' },
};

const JWT_AUTH = { issuers: ['https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc123'], audiences: ['client-1'], tenantClaim: 'custom:tenant_id' };

describe.skipIf(!cfnLint)('cfn-lint', () => {
  it('finds nothing in the tenant stack (own key, stage key, suspended, JWT authorizer, machine API) nor in the control plane with billing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sovereign-cfn-lint-'));
    try {
      const templates = {
        'tenant.json': renderTenantStack(tenant),
        'tenant-stage-key.json': renderTenantStack({ ...tenant, tableKey: 'stage', lambdaRuntime: 'nodejs22.x' }),
        'tenant-suspended.json': renderTenantStack({ ...tenant, suspended: true }),
        // Schedules: their group, the scheduler role and one rate and one cron schedule.
        'tenant-schedules.json': renderTenantStack({
          ...tenant,
          extensions: [{ ...tenant.extensions[0]!, schedules: [{ name: 'sync', expression: 'rate(15 minutes)', payload: { mode: 'incremental' } }, { name: 'weekly', expression: 'cron(0 3 ? * SUN *)' }] }],
        }),
        // The JWT authorizer with its routes and the machine API; and the authorizer alone, without API keys.
        'tenant-jwt.json': renderTenantStack({ ...tenant, runtimeConfig: { ...tenant.runtimeConfig, auth: { ...JWT_AUTH, apiKeys: true } } }),
        'tenant-jwt-no-keys.json': renderTenantStack({ ...tenant, runtimeConfig: { ...tenant.runtimeConfig, auth: { ...JWT_AUTH, apiKeys: false } } }),
        'control-plane.json': renderControlPlaneStack({
          project: 'shop',
          stage: 'prod',
          billing: { artifactSha256: 'c'.repeat(64), config: { suspendAfterFailures: 2, offboardGracePeriod: '14d', plans: {} }, webhookSecret: 'ssm:/prod/_sovereign/billing/webhook_secret' },
        }),
      };
      const files = Object.entries(templates).map(([name, template]) => {
        writeFileSync(join(dir, name), JSON.stringify(template, null, 2));
        return join(dir, name);
      });
      let output: string;
      try {
        output = execFileSync('cfn-lint', ['--format', 'json', '--regions', 'eu-west-1', 'cn-north-1', '--', ...files], { encoding: 'utf8' });
      } catch (error) {
        output = String((error as { stdout?: string }).stdout ?? '');
      }
      const findings = (JSON.parse(output) as Array<{ Rule: { Id: string }; Message: string; Filename: string }>).map((f) => `${f.Rule.Id} ${f.Filename.split('/').pop()}: ${f.Message}`);
      expect(findings).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
