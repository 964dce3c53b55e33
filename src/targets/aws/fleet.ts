/**
 * The aws target's `deployOne` for the fleet runner: build (one artifact per distinct set of
 * extensions), deploy the tenant's stack through a change set, record the deploy in the registry.
 * Stack work runs in parallel; recording is serialised (each record is a state mutation), and so
 * are approval prompts. Throttling that outlasts the SDK's and the deploy's own retries surfaces as
 * "Rate exceeded", which the fleet runner retries with backoff.
 */
import { conflict, firstLine, UserError } from '../../errors.js';
import { deployedAuth, withDeploy } from '../../fleet/record.js';
import { buildArtifactFor, withTemplate, type BuiltArtifact } from '../../fleet/tenant-build.js';
import { awaitsFirstDeploy } from '../../lifecycle/machine.js';
import type { LiveView } from '../../output/live.js';
import type { Project } from '../../project.js';
import type { DeployRecord, TenantRecord } from '../../state/registry.js';
import type { StateStore } from '../../state/store.js';
import { tenantTags } from '../../templates/tenant-stack.js';
import { requireTenant } from '../../tenants/tenants.js';
import { deployTenantToAws, type DeployOutcome } from './deploy.js';
import type { AwsSession } from './session.js';

export interface AwsTenantBuild {
  template: unknown;
  artifact: { sha256: string; path: string };
  tags: Record<string, string>;
}

export interface AwsDeployerOptions {
  approve: (question: string) => Promise<boolean>;
  command?: string;
  /** Lines about one tenant (change summary, uploads, throttling). */
  log?: (tenant: string, line: string) => void;
  /** A per-resource view for a tenant (single deploys); fleets usually pass none. */
  view?: (tenant: string) => LiveView | undefined;
  /** Replaces the real build (tests, benchmarks). */
  build?: (record: TenantRecord) => Promise<AwsTenantBuild>;
  pollMs?: number;
  /** The session a tenant's stack is deployed with (its cell's); the deployer's own otherwise. */
  sessionFor?: (tenant: TenantRecord) => AwsSession;
}

export interface AwsDeployResult {
  artifact: string;
  stack: string;
  outcome: DeployOutcome;
  changes: { add: number; modify: number; remove: number };
  uploaded: boolean;
}

function serial(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (task) => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
}


export function createAwsDeployer(state: StateStore, project: Project, session: AwsSession, options: AwsDeployerOptions) {
  const recordQueue = serial();
  const promptQueue = serial();
  const builds = new Map<string, Promise<BuiltArtifact>>();
  const command = options.command ?? 'tenant deploy';
  const build =
    options.build ??
    (async (record: TenantRecord): Promise<AwsTenantBuild> => {
      const extensions = [...record.extensions].sort();
      const key = extensions.join(',');
      let built = builds.get(key);
      if (built === undefined) {
        // The same build as `template render` and `tenant diff`, so a diff after a deploy is empty.
        built = buildArtifactFor(project, extensions);
        builds.set(key, built);
        built.catch(() => builds.delete(key));
      }
      const tenantBuild = withTemplate(project, record, await built);
      return { template: tenantBuild.template, artifact: tenantBuild.artifact, tags: tenantTags(tenantBuild.inputs) };
    });

  /** Records a deploy; the record is made inside the mutation, where the actor is known. */
  const save = (id: string, make: (by: string) => DeployRecord) =>
    recordQueue(() =>
      state.mutate(
        { command, action: 'tenant.deploy', tenant: id },
        async (tx) => {
          const deploy = make(state.actor);
          Object.assign(tx.eventArgs, { target: 'aws', artifact: deploy.artifact, extensions: deploy.extensions, outcome: deploy.outcome, ...(deploy.stack ? { stack: deploy.stack } : {}), ...(deploy.error ? { error: deploy.error } : {}) });
          const current = await requireTenant(state, id);
          tx.putTenant(withDeploy(tx.eventArgs, current, deploy));
        },
      ),
    );

  return async function deployOne(id: string): Promise<AwsDeployResult> {
    const tenant = await requireTenant(state, id);
    if (tenant.status === 'offboarding' || tenant.status === 'deleted') throw conflict(`tenant "${id}" is ${tenant.status}; it cannot be deployed`);
    const extensions = [...tenant.extensions].sort();
    let artifact = '';
    let stack: string | undefined;
    try {
      const built = await build(tenant);
      artifact = built.artifact.sha256;
      const view = options.view?.(id);
      const result = await deployTenantToAws({
        session: options.sessionFor?.(tenant) ?? session,
        tenant: id,
        template: built.template,
        artifact: built.artifact,
        tags: built.tags,
        approve: (question) => promptQueue(() => options.approve(question)),
        ...(view ? { view } : {}),
        ...(options.log ? { log: (line: string) => options.log!(id, line) } : {}),
        ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
      });
      stack = result.stackName;
      // An unchanged stack is recorded only when it is the deploy that takes the tenant out of provisioning.
      if (result.outcome !== 'unchanged' || awaitsFirstDeploy(tenant)) {
        await save(id, (by) => ({ at: new Date(session.now()).toISOString(), by, target: 'aws', artifact, extensions, outcome: 'success', stack: stack!, auth: deployedAuth(project, id) }));
      }
      const counts = result.summary?.counts ?? { add: 0, modify: 0, remove: 0 };
      return { artifact, stack, outcome: result.outcome, changes: { add: counts.add, modify: counts.modify, remove: counts.remove }, uploaded: result.artifact.uploaded };
    } catch (error) {
      const throttled = /\bRate exceeded\b/i.test(firstLine(error));
      // A throttled attempt is retried by the fleet runner; only a final failure is recorded.
      if (!throttled) {
        await save(id, (by) => ({ at: new Date(session.now()).toISOString(), by, target: 'aws', artifact, extensions, outcome: 'failure', ...(stack ? { stack } : {}), error: firstLine(error) })).catch(() => undefined);
      }
      throw error instanceof UserError ? error : new UserError(firstLine(error), { cause: error });
    }
  };
}
