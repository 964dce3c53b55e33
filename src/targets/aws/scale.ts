/**
 * The regional limits on aws, counted: every stack in the region counts against the quota, this
 * project's tenants and everything else (see `fleet/scale.ts` for the limits and warnings).
 */
import { ListStacksCommand, type StackStatus } from '@aws-sdk/client-cloudformation';
import { scaleWarnings, type RegionalQuotas, type ScaleWarning } from '../../fleet/scale.js';
import type { Tier } from '../../templates/tiers.js';
import { cfnCall, type StackIo } from './stack.js';

const ACTIVE: StackStatus[] = [
  'CREATE_IN_PROGRESS', 'CREATE_COMPLETE', 'CREATE_FAILED', 'ROLLBACK_IN_PROGRESS', 'ROLLBACK_COMPLETE', 'ROLLBACK_FAILED',
  'DELETE_IN_PROGRESS', 'DELETE_FAILED', 'UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_COMPLETE',
  'UPDATE_FAILED', 'UPDATE_ROLLBACK_IN_PROGRESS', 'UPDATE_ROLLBACK_FAILED', 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_ROLLBACK_COMPLETE', 'REVIEW_IN_PROGRESS', 'IMPORT_IN_PROGRESS', 'IMPORT_COMPLETE', 'IMPORT_ROLLBACK_IN_PROGRESS',
  'IMPORT_ROLLBACK_FAILED', 'IMPORT_ROLLBACK_COMPLETE',
] as StackStatus[];

/** Counts the region's stacks that count against the quota (every page of ListStacks). */
export async function countRegionStacks(io: StackIo, match?: string | ((name: string) => boolean)): Promise<{ total: number; matching: number }> {
  const matches = typeof match === 'string' ? (name: string) => name.startsWith(match) : match;
  let total = 0;
  let matching = 0;
  let token: string | undefined;
  do {
    const page = await cfnCall(io, 'listing stacks', () => io.cfn.send(new ListStacksCommand({ StackStatusFilter: ACTIVE, ...(token ? { NextToken: token } : {}) })));
    for (const summary of page.StackSummaries ?? []) {
      if (summary.StackStatus === 'DELETE_COMPLETE') continue;
      total += 1;
      if (matches !== undefined && summary.StackName !== undefined && matches(summary.StackName)) matching += 1;
    }
    token = page.NextToken;
  } while (token);
  return { total, matching };
}

/**
 * The warnings on aws, counting the stacks already in the region (other projects' and stages'
 * too: the quota is per region) on top of this project's tenants.
 */
export async function scaleWarningsOnAws(
  io: StackIo,
  stage: string,
  tenantCount: number,
  tiers: Tier[],
  options: { quotas?: Partial<RegionalQuotas>; httpApis?: number } = {},
): Promise<ScaleWarning[]> {
  const controlPlane = `sovereign-${stage}-control-plane`;
  const { total, matching } = await countRegionStacks(io, (name) => name.startsWith(`sovereign-${stage}-`) && name !== controlPlane);
  // This stage's tenant stacks are counted by tenantCount; every other stack (control plane included) adds to it.
  const otherStacks = total - matching;
  return scaleWarnings(tenantCount, tiers, { otherStacks, ...(options.quotas ? { quotas: options.quotas } : {}), ...(options.httpApis !== undefined ? { httpApis: options.httpApis } : {}) });
}
