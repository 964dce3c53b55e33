/**
 * `tenant diff`'s result, the same shape on every target: what a deploy would change. The aws
 * target fills `summary` from a change set, the local one `differences` from the last deploy.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../contract/canonical-json.js';
import { formatChangeSummary, type ChangeSetSummary } from './aws/change-summary.js';
import type { TargetName } from './target.js';

export type DiffStatus = 'would-create' | 'changes' | 'up-to-date';

export interface TenantDiff {
  tenant: string;
  target: TargetName;
  status: DiffStatus;
  changed: boolean;
  /** aws: the change set's summary. */
  summary?: ChangeSetSummary;
  /** local: what differs from the last deploy. */
  differences?: Array<{ what: string; deployed: string | null; next: string }>;
}

/** SHA-256 of a template's canonical JSON: the same template always hashes the same. */
export function templateSha256(template: unknown): string {
  return createHash('sha256').update(canonicalJson(template)).digest('hex');
}

/** Human text of a diff: the change set's summary, or what differs from the last deploy. */
export function formatTenantDiff(diff: TenantDiff): string {
  if (diff.summary) return formatChangeSummary(diff.summary);
  if (diff.status === 'up-to-date') return `${diff.tenant}: up to date`;
  const lines = [`${diff.tenant}: ${diff.status === 'would-create' ? 'never deployed; a deploy would build and record' : 'changes since the last deploy'}`];
  for (const d of diff.differences ?? []) lines.push(`  ~ ${d.what}: ${d.deployed ?? '(none)'} → ${d.next}`);
  return lines.join('\n');
}
