/**
 * The aws target's `deployOne`: build the tenant's artifact and template, upload the artifact
 * when absent and deploy the tenant's stack through a change set, then record the deploy (success
 * or failure) in the tenant's history with an audit event. IAM-broadening approvals are asked one
 * at a time, even when many tenants deploy at once.
 */
import { badInput, conflict } from '../errors.js';
import type { Project } from '../project.js';
import type { StateStore } from '../state/store.js';
import type { AwsSession } from '../targets/aws/session.js';
import type { DeployTenantToAwsOptions, TenantDeployResult } from '../targets/aws/deploy.js';
import { tenantStackName } from '../templates/names.js';
import { tenantTags } from '../templates/tenant-stack.js';
import { requireTenant } from '../tenants/tenants.js';
import { artifactCache, deployRecorder, firstLine, serial } from './record.js';
import { withTemplate, type TenantBuild } from './tenant-build.js';

export interface AwsDeployResult {
  artifact: string;
  stack: string;
  outcome: TenantDeployResult['outcome'];
  outputs: Record<string, string>;
  uploaded: boolean;
}

export interface AwsDeployerOptions {
  state: StateStore;
  project: Project;
  session: AwsSession;
  approve: (question: string) => Promise<boolean>;
  /** Progress lines (stderr), prefixed with the tenant. */
  log?: (line: string) => void;
  /** The change-set deploy of one tenant (injected in tests). */
  deployTenant?: (options: DeployTenantToAwsOptions) => Promise<TenantDeployResult>;
  command?: string;
}

export function createAwsDeployer(options: AwsDeployerOptions) {
  const { state, project, session } = options;
  const artifactFor = artifactCache(project);
  const save = deployRecorder(state, options.command);
  const approvals = serial();

  return async function deployOne(id: string): Promise<AwsDeployResult> {
    const tenant = await requireTenant(state, id);
    if (tenant.status === 'offboarding' || tenant.status === 'deleted') {
      throw conflict(`tenant "${id}" is ${tenant.status}; it cannot be deployed`);
    }
    if (tenant.stage !== session.stage) {
      throw badInput(`tenant "${id}" belongs to stage ${tenant.stage}, not ${session.stage}`, `pass --stage ${tenant.stage}`);
    }
    const extensions = [...tenant.extensions].sort();
    const stack = tenantStackName(tenant.stage, id);
    let build: TenantBuild | undefined;
    try {
      build = withTemplate(project, tenant, await artifactFor(extensions));
      const deployTenant = options.deployTenant ?? (await import('../targets/aws/deploy.js')).deployTenantToAws;
      const result = await deployTenant({
        session,
        tenant: id,
        template: build.template,
        artifact: { sha256: build.artifact.sha256, path: build.artifact.path },
        tags: tenantTags({ project: project.config.project, tenant: id, stage: tenant.stage }),
        approve: (question) => approvals(() => options.approve(`${id}: ${question}`)),
        ...(options.log ? { log: (line: string) => options.log!(`${id}: ${line}`) } : {}),
      });
      await save(id, { at: new Date().toISOString(), by: state.actor, target: 'aws', artifact: build.artifact.sha256, extensions, outcome: 'success', stack });
      return { artifact: build.artifact.sha256, stack, outcome: result.outcome, outputs: result.outputs, uploaded: result.artifact.uploaded };
    } catch (error) {
      await save(id, { at: new Date().toISOString(), by: state.actor, target: 'aws', artifact: build?.artifact.sha256 ?? '', extensions, outcome: 'failure', stack, error: firstLine(error) });
      // Rethrown as is: the fleet runner retries throttling by the error's name.
      throw error;
    }
  };
}
