/**
 * A change set's summary, pure and rendered the same for `tenant deploy` and `tenant diff`: loading
 * it loads no AWS client (the change list's shape is a type only).
 */
import type { Change } from '@aws-sdk/client-cloudformation';

export type ChangeSetType = 'CREATE' | 'UPDATE';

export interface ResourceChangeSummary {
  action: string;
  logicalId: string;
  type: string;
  physicalId?: string;
  /** `True`, `False` or `Conditional` for modifications. */
  replacement?: string;
  /** Properties, attributes or tags that change. */
  changed: string[];
  /** An IAM resource is added or modified: the tenant may gain permissions. */
  iamBroadening: boolean;
}

export interface ChangeSetSummary {
  stack: string;
  type: ChangeSetType;
  changes: ResourceChangeSummary[];
  counts: { add: number; modify: number; remove: number; other: number };
  /** Any change that needs approval (`--yes` or a prompt). */
  iamBroadening: boolean;
}

/** An IAM change that may grant more: any IAM resource added or modified. */
export function isIamBroadening(action: string, type: string): boolean {
  return type.startsWith('AWS::IAM::') && action !== 'Remove';
}

/** Pure: CloudFormation's change list as a summary, in a stable order. */
export function summarizeChanges(stack: string, type: ChangeSetType, changes: Change[]): ChangeSetSummary {
  const resources: ResourceChangeSummary[] = [];
  for (const change of changes) {
    const rc = change.ResourceChange;
    if (!rc) continue;
    const action = rc.Action ?? 'Unknown';
    const resourceType = rc.ResourceType ?? '';
    const changed = [
      ...new Set(
        (rc.Details ?? [])
          .map((d) => [d.Target?.Attribute, d.Target?.Name].filter(Boolean).join('.'))
          .filter((text) => text.length > 0),
      ),
    ].sort();
    resources.push({
      action,
      logicalId: rc.LogicalResourceId ?? '?',
      type: resourceType,
      ...(rc.PhysicalResourceId ? { physicalId: rc.PhysicalResourceId } : {}),
      ...(rc.Replacement ? { replacement: rc.Replacement } : {}),
      changed,
      iamBroadening: isIamBroadening(action, resourceType),
    });
  }
  const order: Record<string, number> = { Add: 0, Modify: 1, Remove: 2 };
  resources.sort((a, b) => (order[a.action] ?? 3) - (order[b.action] ?? 3) || a.logicalId.localeCompare(b.logicalId));
  const count = (action: string) => resources.filter((r) => r.action === action).length;
  return {
    stack,
    type,
    changes: resources,
    counts: { add: count('Add'), modify: count('Modify'), remove: count('Remove'), other: resources.filter((r) => !(r.action in order)).length },
    iamBroadening: resources.some((r) => r.iamBroadening),
  };
}

const SIGN: Record<string, string> = { Add: '+', Modify: '~', Remove: '-' };

/** Human text of a summary: one line per resource, replacements and IAM changes called out. */
export function formatChangeSummary(summary: ChangeSetSummary): string {
  if (summary.changes.length === 0) return `${summary.stack}: no changes`;
  const width = Math.max(...summary.changes.map((c) => c.logicalId.length));
  const lines = [
    `${summary.stack}: ${summary.type === 'CREATE' ? 'would create' : 'changes'} — ${summary.counts.add} to add, ${summary.counts.modify} to modify, ${summary.counts.remove} to remove`,
  ];
  for (const change of summary.changes) {
    const notes: string[] = [];
    if (change.replacement === 'True') notes.push('REPLACEMENT');
    else if (change.replacement === 'Conditional') notes.push('may be replaced');
    if (change.iamBroadening) notes.push('IAM: may grant more permissions');
    if (change.changed.length > 0 && change.action === 'Modify') notes.push(`changes ${change.changed.join(', ')}`);
    lines.push(`  ${SIGN[change.action] ?? '?'} ${change.logicalId.padEnd(width)}  ${change.type}${notes.length ? `  (${notes.join('; ')})` : ''}`);
  }
  return lines.join('\n');
}

