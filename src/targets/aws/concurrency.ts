/**
 * Suspension on aws, where tenant code cannot undo it: a suspended tenant's function gets a
 * reserved concurrency of 0, so Lambda throttles every new invocation before any of the tenant's
 * code runs; resume gives it back its tier's reserved concurrency. The generation marker in the
 * tenant's table says the same thing to a runtime that is still warm, and the runtime's role
 * cannot write that marker (see `renderTenantPolicy`).
 *
 * An invocation already running when the concurrency drops runs to its end (at most the
 * function's timeout); Lambda does not stop it.
 */
import { DeleteFunctionConcurrencyCommand, LambdaClient, PutFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import type { Tier } from '../../templates/tiers.js';
import { TIERS } from '../../templates/tiers.js';
import { SUSPENDED_CONCURRENCY } from '../../templates/tenant-stack.js';
import { tenantFunctionName } from '../../templates/names.js';
import { lazyClientFactory } from './clients.js';

/** The Lambda client, created on first use (suspend and resume are the only callers). */
export const lambdaClientFor = lazyClientFactory((config) => new LambdaClient(config));

export type ConcurrencyOutcome = { set: number | null } | { absent: true };

/**
 * Sets the reserved concurrency of the tenant's function: 0 when `suspended`, else the tier's
 * (or none, where a tier reserves none). A function that does not exist (a tenant never deployed)
 * is reported `absent`; every other failure is thrown.
 */
export async function applySuspensionConcurrency(lambda: LambdaClient, stage: string, tenant: string, tier: Tier, suspended: boolean): Promise<ConcurrencyOutcome> {
  const FunctionName = tenantFunctionName(stage, tenant);
  const reserved = suspended ? SUSPENDED_CONCURRENCY : TIERS[tier].reservedConcurrency;
  try {
    if (suspended || reserved > 0) {
      await lambda.send(new PutFunctionConcurrencyCommand({ FunctionName, ReservedConcurrentExecutions: reserved }));
      return { set: reserved };
    }
    await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName }));
    return { set: null };
  } catch (error) {
    if ((error as { name?: string })?.name === 'ResourceNotFoundException') return { absent: true };
    throw error;
  }
}
