/**
 * Placement: which cell a new tenant goes to. Pure: the cells' capacity and use come in, a cell
 * name (or a refusal) goes out, so `tenant create`, `cells list` and the benchmark decide alike.
 *
 * A pinned cell (`--cell`) is taken when it satisfies the residency and has room; otherwise the
 * least-utilised cell with the residency that stays at or below {@link HEADROOM} of every quota
 * once the tenant is placed. Utilisation is a cell's fullest quota; ties go to the lower share of
 * all quotas together, then to the name, so the same fleet always gives the same answer whatever
 * order the cells are declared in.
 */
import { badInput, ExitCode, UserError } from '../errors.js';
import { DEFAULT_QUOTAS } from './scale.js';

/** Placement keeps each of a cell's quotas at or below this share. */
export const HEADROOM = 0.8;

/** A cell's three quotas, or what tenants use of them. */
export interface CellQuotas {
  /** CloudFormation stacks in the cell's region. */
  stacks: number;
  /** API Gateway HTTP APIs in the cell's account and region. */
  httpApis: number;
  /** Lambda concurrent executions of the account and region; tenants reserve some by tier. */
  concurrency: number;
}

export interface PlacementCell {
  name: string;
  residency?: string | undefined;
  capacity: CellQuotas;
  used: CellQuotas;
}

export interface PlacementRequest {
  tenant: string;
  /** `--cell`: this cell or none. */
  cell?: string | undefined;
  /** `--residency`: only cells with this label. */
  residency?: string | undefined;
  /** What the new tenant takes: one stack, one or two HTTP APIs, its tier's reserved concurrency. */
  demand: CellQuotas;
}

const QUOTA_LABELS: Record<keyof CellQuotas, string> = {
  stacks: 'CloudFormation stacks',
  httpApis: 'HTTP APIs',
  concurrency: 'reserved Lambda concurrency',
};
const QUOTAS = Object.keys(QUOTA_LABELS) as Array<keyof CellQuotas>;

/**
 * What of a quota tenants may take. Lambda keeps 100 concurrent executions unreserved
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html), so reservations
 * share the rest.
 */
export function usableCapacity(capacity: CellQuotas): CellQuotas {
  return { ...capacity, concurrency: Math.max(0, capacity.concurrency - DEFAULT_QUOTAS.lambdaUnreservedMinimum) };
}

/** Each quota's share in use (0–1, above 1 when over), and the fullest. */
export function utilisationOf(used: CellQuotas, capacity: CellQuotas): CellQuotas & { max: number } {
  const usable = usableCapacity(capacity);
  const share = (q: keyof CellQuotas) => (usable[q] === 0 ? (used[q] === 0 ? 0 : Infinity) : used[q] / usable[q]);
  const shares = { stacks: share('stacks'), httpApis: share('httpApis'), concurrency: share('concurrency') };
  return { ...shares, max: Math.max(shares.stacks, shares.httpApis, shares.concurrency) };
}

/** The quotas `demand` would take past the headroom in `cell` (none: it fits). */
export function overflowOf(cell: PlacementCell, demand: CellQuotas): Array<keyof CellQuotas> {
  const usable = usableCapacity(cell.capacity);
  return QUOTAS.filter((q) => cell.used[q] + demand[q] > usable[q] * HEADROOM);
}

function describeOverflow(cell: PlacementCell, demand: CellQuotas): string {
  const usable = usableCapacity(cell.capacity);
  const parts = overflowOf(cell, demand).map((q) => `${QUOTA_LABELS[q]} ${cell.used[q]} + ${demand[q]} of ${usable[q]}`);
  return `${cell.name} (${parts.join(', ')})`;
}

function noRoom(tenant: string, cells: PlacementCell[], demand: CellQuotas, where: string): UserError {
  return new UserError(`no cell${where} has room for tenant "${tenant}" below ${HEADROOM * 100} % of each quota: ${cells.map((c) => describeOverflow(c, demand)).join('; ')}`, {
    exitCode: ExitCode.failed,
    hint: 'declare another cell under "cells" in sovereign.config.json, or raise the quota in AWS and the cell\'s "capacity" with it',
  });
}

/** Orders candidates: least utilised first, then the lower share of all quotas, then by name. */
function compareCells(a: PlacementCell, b: PlacementCell): number {
  const ua = utilisationOf(a.used, a.capacity);
  const ub = utilisationOf(b.used, b.capacity);
  if (ua.max !== ub.max) return ua.max - ub.max;
  const sa = ua.stacks + ua.httpApis + ua.concurrency;
  const sb = ub.stacks + ub.httpApis + ub.concurrency;
  if (sa !== sb) return sa - sb;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The cell for a new tenant; a `UserError` naming what did not fit when none has room. */
export function placeTenant(cells: PlacementCell[], request: PlacementRequest): PlacementCell {
  const { tenant, demand } = request;
  if (cells.length === 0) throw badInput(`tenant "${tenant}" cannot be placed: the project declares no cells`, 'declare cells under "cells" in sovereign.config.json (docs/aws.md, "Cells")');
  if (request.residency !== undefined && !cells.some((c) => c.residency === request.residency)) {
    const labels = [...new Set(cells.flatMap((c) => (c.residency ? [c.residency] : [])))].sort();
    throw badInput(`no cell has residency "${request.residency}"`, labels.length ? `declared residencies: ${labels.join(', ')}` : 'give cells a "residency" in sovereign.config.json');
  }
  if (request.cell !== undefined) {
    const pinned = cells.find((c) => c.name === request.cell);
    if (!pinned) throw badInput(`cell "${request.cell}" is not declared`, `declared cells: ${cells.map((c) => c.name).sort().join(', ')}`);
    if (request.residency !== undefined && pinned.residency !== request.residency) {
      throw badInput(`cell ${pinned.name} has residency ${pinned.residency ?? '(none)'}, not ${request.residency}`, 'drop --cell to place the tenant in a cell with that residency, or pin a cell that has it');
    }
    if (overflowOf(pinned, demand).length > 0) throw noRoom(tenant, [pinned], demand, ` (pinned ${pinned.name})`);
    return pinned;
  }
  const candidates = cells.filter((c) => request.residency === undefined || c.residency === request.residency);
  const fitting = candidates.filter((c) => overflowOf(c, demand).length === 0).sort(compareCells);
  if (fitting.length === 0) throw noRoom(tenant, candidates, demand, request.residency === undefined ? '' : ` with residency ${request.residency}`);
  return fitting[0]!;
}
