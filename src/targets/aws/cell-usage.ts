/**
 * What each cell uses of its quotas, counted in the cell where an SDK client can count it: every
 * stack in the cell's region (CloudFormation ListStacks: other projects' stacks take the quota
 * too) and the concurrency reserved in its account and region (Lambda GetAccountSettings: limit
 * minus unreserved). HTTP APIs are counted from the registry (one per tenant, two with the machine
 * API): the API Gateway v2 client is not a dependency, and the report says so. A tenant registered
 * in the cell but never deployed (`--no-deploy`) has no stack or function yet; it is counted from
 * the registry on top, so a burst of registrations cannot overfill a cell before its deploys.
 */
import { GetAccountSettingsCommand } from '@aws-sdk/client-lambda';
import type { Cell } from '../../config.js';
import { utilisationOf, type CellQuotas, type PlacementCell } from '../../fleet/placement.js';
import type { TenantRecord } from '../../state/registry.js';
import { TIERS } from '../../templates/tiers.js';
import type { CellReport } from '../target.js';
import { lambdaClientFor } from './concurrency.js';
import { explainAwsError, withBackoff } from './errors.js';
import { countRegionStacks } from './scale.js';
import type { AwsSession } from './session.js';

export const COUNTED_FROM: CellReport['countedFrom'] = {
  stacks: 'cloudformation:ListStacks in the cell, plus registered tenants not deployed yet',
  httpApis: 'the registry (tenants recorded in the cell)',
  concurrency: 'lambda:GetAccountSettings in the cell, plus the tiers of tenants not deployed yet',
};

/** Concurrency reserved by functions in the session's account and region. */
async function reservedConcurrency(session: AwsSession, cell: string): Promise<number> {
  try {
    const answer = await withBackoff(() => lambdaClientFor(session.settings).send(new GetAccountSettingsCommand({})), { sleep: session.sleep });
    const limit = answer.AccountLimit?.ConcurrentExecutions ?? 0;
    const unreserved = answer.AccountLimit?.UnreservedConcurrentExecutions ?? limit;
    return Math.max(0, limit - unreserved);
  } catch (error) {
    throw explainAwsError(error, `reading the Lambda account settings of cell ${cell} (lambda:GetAccountSettings)`);
  }
}

export interface MeasureCellsOptions {
  cells: Cell[];
  sessionFor: (cell: Cell) => AwsSession;
  tenants: TenantRecord[];
  /** HTTP APIs of a tenant's stack. */
  httpApisOf: (tenant: string) => number;
}

/** Every cell's report, the cells measured in parallel. */
export async function measureCells(options: MeasureCellsOptions): Promise<CellReport[]> {
  return Promise.all(
    options.cells.map(async (cell): Promise<CellReport> => {
      const session = options.sessionFor(cell);
      const records = options.tenants.filter((t) => t.cell?.name === cell.name);
      const tenants = records.map((t) => t.id).sort();
      const undeployed = records.filter((t) => !t.deploys.some((d) => d.stack !== undefined));
      const [stacks, concurrency] = await Promise.all([
        countRegionStacks({ cfn: session.clients.cloudformation, sleep: session.sleep }).then((c) => c.total),
        reservedConcurrency(session, cell.name),
      ]);
      const used: CellQuotas = {
        stacks: stacks + undeployed.length,
        httpApis: tenants.reduce((sum, id) => sum + options.httpApisOf(id), 0),
        concurrency: concurrency + undeployed.reduce((sum, t) => sum + (TIERS[t.tier]?.reservedConcurrency ?? 0), 0),
      };
      return {
        name: cell.name,
        account: cell.account,
        region: cell.region,
        residency: cell.residency ?? null,
        tenants,
        capacity: cell.capacity,
        used,
        utilisation: utilisationOf(used, cell.capacity),
        countedFrom: COUNTED_FROM,
      };
    }),
  );
}

/** A report as placement reads it. */
export function placementCellOf(report: CellReport): PlacementCell {
  return { name: report.name, residency: report.residency ?? undefined, capacity: report.capacity, used: report.used };
}
