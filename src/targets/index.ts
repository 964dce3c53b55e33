/**
 * Opens the target a command runs against. This is the one place that maps a target's name to
 * its implementation; each is imported only when chosen, so the local target never loads the
 * aws target's SDK clients.
 */
import type { Project } from '../project.js';
import type { Target, TargetHost, TargetName } from './target.js';

export async function openTarget(name: TargetName, host: TargetHost): Promise<Target> {
  switch (name) {
    case 'aws':
      return (await import('./aws/index.js')).createAwsTarget(host);
    case 'local':
      return (await import('./local/index.js')).createLocalTarget(host);
  }
}

/**
 * The tenant ids a shell completion offers, read without opening the target: a TAB must answer
 * at once, without an AWS client or the network. The local registry is a folder of files; the aws
 * registry is a control-plane table, so aws tenants are not offered.
 */
export async function completableTenantIds(name: TargetName, project: Project): Promise<string[]> {
  switch (name) {
    case 'aws':
      return [];
    case 'local':
      return (await import('./local/registry.js')).listTenantIds(project.paths.tenants);
  }
}
