/**
 * The local target's `deployOne`: build the tenant's artifact (runtime + only its enabled
 * extensions; `sovereign dev` runs it), render its template (so what fails on aws fails here
 * too), and record the deploy in the tenant's history with an audit event.
 */
import { conflict, UserError } from '../../errors.js';
import type { Project } from '../../project.js';
import type { StateStore } from '../../state/store.js';
import { requireTenant } from '../../tenants/tenants.js';
import { firstLine } from '../../errors.js';
import { artifactCache, deployedAuth, deployRecorder } from '../../fleet/record.js';
import { withTemplate, type TenantBuild } from '../../fleet/tenant-build.js';

export interface LocalDeployResult {
  artifact: string;
  size: number;
  extensions: string[];
  entry: string;
}

export function createLocalDeployer(state: StateStore, project: Project, options: { command?: string } = {}) {
  const artifactFor = artifactCache(project);
  const save = deployRecorder(state, options.command);

  return async function deployOne(id: string): Promise<LocalDeployResult> {
    const tenant = await requireTenant(state, id);
    if (tenant.status === 'offboarding' || tenant.status === 'deleted') {
      throw conflict(`tenant "${id}" is ${tenant.status}; it cannot be deployed`);
    }
    const extensions = [...tenant.extensions].sort();
    let build: TenantBuild;
    try {
      build = withTemplate(project, tenant, await artifactFor(extensions));
    } catch (error) {
      await save(id, { at: new Date().toISOString(), by: state.actor, target: 'local', artifact: '', extensions, outcome: 'failure', error: firstLine(error) });
      throw error instanceof UserError ? error : new UserError(firstLine(error), { cause: error });
    }
    await save(id, { at: new Date().toISOString(), by: state.actor, target: 'local', artifact: build.artifact.sha256, extensions, outcome: 'success', auth: deployedAuth(project, id) });
    return { artifact: build.artifact.sha256, size: build.artifact.size, extensions, entry: build.artifact.entry };
  };
}
