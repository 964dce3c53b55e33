/**
 * The local target's `deployOne`: build the tenant's artifact (runtime + only its enabled
 * extensions), then record the deploy in the tenant's history with an audit event. Builds run in
 * parallel; recording is serialised, since every mutation takes the project lock.
 */
import { conflict, UserError } from '../errors.js';
import type { Project } from '../project.js';
import type { DeployRecord, TenantRecord } from '../state/registry.js';
import type { StateStore } from '../state/store.js';
import { requireTenant } from '../tenants/tenants.js';
import { buildArtifactFor, withTemplate, type BuiltArtifact } from './tenant-build.js';

export interface LocalDeployResult {
  artifact: string;
  size: number;
  extensions: string[];
  entry: string;
}

/** A queue that runs one task at a time, in order. */
function serial(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (task) => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
}

const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';

export function createLocalDeployer(state: StateStore, project: Project, options: { command?: string } = {}) {
  const record = serial();
  // One build per distinct set of extensions in this run: most of a fleet shares a few sets.
  const builds = new Map<string, Promise<BuiltArtifact>>();
  const artifactFor = (extensions: string[]) => {
    const key = extensions.join(',');
    let build = builds.get(key);
    if (build === undefined) {
      build = buildArtifactFor(project, extensions);
      builds.set(key, build);
      build.catch(() => builds.delete(key));
    }
    return build;
  };
  const command = options.command ?? 'tenant deploy';

  const save = (id: string, deploy: DeployRecord) =>
    record(() =>
      state.mutate(
        {
          command,
          action: 'tenant.deploy',
          tenant: id,
          args: { target: 'local', artifact: deploy.artifact, extensions: deploy.extensions, outcome: deploy.outcome, ...(deploy.error ? { error: deploy.error } : {}) },
        },
        async (tx) => {
          const current: TenantRecord = await requireTenant(state, id);
          tx.putTenant({ ...current, updatedAt: deploy.at, deploys: [...current.deploys, deploy] });
        },
      ),
    );

  return async function deployOne(id: string): Promise<LocalDeployResult> {
    const tenant = await requireTenant(state, id);
    if (tenant.status === 'offboarding' || tenant.status === 'deleted') {
      throw conflict(`tenant "${id}" is ${tenant.status}; it cannot be deployed`);
    }
    const extensions = [...tenant.extensions].sort();
    let build: ReturnType<typeof withTemplate>;
    try {
      build = withTemplate(project, tenant, await artifactFor(extensions));
    } catch (error) {
      await save(id, { at: new Date().toISOString(), by: state.actor, target: 'local', artifact: '', extensions, outcome: 'failure', error: firstLine(error) });
      throw error instanceof UserError ? error : new UserError(firstLine(error), { cause: error });
    }
    await save(id, { at: new Date().toISOString(), by: state.actor, target: 'local', artifact: build.artifact.sha256, extensions, outcome: 'success' });
    return { artifact: build.artifact.sha256, size: build.artifact.size, extensions, entry: build.artifact.entry };
  };
}
