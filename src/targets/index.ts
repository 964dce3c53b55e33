/**
 * Opens the target a command runs against. This is the one place that maps a target's name to
 * its implementation; each is imported only when chosen, so the local target never loads the
 * aws target's SDK clients.
 */
import type { Target, TargetHost, TargetName } from './target.js';

export async function openTarget(name: TargetName, host: TargetHost): Promise<Target> {
  switch (name) {
    case 'aws':
      return (await import('./aws/index.js')).createAwsTarget(host);
    case 'local':
      return (await import('./local/index.js')).createLocalTarget(host);
  }
}
