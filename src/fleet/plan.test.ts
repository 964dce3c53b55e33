import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { assignGroupShards, parseShard, planFleetDeploy, shardOf, type FleetPlan } from './plan.js';
import { UserError } from '../errors.js';

const known = ['acme', 'acme-eu', 'eu-acme', 'globex', 'initech', 'umbrella'];

function code(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof UserError ? error.exitCode : -1;
  }
  return undefined;
}

describe('planFleetDeploy', () => {
  it('deploys the whole fleet, sorted, with --all', () => {
    const plan = planFleetDeploy({ known: [...known].reverse(), all: true });
    expect(plan.waves).toEqual([{ index: 1, tenants: [...known].sort() }]);
    expect(plan.total).toBe(6);
  });

  it('keeps explicit ids in the order given and refuses unknown ones', () => {
    expect(planFleetDeploy({ known, ids: ['globex', 'acme'] }).waves[0]!.tenants).toEqual(['globex', 'acme']);
    expect(code(() => planFleetDeploy({ known, ids: ['nope'] }))).toBe(3);
    expect(code(() => planFleetDeploy({ known }))).toBe(2);
    expect(code(() => planFleetDeploy({ known, all: true, ids: ['acme'] }))).toBe(2);
  });

  it('orders waves with rest standing for everything not named', () => {
    const plan = planFleetDeploy({ known, waves: ['acme, globex', 'eu-acme', 'rest'] });
    expect(plan.waves.map((w) => w.tenants)).toEqual([['acme', 'globex'], ['eu-acme'], ['acme-eu', 'initech', 'umbrella']]);
  });

  it('limits rest to the explicit ids when ids are given', () => {
    const plan = planFleetDeploy({ known, ids: ['acme', 'globex', 'initech'], waves: ['globex', 'rest'] });
    expect(plan.waves.map((w) => w.tenants)).toEqual([['globex'], ['acme', 'initech']]);
  });

  it('deploys just the named waves without rest, and refuses tenants left out of every wave', () => {
    expect(planFleetDeploy({ known, waves: ['acme', 'globex'] }).waves.map((w) => w.tenants)).toEqual([['acme'], ['globex']]);
    expect(code(() => planFleetDeploy({ known, all: true, waves: ['acme'] }))).toBe(2);
    expect(code(() => planFleetDeploy({ known, waves: ['acme', 'acme'] }))).toBe(2);
    expect(code(() => planFleetDeploy({ known, waves: ['acme,rest'] }))).toBe(2);
    expect(code(() => planFleetDeploy({ known, waves: ['rest', 'rest'] }))).toBe(2);
    expect(code(() => planFleetDeploy({ known, waves: ['ghost', 'rest'] }))).toBe(3);
  });

  it('parses shards and refuses nonsense', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['0/4', '5/4', '1/0', 'a/b', '1', '-1/2']) expect(code(() => parseShard(bad)), bad).toBe(2);
  });

  it('puts every tenant in exactly one shard, keeping wave order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9]{2,10}$/), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 8 }),
        (ids, count) => {
          const seen: string[] = [];
          for (let index = 1; index <= count; index++) {
            const plan = planFleetDeploy({ known: ids, all: true, shard: { index, count } });
            seen.push(...plan.waves.flatMap((w) => w.tenants));
          }
          expect(seen.sort()).toEqual([...ids].sort());
        },
      ),
    );
  });

  it('never moves a tenant to another shard when the fleet grows', () => {
    const before = Object.fromEntries(known.map((id) => [id, shardOf(id, 4)]));
    const grown = [...known, ...Array.from({ length: 200 }, (_, i) => `tenant${i}`)];
    const after = Object.fromEntries(grown.map((id) => [id, shardOf(id, 4)]));
    for (const id of known) expect(after[id]).toBe(before[id]);
    // And the split is roughly even.
    const sizes = [1, 2, 3, 4].map((s) => grown.filter((id) => after[id] === s).length);
    expect(Math.min(...sizes)).toBeGreaterThan(30);
  });
});

describe('planFleetDeploy by cell', () => {
  const cellOf: Record<string, string | undefined> = { acme: 'eu-1', 'acme-eu': 'eu-1', 'eu-acme': 'eu-2', globex: 'us-1', initech: undefined, umbrella: 'us-1' };
  const groupOf = (id: string) => cellOf[id];
  const shape = (plan: FleetPlan) => plan.groups.map((g) => [g.name, g.waves.map((w) => [w.index, w.tenants])]);

  it('splits every wave by cell, tenants without one in home, leaving out waves a cell has no tenant in', () => {
    const plan = planFleetDeploy({ known, waves: ['acme,globex', 'rest'], groupOf });
    expect(plan.grouped).toBe(true);
    expect(shape(plan)).toEqual([
      ['eu-1', [[1, ['acme']], [2, ['acme-eu']]]],
      ['eu-2', [[2, ['eu-acme']]]],
      ['home', [[2, ['initech']]]],
      ['us-1', [[1, ['globex']], [2, ['umbrella']]]],
    ]);
    // The ungrouped view is unchanged.
    expect(plan.waves.map((w) => w.tenants)).toEqual([['acme', 'globex'], ['acme-eu', 'eu-acme', 'initech', 'umbrella']]);
  });

  it('plans as before when no tenant has a cell, with one group home', () => {
    const plan = planFleetDeploy({ known, all: true, shard: '2/3', groupOf: () => undefined });
    const before = planFleetDeploy({ known, all: true, shard: '2/3' });
    expect(plan).toEqual(before);
    expect(plan.grouped).toBe(false);
    expect(shape(plan)).toEqual([['home', [[1, before.waves[0]!.tenants]]]]);
  });

  it('restricts to the cells named by --cell, and refuses a cell no tenant is in, naming the known ones', () => {
    const plan = planFleetDeploy({ known, all: true, groupOf, cells: ['eu-1', 'us-1'] });
    expect(plan.waves[0]!.tenants).toEqual(['acme', 'acme-eu', 'globex', 'umbrella']);
    expect(planFleetDeploy({ known, all: true, groupOf, cells: ['home,eu-2'] }).waves[0]!.tenants).toEqual(['eu-acme', 'initech']);
    let error: unknown;
    try {
      planFleetDeploy({ known, all: true, groupOf, cells: ['ap-1'] });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ exitCode: 3, message: 'no tenant is in cell "ap-1"', hint: 'cells with tenants: eu-1, eu-2, home, us-1' });
    expect(code(() => planFleetDeploy({ known, all: true, groupOf, cells: [' , '] }))).toBe(2);
    // Without cells, every tenant is in home.
    expect(planFleetDeploy({ known, all: true, cells: ['home'] }).total).toBe(6);
    expect(code(() => planFleetDeploy({ known, all: true, cells: ['eu-1'] }))).toBe(3);
  });

  it('assigns whole groups to shards, largest first to the lightest shard', () => {
    const sizes = new Map([['a', 5], ['b', 4], ['c', 3], ['d', 3], ['e', 1]]);
    const assigned = assignGroupShards(sizes, 2);
    const load = [1, 2].map((s) => [...sizes].filter(([name]) => assigned.get(name) === s).reduce((sum, [, n]) => sum + n, 0));
    expect(load.sort()).toEqual([8, 8]);
    expect(assigned.get('a')).toBe(1);
    expect(assigned.get('b')).toBe(2);
    // More shards than groups: each group alone, the rest empty.
    expect(new Set(assignGroupShards(sizes, 8).values()).size).toBe(5);
  });

  const fleet = fc
    .uniqueArray(fc.stringMatching(/^[a-z][a-z0-9]{2,8}$/), { minLength: 1, maxLength: 60 })
    .chain((ids) =>
      fc.record({
        ids: fc.constant(ids),
        cells: fc.array(fc.option(fc.constantFrom('eu-1', 'eu-2', 'eu-3', 'us-1', 'us-2', 'us-3'), { nil: undefined }), { minLength: ids.length, maxLength: ids.length }),
        // A wave number per tenant: 0 = rest.
        waveOf: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: ids.length, maxLength: ids.length }),
        count: fc.integer({ min: 1, max: 8 }),
      }),
    )
    .map(({ ids, cells, waveOf, count }) => {
      const cellOfId = new Map(ids.map((id, i) => [id, cells[i]]));
      const waves = [1, 2, 3].map((w) => ids.filter((_, i) => waveOf[i] === w).join(',')).filter((list) => list.length > 0);
      return { ids, cellOfId, groupOf: (id: string) => cellOfId.get(id), waves: [...waves, 'rest'], count };
    });
  const groupName = (f: { cellOfId: Map<string, string | undefined> }, id: string) =>
    [...f.cellOfId.values()].some((c) => c !== undefined) ? f.cellOfId.get(id) ?? 'home' : 'home';

  it('puts every tenant in exactly one shard and never splits a cell across shards', () => {
    fc.assert(
      fc.property(fleet, (f) => {
        const seen: string[] = [];
        const shardOfGroup = new Map<string, number>();
        for (let index = 1; index <= f.count; index++) {
          const plan = planFleetDeploy({ known: f.ids, waves: f.waves, groupOf: f.groupOf, shard: { index, count: f.count } });
          const tenants = plan.groups.flatMap((g) => g.waves.flatMap((w) => w.tenants));
          expect(tenants.length).toBe(plan.total);
          seen.push(...tenants);
          if (!plan.grouped) continue;
          for (const id of tenants) {
            const group = groupName(f, id);
            expect(shardOfGroup.get(group) ?? index).toBe(index);
            shardOfGroup.set(group, index);
          }
        }
        expect(seen.sort()).toEqual([...f.ids].sort());
      }),
    );
  });

  it('balances shards: none holds more than an even share plus the largest cell', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 6 }), (sizes, count) => {
        const groups = new Map(sizes.map((size, i) => [`cell-${i}`, size]));
        const assigned = assignGroupShards(groups, count);
        const load = new Array<number>(count + 1).fill(0);
        for (const [name, size] of groups) load[assigned.get(name)!]! += size;
        const total = sizes.reduce((a, b) => a + b, 0);
        expect(Math.max(...load)).toBeLessThanOrEqual(total / count + Math.max(...sizes));
        expect(assignGroupShards(new Map([...groups].reverse()), count)).toEqual(assigned);
      }),
    );
  });

  it('keeps exactly the tenants of the cells --cell names', () => {
    fc.assert(
      fc.property(fleet, fc.integer({ min: 0, max: 2 ** 7 - 1 }), (f, mask) => {
        const existing = [...new Set(f.ids.map((id) => groupName(f, id)))].sort();
        const wanted = existing.filter((_, i) => mask & (1 << i));
        if (wanted.length === 0) wanted.push(existing[0]!);
        const plan = planFleetDeploy({ known: f.ids, waves: f.waves, groupOf: f.groupOf, cells: [wanted.join(',')] });
        const planned = plan.groups.flatMap((g) => g.waves.flatMap((w) => w.tenants));
        expect(planned.sort()).toEqual(f.ids.filter((id) => wanted.includes(groupName(f, id))).sort());
        if (plan.grouped) expect(plan.groups.map((g) => g.name).sort()).toEqual(wanted);
      }),
    );
  });

  it('keeps the --wave order within each cell', () => {
    fc.assert(
      fc.property(fleet, (f) => {
        const plan = planFleetDeploy({ known: f.ids, waves: f.waves, groupOf: f.groupOf });
        for (const group of plan.groups) {
          const indexes = group.waves.map((w) => w.index);
          expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
          for (const wave of group.waves) {
            if (plan.grouped) expect(wave.tenants.length).toBeGreaterThan(0);
            const whole = plan.waves[wave.index - 1]!.tenants;
            expect(wave.tenants).toEqual(whole.filter((id) => groupName(f, id) === group.name));
          }
          expect(group.total).toBe(group.waves.reduce((sum, w) => sum + w.tenants.length, 0));
        }
      }),
    );
  });
});
