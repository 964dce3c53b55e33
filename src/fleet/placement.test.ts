import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { HEADROOM, overflowOf, placeTenant, usableCapacity, utilisationOf, type CellQuotas, type PlacementCell } from './placement.js';

const quotas = (stacks: number, httpApis: number, concurrency: number): CellQuotas => ({ stacks, httpApis, concurrency });
const DEFAULT = quotas(2000, 600, 1000);
const BASIC = quotas(1, 1, 5);

const cellArb = fc.record({
  name: fc.stringMatching(/^[a-z][a-z0-9]{1,6}$/),
  residency: fc.option(fc.constantFrom('eu', 'us', 'ap'), { nil: undefined }),
  capacity: fc.record({ stacks: fc.integer({ min: 1, max: 50 }), httpApis: fc.integer({ min: 1, max: 50 }), concurrency: fc.integer({ min: 100, max: 400 }) }),
  used: fc.record({ stacks: fc.integer({ min: 0, max: 50 }), httpApis: fc.integer({ min: 0, max: 50 }), concurrency: fc.integer({ min: 0, max: 300 }) }),
});
const fleetArb = fc.uniqueArray(cellArb, { minLength: 1, maxLength: 6, selector: (c) => c.name });
const demandArb = fc.record({ stacks: fc.constant(1), httpApis: fc.constantFrom(1, 2), concurrency: fc.constantFrom(5, 20, 100) });
const residencyArb = fc.option(fc.constantFrom('eu', 'us', 'ap'), { nil: undefined });

/** The placement, or the refusal's message. */
function attempt(cells: PlacementCell[], residency: string | undefined, demand: CellQuotas): PlacementCell | UserError {
  try {
    return placeTenant(cells, { tenant: 'acme', residency, demand });
  } catch (error) {
    if (error instanceof UserError) return error;
    throw error;
  }
}

describe('placement (properties)', () => {
  it('honours residency, never goes past the headroom, and refuses only when no cell with the residency fits', () => {
    fc.assert(
      fc.property(fleetArb, residencyArb, demandArb, (cells, residency, demand) => {
        const placed = attempt(cells, residency, demand);
        const eligible = cells.filter((c) => residency === undefined || c.residency === residency);
        const fitting = eligible.filter((c) => overflowOf(c, demand).length === 0);
        if (placed instanceof UserError) {
          expect(fitting).toEqual([]);
          return;
        }
        if (residency !== undefined) expect(placed.residency).toBe(residency);
        const usable = usableCapacity(placed.capacity);
        for (const q of ['stacks', 'httpApis', 'concurrency'] as const) expect(placed.used[q] + demand[q]).toBeLessThanOrEqual(usable[q] * HEADROOM);
        // The least utilised of those that fit.
        for (const other of fitting) expect(utilisationOf(placed.used, placed.capacity).max).toBeLessThanOrEqual(utilisationOf(other.used, other.capacity).max);
      }),
      { numRuns: 500 },
    );
  });

  it('is deterministic: the order cells are declared in changes nothing', () => {
    fc.assert(
      fc.property(fleetArb, residencyArb, demandArb, fc.integer(), (cells, residency, demand, seed) => {
        const shuffled = [...cells].sort((a, b) => ((a.name.charCodeAt(0) * seed) % 7) - ((b.name.charCodeAt(0) * seed) % 7)).reverse();
        const first = attempt(cells, residency, demand);
        const second = attempt(shuffled, residency, demand);
        expect(second instanceof UserError ? second.message.split(': ')[0] : second.name).toBe(first instanceof UserError ? first.message.split(': ')[0] : first.name);
      }),
      { numRuns: 300 },
    );
  });

  it('filling a fleet one tenant at a time leaves no cell above the headroom while another still fits', () => {
    fc.assert(
      fc.property(fc.uniqueArray(cellArb.map((c) => ({ ...c, used: quotas(0, 0, 0) })), { minLength: 1, maxLength: 5, selector: (c) => c.name }), residencyArb, (cells, residency) => {
        for (let i = 0; i < 200; i += 1) {
          const placed = attempt(cells, residency, BASIC);
          if (placed instanceof UserError) break;
          placed.used = { stacks: placed.used.stacks + 1, httpApis: placed.used.httpApis + 1, concurrency: placed.used.concurrency + 5 };
        }
        for (const cell of cells) expect(utilisationOf(cell.used, cell.capacity).max).toBeLessThanOrEqual(HEADROOM);
      }),
      { numRuns: 100 },
    );
  });
});

describe('placement (examples)', () => {
  const eu1: PlacementCell = { name: 'eu-1', residency: 'eu', capacity: DEFAULT, used: quotas(100, 100, 50) };
  const eu2: PlacementCell = { name: 'eu-2', residency: 'eu', capacity: DEFAULT, used: quotas(10, 10, 10) };
  const us1: PlacementCell = { name: 'us-1', residency: 'us', capacity: DEFAULT, used: quotas(0, 0, 0) };

  it('takes the least-utilised cell of the residency, or the pinned one', () => {
    expect(placeTenant([eu1, eu2, us1], { tenant: 'acme', residency: 'eu', demand: BASIC }).name).toBe('eu-2');
    expect(placeTenant([eu1, eu2, us1], { tenant: 'acme', demand: BASIC }).name).toBe('us-1');
    expect(placeTenant([eu1, eu2, us1], { tenant: 'acme', cell: 'eu-1', demand: BASIC }).name).toBe('eu-1');
  });

  it('refuses with what did not fit', () => {
    const full: PlacementCell = { ...eu2, used: quotas(1600, 10, 10) };
    expect(() => placeTenant([full, us1], { tenant: 'acme', residency: 'eu', demand: BASIC })).toThrow(
      /^no cell with residency eu has room for tenant "acme" below 80 % of each quota: eu-2 \(CloudFormation stacks 1600 \+ 1 of 2000\)$/,
    );
    expect(() => placeTenant([full], { tenant: 'acme', cell: 'eu-2', demand: quotas(1, 1, 800) })).toThrow(/pinned eu-2.*CloudFormation stacks 1600 \+ 1 of 2000, reserved Lambda concurrency 10 \+ 800 of 900/);
    expect(() => placeTenant([eu1], { tenant: 'acme', residency: 'ap', demand: BASIC })).toThrow(/no cell has residency "ap"/);
    expect(() => placeTenant([eu1, us1], { tenant: 'acme', cell: 'us-1', residency: 'eu', demand: BASIC })).toThrow(/cell us-1 has residency us, not eu/);
    expect(() => placeTenant([eu1], { tenant: 'acme', cell: 'nowhere', demand: BASIC })).toThrow(/cell "nowhere" is not declared/);
  });
});
