import { describe, expect, it } from 'vitest';
import { evaluatePolicies } from '../isolation/policy-eval.js';
import { asScheduledEvent } from '../contract/schedules.js';
import { renderTenantStack, type TenantStackInputs } from './tenant-stack.js';
import { renderSchedulerPolicy, scheduleLogicalId, scheduleResourceName, tenantSchedulerRoleName } from './schedules.js';

type Json = Record<string, any>;

function inputs(overrides: Partial<TenantStackInputs> = {}, settings: Record<string, unknown> = {}): TenantStackInputs {
  const owner = { project: 'shop', tenant: 'acme', stage: 'prod', tier: 'standard' } as const;
  return {
    ...owner,
    artifactSha256: 'a'.repeat(64),
    extensions: [
      {
        name: 'avalara-cetec-sync',
        permissions: [],
        routes: [{ method: 'POST', path: '/sync', scopes: ['sync:run'] }],
        schedules: [
          { name: 'sync', expression: 'rate(15 minutes)', payload: { mode: 'incremental' } },
          { name: 'full-resync', expression: 'cron(0 3 ? * SUN *)', enabled: false, description: 'Weekly full resync' },
        ],
      },
      { name: 'cetec', permissions: [], routes: [] },
    ],
    runtimeConfig: {
      extensions: ['avalara-cetec-sync', 'cetec'],
      secrets: {},
      config: settings,
      webhookSecret: 'secretsmanager:prod/tenants/acme/webhook',
    },
    ...overrides,
  };
}

const schedulesOf = (template: Json) => Object.entries(template.Resources as Json).filter(([, r]) => r.Type === 'AWS::Scheduler::Schedule');

describe('tenant schedules in the stack', () => {
  it('renders the group, the role and one schedule per enabled schedule (snapshot)', () => {
    const template = renderTenantStack(inputs()) as Json;
    const r = template.Resources;
    expect({ ScheduleGroup: r.ScheduleGroup, SchedulerRole: r.SchedulerRole, ...Object.fromEntries(schedulesOf(template)) }).toMatchSnapshot();
    expect(schedulesOf(template).map(([id]) => id)).toEqual([scheduleLogicalId('avalara-cetec-sync', 'sync')]);
  });

  it('targets the tenant function with the event the runtime reads back, no flexible window, UTC', () => {
    const [, schedule] = schedulesOf(renderTenantStack(inputs()) as Json)[0]!;
    const p = schedule.Properties;
    expect(p.ScheduleExpression).toBe('rate(15 minutes)');
    expect(p.ScheduleExpressionTimezone).toBe('UTC');
    expect(p.FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
    expect(p.State).toBe('ENABLED');
    expect(p.GroupName).toEqual({ Ref: 'ScheduleGroup' });
    expect(p.Target.Arn).toEqual({ 'Fn::GetAtt': ['Function', 'Arn'] });
    expect(p.Target.RoleArn).toEqual({ 'Fn::GetAtt': ['SchedulerRole', 'Arn'] });
    expect(asScheduledEvent(JSON.parse(p.Target.Input))).toEqual({ source: 'sovereign.schedule', extension: 'avalara-cetec-sync', schedule: 'sync', payload: { mode: 'incremental' } });
  });

  it("follows the tenant's _schedules setting over the manifest default", () => {
    const template = renderTenantStack(inputs({}, { 'avalara-cetec-sync': { _schedules: { sync: false, 'full-resync': true } } })) as Json;
    expect(schedulesOf(template).map(([, s]) => s.Properties.Name)).toEqual(['avalara-cetec-sync.full-resync']);
    expect(schedulesOf(template)[0]![1].Properties.Description).toBe('Weekly full resync');
  });

  it('adds nothing when no schedule is on, and disables the schedules of a suspended tenant', () => {
    const none = renderTenantStack(inputs({}, { 'avalara-cetec-sync': { _schedules: { sync: false } } })) as Json;
    expect(Object.keys(none.Resources).filter((id) => /Schedule/.test(id))).toEqual([]);
    const suspended = renderTenantStack(inputs({ suspended: true })) as Json;
    expect(schedulesOf(suspended).map(([, s]) => s.Properties.State)).toEqual(['DISABLED']);
  });

  it('trusts only EventBridge Scheduler of this account, for schedules of the tenant group', () => {
    const role = (renderTenantStack(inputs()) as Json).Resources.SchedulerRole.Properties;
    expect(role.RoleName).toBe('sovereign-prod-acme-scheduler');
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnEquals: { 'aws:SourceArn': { 'Fn::Sub': 'arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule-group/sovereign-prod-acme' } },
        },
      },
    ]);
    expect(role.Policies).toEqual([{ PolicyName: 'sovereign-scheduler', PolicyDocument: renderSchedulerPolicy({ 'Fn::GetAtt': ['Function', 'Arn'] }) }]);
  });

  it("lets the scheduler role invoke the tenant's own function and nothing of another tenant (offline evaluator)", () => {
    const fn = (tenant: string) => `arn:aws:lambda:eu-west-1:123456789012:function:sovereign-prod-${tenant}`;
    const policy = renderSchedulerPolicy(fn('acme'));
    expect(evaluatePolicies([policy], 'lambda:InvokeFunction', fn('acme'))).toBe('allowed');
    for (const other of ['acme2', 'acme-eu', 'beta']) expect(evaluatePolicies([policy], 'lambda:InvokeFunction', fn(other))).not.toBe('allowed');
    for (const action of ['lambda:UpdateFunctionCode', 'lambda:GetFunction', 'lambda:InvokeAsync']) expect(evaluatePolicies([policy], action, fn('acme'))).not.toBe('allowed');
    expect(evaluatePolicies([policy], 'lambda:InvokeFunction', `${fn('acme')}:1`)).not.toBe('allowed');
  });

  it('keeps names within AWS limits for the longest stage, tenant, extension and schedule', () => {
    const tenant = `t${'a'.repeat(27)}`;
    expect(tenantSchedulerRoleName('abcdefghijkl', tenant).length).toBeLessThanOrEqual(64);
    const long = scheduleResourceName(`e${'x'.repeat(39)}`, `s${'y'.repeat(39)}`);
    expect(long.length).toBe(64);
    expect(long).toMatch(/^[0-9a-zA-Z._-]+$/);
    expect(scheduleResourceName(`e${'x'.repeat(39)}`, `s${'y'.repeat(38)}z`)).not.toBe(long);
    expect(scheduleLogicalId('a-b', 'c')).not.toBe(scheduleLogicalId('a', 'b-c'));
  });
});
