import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadProject, type Project } from '../project.js';
import { LocalState } from '../state/store.js';
import type { AwsSession } from '../targets/aws/session.js';
import type { DeployTenantToAwsOptions, TenantDeployResult } from '../targets/aws/deploy.js';
import { createTenant } from '../tenants/tenants.js';
import { UserError } from '../errors.js';
import { createAwsDeployer } from './aws.js';

let dir: string;
let project: Project;
let state: LocalState;
const session = { stage: 'dev', project: 'shop' } as unknown as AwsSession;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sovereign-aws-deployer-'));
  const extensionsDir = resolve(import.meta.dirname, '..', '..', 'extensions');
  writeFileSync(join(dir, 'sovereign.config.json'), JSON.stringify({ project: 'shop', extensionsDir }));
  project = await loadProject(dir);
  state = new LocalState(project);
  await createTenant(state, 'dev', { id: 'acme', tier: 'premium', extensions: ['avalara'] });
  await createTenant(state, 'dev', { id: 'acme-eu', tier: 'basic', extensions: ['avalara'] });
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function result(options: DeployTenantToAwsOptions): TenantDeployResult {
  return {
    stackName: `sovereign-dev-${options.tenant}`,
    stackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/x/1',
    outcome: 'created',
    summary: undefined,
    outputs: { ApiUrl: 'https://x.execute-api.eu-west-1.amazonaws.com' },
    recovered: false,
    artifact: { bucket: 'b', key: `artifacts/${options.artifact.sha256}.zip`, uploaded: true },
  };
}

describe('createAwsDeployer', () => {
  it('deploys the rendered template with its artifact and tags, and records the deploy', async () => {
    const calls: DeployTenantToAwsOptions[] = [];
    const deployOne = createAwsDeployer({
      state,
      project,
      session,
      approve: async () => true,
      deployTenant: async (options) => {
        calls.push(options);
        return result(options);
      },
    });
    const deployed = await deployOne('acme');
    const call = calls[0]!;
    const template = call.template as { Resources: Record<string, { Properties: Record<string, any> }> };
    expect(template.Resources.Function!.Properties.Code.S3Key).toBe(`artifacts/${call.artifact.sha256}.zip`);
    expect(template.Resources.Function!.Properties.ReservedConcurrentExecutions).toBe(100);
    expect(existsSync(call.artifact.path)).toBe(true);
    expect(call.tags).toEqual({ 'sovereign:project': 'shop', 'sovereign:stage': 'dev', 'sovereign:tenant': 'acme' });
    expect(deployed).toMatchObject({ artifact: call.artifact.sha256, stack: 'sovereign-dev-acme', outcome: 'created', uploaded: true });
    const record = await state.getTenant('acme');
    expect(record!.deploys.at(-1)).toMatchObject({ target: 'aws', outcome: 'success', stack: 'sovereign-dev-acme', artifact: call.artifact.sha256, extensions: ['avalara'] });
  });

  it('records a failed stack deploy and rethrows the error unchanged', async () => {
    const failure = Object.assign(new Error('Table CREATE_FAILED: limit exceeded\ndetails'), { name: 'Throttling' });
    const deployOne = createAwsDeployer({ state, project, session, approve: async () => true, deployTenant: async () => Promise.reject(failure) });
    await expect(deployOne('acme-eu')).rejects.toBe(failure);
    const record = await state.getTenant('acme-eu');
    expect(record!.deploys.at(-1)).toMatchObject({ target: 'aws', outcome: 'failure', error: 'Table CREATE_FAILED: limit exceeded' });
    expect(record!.deploys.at(-1)!.artifact).toMatch(/^[0-9a-f]{64}$/);
  });

  it('asks IAM approvals one at a time, naming the tenant', async () => {
    let open = 0;
    let peak = 0;
    const questions: string[] = [];
    const deployOne = createAwsDeployer({
      state,
      project,
      session,
      approve: async (question) => {
        questions.push(question);
        open += 1;
        peak = Math.max(peak, open);
        await new Promise((r) => setTimeout(r, 5));
        open -= 1;
        return true;
      },
      deployTenant: async (options) => {
        expect(await options.approve('the change adds IAM permissions; go on?')).toBe(true);
        return result(options);
      },
    });
    await Promise.all([deployOne('acme'), deployOne('acme-eu')]);
    expect(peak).toBe(1);
    expect(questions.sort()).toEqual(['acme-eu: the change adds IAM permissions; go on?', 'acme: the change adds IAM permissions; go on?']);
  });

  it('refuses a tenant of another stage before touching aws', async () => {
    let called = false;
    const deployOne = createAwsDeployer({
      state,
      project,
      session: { stage: 'prod', project: 'shop' } as unknown as AwsSession,
      approve: async () => true,
      deployTenant: async (options) => {
        called = true;
        return result(options);
      },
    });
    const error = await deployOne('acme').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(2);
    expect(called).toBe(false);
  });
});
