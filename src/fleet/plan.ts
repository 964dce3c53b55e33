/**
 * Fleet deploy planning (pure): which tenants, in which waves, on which shard.
 *
 * - `--all` or explicit ids choose the tenants; `--wave a,b` (repeatable) orders them into waves,
 *   `rest` standing for every chosen tenant no wave names;
 * - `--shard i/n` keeps the tenants whose stable hash falls in shard i of n, so N CI jobs share a
 *   fleet with every tenant in exactly one shard; a tenant's shard never depends on the others.
 */
import { createHash } from 'node:crypto';
import { badInput, notFound } from '../errors.js';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

export interface FleetPlanOptions {
  /** Every tenant the registry knows. */
  known: string[];
  /** Tenant ids named on the command line. */
  ids?: string[];
  all?: boolean;
  /** One entry per `--wave`, each a comma-separated list of ids or `rest`. */
  waves?: string[];
  shard?: string | Shard;
}

export interface FleetWave {
  /** 1-based wave number. */
  index: number;
  tenants: string[];
}

export interface FleetPlan {
  waves: FleetWave[];
  /** Tenants in the plan (after sharding). */
  total: number;
  shard?: Shard;
}

export const REST = 'rest';

/** Parses `i/n` (1 ≤ i ≤ n). */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = match ? Number(match[1]) : NaN;
  const count = match ? Number(match[2]) : NaN;
  if (!match || count < 1 || index < 1 || index > count) {
    throw badInput(`--shard "${text}" is not i/n with 1 ≤ i ≤ n`, 'for example --shard 2/4 runs the second of four shards');
  }
  return { index, count };
}

/** The shard (1-based) a tenant belongs to among `count`: a stable hash of its id alone. */
export function shardOf(tenant: string, count: number): number {
  const digest = createHash('sha256').update(tenant).digest();
  return (digest.readUInt32BE(0) % count) + 1;
}

function splitIds(text: string): string[] {
  return text
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id.length > 0);
}

export function planFleetDeploy(options: FleetPlanOptions): FleetPlan {
  const known = new Set(options.known);
  const ids = options.ids ?? [];
  const waveArgs = options.waves ?? [];
  if (options.all && ids.length > 0) throw badInput('pass tenant ids or --all, not both');
  if (!options.all && ids.length === 0 && waveArgs.length === 0) {
    throw badInput('no tenants to deploy', 'name tenants, pass --all, or order them with --wave');
  }
  const unknown = (id: string) => {
    if (!known.has(id)) throw notFound(`tenant "${id}" does not exist`, 'list tenants with `sovereign tenant list`');
  };
  ids.forEach(unknown);

  const waveLists = waveArgs.map(splitIds);
  waveLists.forEach((list, i) => {
    if (list.length === 0) throw badInput(`--wave ${i + 1} names no tenants`);
  });
  const restWaves = waveLists.filter((list) => list.includes(REST));
  if (restWaves.length > 1 || restWaves.some((list) => list.length > 1)) {
    throw badInput('"rest" must be a wave of its own, given once', 'for example --wave canary-a,canary-b --wave rest');
  }
  const named = new Map<string, number>();
  waveLists.forEach((list, wave) => {
    for (const id of list) {
      if (id === REST) continue;
      unknown(id);
      if (named.has(id)) throw badInput(`tenant "${id}" is in more than one wave`);
      named.set(id, wave);
    }
  });

  // The chosen tenants: --all (or a "rest" wave with no ids) means the whole fleet.
  const hasRest = restWaves.length > 0;
  let chosen: string[];
  if (options.all || (hasRest && ids.length === 0)) chosen = [...known].sort();
  else if (ids.length > 0) chosen = [...new Set(ids)];
  else chosen = waveLists.flat();

  if (ids.length > 0) {
    const outside = [...named.keys()].filter((id) => !chosen.includes(id));
    if (outside.length > 0) throw badInput(`tenant ${outside.map((id) => `"${id}"`).join(', ')} is in a wave but not among the tenants to deploy`);
  }

  let waves: string[][];
  if (waveLists.length === 0) {
    waves = [chosen];
  } else {
    const rest = chosen.filter((id) => !named.has(id));
    if (!hasRest && rest.length > 0) {
      const shown = rest.slice(0, 5).join(', ') + (rest.length > 5 ? ', …' : '');
      throw badInput(`${rest.length} tenant(s) are in no wave: ${shown}`, 'add --wave rest to deploy them last');
    }
    waves = waveLists.map((list) => (list.length === 1 && list[0] === REST ? rest : list));
  }

  const shard = options.shard === undefined ? undefined : typeof options.shard === 'string' ? parseShard(options.shard) : options.shard;
  if (shard !== undefined) waves = waves.map((list) => list.filter((id) => shardOf(id, shard.count) === shard.index));

  const planned: FleetWave[] = waves.map((tenants, i) => ({ index: i + 1, tenants }));
  return {
    waves: planned,
    total: planned.reduce((sum, wave) => sum + wave.tenants.length, 0),
    ...(shard === undefined ? {} : { shard }),
  };
}
