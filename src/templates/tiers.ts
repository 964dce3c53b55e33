/**
 * Service tiers: what a tenant's tier buys in API throttling, Lambda capacity and log retention.
 * The same numbers drive the aws template and the `dev` gateway's token buckets.
 */
import { TENANT_TIERS } from '../contract/runtime-environment.js';

export const TIER_NAMES = TENANT_TIERS;
export type Tier = (typeof TIER_NAMES)[number];

export interface TierLimits {
  /** Steady-state requests per second on the HTTP API's default route. */
  rateLimit: number;
  /** Token-bucket burst on the default route. */
  burstLimit: number;
  /** Lambda reserved concurrency: a cap that also guarantees capacity. */
  reservedConcurrency: number;
  /** Lambda memory in MB (CPU scales with it; 1,769 MB is one full vCPU). */
  memorySize: number;
  /** CloudWatch Logs retention of the tenant's log group, in days (an allowed retention value). */
  logRetentionDays: number;
}

export const TIERS: Readonly<Record<Tier, Readonly<TierLimits>>> = Object.freeze({
  basic: Object.freeze({ rateLimit: 100, burstLimit: 200, reservedConcurrency: 5, memorySize: 512, logRetentionDays: 14 }),
  standard: Object.freeze({ rateLimit: 500, burstLimit: 1000, reservedConcurrency: 20, memorySize: 1024, logRetentionDays: 30 }),
  premium: Object.freeze({ rateLimit: 2000, burstLimit: 4000, reservedConcurrency: 100, memorySize: 1769, logRetentionDays: 90 }),
});

/** The tenant function's timeout in seconds (every tier): HTTP APIs stop waiting for an integration at 30. */
export const FUNCTION_TIMEOUT_SECONDS = 29;

export function isTier(value: string): value is Tier {
  return (TIER_NAMES as readonly string[]).includes(value);
}

export function tierLimits(tier: Tier): TierLimits {
  return { ...TIERS[tier] };
}
