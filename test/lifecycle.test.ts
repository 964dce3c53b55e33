/**
 * The lifecycle state machine: every (from, to) pair against an independent table of the legal
 * moves, and transitions applied on a real local state (registry, audit log, generation marker).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../src/errors.js';
import { resumeTenant, suspendTenant, transitionTenant, type LifecycleEnv } from '../src/lifecycle/apply.js';
import { readGenerationMarker } from '../src/targets/local/notify.js';
import { afterDeploy, isLegalTransition, planTransition, TENANT_STATUSES } from '../src/lifecycle/machine.js';
import { createLocalDeployer } from '../src/targets/local/deploy.js';
import { deployRecorder } from '../src/fleet/record.js';
import { loadProject } from '../src/project.js';
import type { TenantRecord, TenantStatus } from '../src/state/registry.js';
import { LocalState } from '../src/targets/local/state.js';
import { createTenant, newTenantRecord } from '../src/tenants/tenants.js';
import { createDeployedTenant } from './helpers/tenants.js';

/** Written out by hand: what the product promises, not what the code happens to do. */
const LEGAL = new Set([
  'provisioning→active',
  'provisioning→failed',
  'active→suspended',
  'active→offboarding',
  'active→failed',
  'suspended→active',
  'suspended→offboarding',
  'suspended→failed',
  'offboarding→deleted',
  'offboarding→failed',
  'failed→active',
  'failed→offboarding',
]);

function recordIn(status: TenantStatus): TenantRecord {
  return { ...newTenantRecord({ id: 'acme', tier: 'basic', stage: 'dev', extensions: [], by: 'test', now: '2026-01-01T00:00:00.000Z' }), status };
}

async function makeLocalProject(): Promise<LifecycleEnv> {
  const dir = join(mkdtempSync(join(tmpdir(), 'sovereign-lifecycle-')), 'proj');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'sovereign.config.json'), JSON.stringify({ project: 'proj' }));
  const project = await loadProject(dir);
  return { project, state: new LocalState(project), target: 'local' };
}

function auditEvents(env: LifecycleEnv): Array<{ action: string; outcome: string; tenant: string | null; args: Record<string, unknown> }> {
  const file = env.project.paths.auditLog;
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { action: string; outcome: string; tenant: string | null; args: Record<string, unknown> });
}

describe('lifecycle transitions', () => {
  const pairs = TENANT_STATUSES.flatMap((from) => TENANT_STATUSES.map((to) => [from, to] as const));

  it('covers all 36 pairs', () => {
    expect(pairs).toHaveLength(36);
  });

  it.each(pairs)('%s → %s', (from, to) => {
    const legal = LEGAL.has(`${from}→${to}`);
    expect(isLegalTransition(from, to)).toBe(legal);
    const record = recordIn(from);
    if (legal) {
      const next = planTransition(record, to, { by: 'ops@host', now: '2026-02-01T00:00:00.000Z', reason: 'test' });
      expect(next.status).toBe(to);
      expect(next.transitions.at(-1)).toEqual({ from, to, at: '2026-02-01T00:00:00.000Z', by: 'ops@host', reason: 'test' });
      expect(next.transitions).toHaveLength(record.transitions.length + 1);
      expect(record.status).toBe(from);
    } else {
      let error: unknown;
      try {
        planTransition(record, to, { by: 'ops@host', now: '2026-02-01T00:00:00.000Z' });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).exitCode).toBe(4);
      expect((error as UserError).message).toContain(`is ${from}`);
    }
  });
});

describe('suspend and resume on the local state', () => {
  it('records each transition once, flips the marker and leaves the data alone', async () => {
    const env = await makeLocalProject();
    await createDeployedTenant(env.state, 'dev', { id: 'acme', tier: 'basic', extensions: [] });
    const dataFile = join(env.project.paths.data, 'acme', 'dynamodb', 'data.ldb');
    mkdirSync(join(dataFile, '..'), { recursive: true });
    writeFileSync(dataFile, 'tenant data');
    const before = auditEvents(env).length;

    const suspended = await suspendTenant(env, 'acme', { reason: 'unpaid' });
    expect(suspended).toMatchObject({ from: 'active', to: 'suspended' });
    expect(readGenerationMarker(env.project, 'acme')).toMatchObject({ suspended: true, generation: 1 });
    const record = await env.state.getTenant('acme');
    expect(record?.status).toBe('suspended');
    expect(record?.transitions.at(-1)).toMatchObject({ from: 'active', to: 'suspended', reason: 'unpaid' });
    const events = auditEvents(env).slice(before);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'tenant.suspend', outcome: 'success', tenant: 'acme', args: { from: 'active', to: 'suspended', generation: 1 } });

    await expect(suspendTenant(env, 'acme')).rejects.toMatchObject({ exitCode: 4, message: expect.stringContaining('is suspended') });
    expect(readGenerationMarker(env.project, 'acme')?.generation).toBe(1);

    const resumed = await resumeTenant(env, 'acme');
    expect(resumed).toMatchObject({ from: 'suspended', to: 'active', generation: 2 });
    expect(readGenerationMarker(env.project, 'acme')).toMatchObject({ suspended: false, generation: 2 });
    expect(readFileSync(dataFile, 'utf8')).toBe('tenant data');
    const successes = auditEvents(env).slice(before).filter((e) => e.outcome === 'success').map((e) => e.action);
    expect(successes).toEqual(['tenant.suspend', 'tenant.resume']);
    expect((await env.state.getTenant('acme'))?.transitions.map((t) => t.to)).toEqual(['provisioning', 'active', 'suspended', 'active']);
  });

  it('an active tenant cannot be resumed; a failed one can; a missing one is exit 3', async () => {
    const env = await makeLocalProject();
    await createDeployedTenant(env.state, 'dev', { id: 'acme', tier: 'basic', extensions: [] });
    await expect(resumeTenant(env, 'acme')).rejects.toMatchObject({ exitCode: 4, message: 'tenant "acme" is active; it cannot be activated' });
    await transitionTenant(env, { tenant: 'acme', to: 'failed', command: 'test', action: 'tenant.fail' });
    await expect(resumeTenant(env, 'acme')).resolves.toMatchObject({ from: 'failed', to: 'active' });
    await expect(suspendTenant(env, 'nobody')).rejects.toMatchObject({ exitCode: 3 });
  });
});

describe('provisioning until the first deploy', () => {
  const deploy = (outcome: 'success' | 'failure') => ({ at: new Date().toISOString(), by: 'ci@host', target: 'local' as const, artifact: outcome === 'success' ? 'b'.repeat(64) : '', extensions: [], outcome });

  it('create records provisioning; the first successful deploy activates, with the move in the deploy event', async () => {
    const env = await makeLocalProject();
    const created = await createTenant(env.state, 'dev', { id: 'acme', tier: 'basic', extensions: [] });
    expect(created.status).toBe('provisioning');
    expect(created.transitions).toEqual([expect.objectContaining({ from: null, to: 'provisioning' })]);
    // Nothing but a deploy takes it out of provisioning.
    await expect(suspendTenant(env, 'acme')).rejects.toMatchObject({ exitCode: 4, message: expect.stringContaining('is provisioning') });

    await deployRecorder(env.state)('acme', deploy('success'));
    const active = (await env.state.getTenant('acme'))!;
    expect(active.status).toBe('active');
    expect(active.transitions.at(-1)).toMatchObject({ from: 'provisioning', to: 'active', by: 'ci@host', reason: 'first deploy' });
    expect(auditEvents(env).at(-1)).toMatchObject({ action: 'tenant.deploy', outcome: 'success', args: { outcome: 'success', status: { from: 'provisioning', to: 'active' } } });

    // Later deploys, failed ones included, leave an active tenant's status alone.
    await deployRecorder(env.state)('acme', deploy('failure'));
    await deployRecorder(env.state)('acme', deploy('success'));
    const later = (await env.state.getTenant('acme'))!;
    expect([later.status, later.transitions.length, later.deploys.length]).toEqual(['active', 2, 3]);
    expect(auditEvents(env).at(-1)!.args.status).toBeUndefined();
  });

  it('a failed first deploy marks the tenant failed (the real local deployer); the next successful deploy activates it', async () => {
    const env = await makeLocalProject();
    await createTenant(env.state, 'dev', { id: 'acme', tier: 'basic', extensions: ['not-there'] });
    await expect(createLocalDeployer(env.state, env.project)('acme')).rejects.toBeInstanceOf(UserError);
    const failed = (await env.state.getTenant('acme'))!;
    expect(failed.status).toBe('failed');
    expect(failed.transitions.at(-1)).toMatchObject({ from: 'provisioning', to: 'failed', reason: 'first deploy failed' });
    expect(failed.deploys).toEqual([expect.objectContaining({ outcome: 'failure' })]);

    await deployRecorder(env.state)('acme', deploy('failure'));
    expect((await env.state.getTenant('acme'))!.status).toBe('failed');
    await deployRecorder(env.state)('acme', deploy('success'));
    expect((await env.state.getTenant('acme'))!.transitions.map((t) => t.to)).toEqual(['provisioning', 'failed', 'active']);
  });

  it('a tenant failed for another reason is not revived by a deploy', () => {
    const now = '2026-02-01T00:00:00.000Z';
    const failedLater = planTransition(planTransition(recordIn('provisioning'), 'active', { by: 'x', now }), 'failed', { by: 'x', now });
    expect(afterDeploy(failedLater, 'success', { by: 'x', now })).toBe(failedLater);
    expect(afterDeploy(recordIn('suspended'), 'success', { by: 'x', now }).status).toBe('suspended');
    expect(afterDeploy(recordIn('provisioning'), 'failure', { by: 'x', now }).status).toBe('failed');
  });
});
