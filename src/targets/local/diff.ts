/** The local target's `tenant diff`: the would-be artifact and template against the last successful deploy record. */
import type { DeployRecord } from '../../state/registry.js';
import type { TenantDiff } from '../diff.js';

/** Pure: the local target's diff, from the last successful deploy record. */
export function diffLocalDeploy(
  tenant: string,
  deploys: DeployRecord[],
  next: { artifact: string; extensions: string[]; templateSha256: string },
): TenantDiff {
  const last = [...deploys].reverse().find((d) => d.outcome === 'success' && d.target === 'local');
  if (!last) return { tenant, target: 'local', status: 'would-create', changed: true, differences: [{ what: 'artifact', deployed: null, next: next.artifact }] };
  const differences: NonNullable<TenantDiff['differences']> = [];
  if (last.artifact !== next.artifact) differences.push({ what: 'artifact', deployed: last.artifact, next: next.artifact });
  const deployedExtensions = [...last.extensions].sort().join(',');
  const nextExtensions = [...next.extensions].sort().join(',');
  if (deployedExtensions !== nextExtensions) differences.push({ what: 'extensions', deployed: deployedExtensions || '(none)', next: nextExtensions || '(none)' });
  const recorded = (last as DeployRecord & { templateSha256?: string }).templateSha256;
  if (recorded !== undefined && recorded !== next.templateSha256) differences.push({ what: 'template', deployed: recorded, next: next.templateSha256 });
  return { tenant, target: 'local', status: differences.length > 0 ? 'changes' : 'up-to-date', changed: differences.length > 0, differences };
}
