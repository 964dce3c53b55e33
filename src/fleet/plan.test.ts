import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseShard, planFleetDeploy, shardOf } from './plan.js';
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
