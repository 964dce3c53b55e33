/**
 * The regional limits a fleet of one-stack-per-tenant meets first, and warnings before crossing
 * them. Defaults are AWS's default quotas; raised quotas can be passed in.
 */
import { TIERS, type Tier } from '../templates/tiers.js';

export interface RegionalQuotas {
  /** CloudFormation stacks per region (default quota 2,000). */
  stacks: number;
  /** API Gateway HTTP APIs per region (default quota 600). */
  httpApis: number;
  /** Lambda concurrent executions per region (default quota 1,000). */
  lambdaConcurrency: number;
  /** Lambda keeps this much concurrency unreserved: reservations may not eat into it. */
  lambdaUnreservedMinimum: number;
}

export const DEFAULT_QUOTAS: Readonly<RegionalQuotas> = Object.freeze({ stacks: 2000, httpApis: 600, lambdaConcurrency: 1000, lambdaUnreservedMinimum: 100 });

/** Warn from this share of a quota on. */
export const WARN_AT = 0.8;

export interface ScaleWarning {
  limit: 'cloudformation-stacks' | 'http-apis' | 'lambda-reserved-concurrency';
  /** What the fleet uses (tenants plus other stacks in the region where known). */
  used: number;
  quota: number;
  crossed: boolean;
  message: string;
}

export interface ScaleInputs {
  /** Tenants after the change (including the one being created). */
  tenantCount: number;
  /** Tiers of those tenants (any order); their reserved concurrency adds up. */
  tiers: Tier[];
  /** Other stacks in the region (control plane, anything else), if known. */
  otherStacks?: number;
  /** HTTP APIs of those tenants (two for a tenant whose stack has the machine API); default one each. */
  httpApis?: number;
  quotas?: Partial<RegionalQuotas>;
}

/** Pure: warnings for the limits the fleet is about to cross (or has crossed). */
export function scaleWarnings(tenantCount: number, tiers: Tier[], options: Omit<ScaleInputs, 'tenantCount' | 'tiers'> = {}): ScaleWarning[] {
  const quotas = { ...DEFAULT_QUOTAS, ...options.quotas };
  const warnings: ScaleWarning[] = [];
  const check = (limit: ScaleWarning['limit'], used: number, quota: number, what: string, fix: string) => {
    if (used < quota * WARN_AT) return;
    const crossed = used > quota;
    warnings.push({
      limit,
      used,
      quota,
      crossed,
      message: `${what}: ${used} of ${quota} per region${crossed ? ' — over the quota; deploys will fail' : ` (${Math.round((used / quota) * 100)}%)`}; ${fix}`,
    });
  };
  const stacks = tenantCount + (options.otherStacks ?? 1);
  check('cloudformation-stacks', stacks, quotas.stacks, 'CloudFormation stacks', 'request a quota increase ("Stack count") or spread tenants over regions or accounts');
  check('http-apis', options.httpApis ?? tenantCount, quotas.httpApis, 'API Gateway HTTP APIs', 'request a quota increase ("APIs per account per Region") or move tenants to another region or account');
  const reserved = tiers.reduce((sum, tier) => sum + (TIERS[tier]?.reservedConcurrency ?? 0), 0);
  const reservable = quotas.lambdaConcurrency - quotas.lambdaUnreservedMinimum;
  check(
    'lambda-reserved-concurrency',
    reserved,
    reservable,
    'Lambda reserved concurrency by tier',
    `Lambda keeps ${quotas.lambdaUnreservedMinimum} of ${quotas.lambdaConcurrency} unreserved; raise "Concurrent executions" or move tenants to a lower tier`,
  );
  return warnings;
}
