/**
 * What both targets' `deployOne` share: one artifact build per distinct extension set in a run,
 * and recording each deploy (success or failure) in the tenant's history with an audit event.
 * Recording is serialised, since every mutation takes the project lock.
 */
import { resolveTenantAuth, type AuthSettings, type TenantAuth } from '../contract/auth.js';
import { afterDeploy } from '../lifecycle/machine.js';
import type { Project } from '../project.js';
import type { DeployRecord, TenantRecord } from '../state/registry.js';
import type { StateStore } from '../state/store.js';
import { requireTenant } from '../tenants/tenants.js';
import { buildArtifactFor, type BuiltArtifact } from './tenant-build.js';

/** A queue that runs one task at a time, in order. */
export function serial(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (task) => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
}

/** Builds each distinct set of extensions once per run: most of a fleet shares a few sets. */
export function artifactCache(project: Project): (extensions: string[]) => Promise<BuiltArtifact> {
  const builds = new Map<string, Promise<BuiltArtifact>>();
  return (extensions) => {
    const key = [...extensions].sort().join(',');
    let build = builds.get(key);
    if (build === undefined) {
      build = buildArtifactFor(project, extensions);
      builds.set(key, build);
      build.catch(() => builds.delete(key));
    }
    return build;
  };
}

/**
 * The record with `deploy` appended, and moved out of `provisioning` by its first deploy (the
 * move noted in the audit event's args).
 */
export function withDeploy(eventArgs: Record<string, unknown>, current: TenantRecord, deploy: DeployRecord): TenantRecord {
  const record = afterDeploy(current, deploy.outcome, { by: deploy.by, now: deploy.at });
  if (record.status !== current.status) eventArgs.status = { from: current.status, to: record.status };
  if (deploy.auth !== undefined && deploy.outcome === 'success') {
    // Who may call the tenant is part of what a deploy changes: the event says when it did.
    const before = [...current.deploys].reverse().find((d) => d.outcome === 'success')?.auth;
    eventArgs.auth = deploy.auth;
    if (before === undefined || JSON.stringify(before) !== JSON.stringify(deploy.auth)) eventArgs.authChanged = { from: before ?? null, to: deploy.auth };
  }
  return { ...record, updatedAt: deploy.at, deploys: [...current.deploys, deploy] };
}

/** The caller rules a deploy of `tenant` records: the project's (the `dev` issuer is not deployed anywhere). */
export function deployedAuth(project: Project, tenant: string): TenantAuth {
  return resolveTenantAuth(project.config.auth as AuthSettings | undefined, tenant);
}

/** Appends a deploy to the tenant's history, with a `tenant.deploy` audit event. */
export function deployRecorder(state: StateStore, command = 'tenant deploy'): (id: string, deploy: DeployRecord) => Promise<void> {
  const queue = serial();
  return (id, deploy) =>
    queue(() =>
      state.mutate(
        {
          command,
          action: 'tenant.deploy',
          tenant: id,
          args: {
            target: deploy.target,
            artifact: deploy.artifact,
            extensions: deploy.extensions,
            outcome: deploy.outcome,
            ...(deploy.stack ? { stack: deploy.stack } : {}),
            ...(deploy.error ? { error: deploy.error } : {}),
          },
        },
        async (tx) => {
          const current: TenantRecord = await requireTenant(state, id);
          tx.putTenant(withDeploy(tx.eventArgs, current, deploy));
        },
      ),
    );
}
