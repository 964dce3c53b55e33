/**
 * Fleet deploy planning (pure): which tenants, in which waves, on which shard.
 *
 * - `--all` or explicit ids choose the tenants; `--wave a,b` (repeatable) orders them into waves,
 *   `rest` standing for every chosen tenant no wave names;
 * - `--shard i/n` keeps the tenants whose stable hash falls in shard i of n, so N CI jobs share a
 *   fleet with every tenant in exactly one shard; a tenant's shard never depends on the others.
 *
 * With `groupOf` (a tenant's cell: an account and region of its own) the plan is grouped once any
 * tenant of the fleet has a cell; tenants without one form the group `home`. Each group has its
 * own waves (the `--wave` order, each restricted to the group's tenants, empty waves left out), so
 * the runner can deploy groups side by side. `--cell` keeps only the named groups. `--shard` then
 * assigns whole groups, never splitting one (see `assignGroupShards`), so a CI matrix can run one
 * job per cell. A fleet where no tenant has a cell plans exactly as without `groupOf`.
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
  /** The group (cell) a tenant belongs to; undefined for tenants without one (group `home`). */
  groupOf?: (tenant: string) => string | undefined;
  /** One entry per `--cell`, each a comma-separated list of group names. */
  cells?: string[];
}

export interface FleetWave {
  /** 1-based wave number. */
  index: number;
  tenants: string[];
}

export interface FleetGroup {
  /** The cell's name, or `home` for tenants without one. */
  name: string;
  /** Waves in `--wave` order; `index` is the wave's number on the command line. */
  waves: FleetWave[];
  total: number;
}

export interface FleetPlan {
  /**
   * Every planned tenant by wave number, all groups together (wave n of the plan is wave n of
   * each group).
   */
  waves: FleetWave[];
  /**
   * What the runner deploys: groups side by side, waves in order within each. An ungrouped plan
   * has one group, `home`, holding `waves` as they are.
   */
  groups: FleetGroup[];
  /** Whether tenants are grouped by cell (`groupOf` given and some tenant has a cell). */
  grouped: boolean;
  /** Tenants in the plan (after sharding). */
  total: number;
  shard?: Shard;
}

export const REST = 'rest';
/** The group of tenants without a cell: the project's home account and region. */
export const HOME = 'home';

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

function hashOf(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

/** The shard (1-based) a tenant belongs to among `count`: a stable hash of its id alone. */
export function shardOf(tenant: string, count: number): number {
  return (hashOf(tenant) % count) + 1;
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
  const groupOf = options.groupOf;
  const grouped = groupOf !== undefined && options.known.some((id) => groupOf(id) !== undefined);
  const nameOf = (id: string) => (grouped ? groupOf!(id) ?? HOME : HOME);

  if (options.cells !== undefined && options.cells.length > 0) waves = restrictToCells(waves, options.cells, options.known, nameOf);
  if (shard !== undefined) waves = shardWaves(waves, shard, grouped ? nameOf : undefined);

  const planned: FleetWave[] = waves.map((tenants, i) => ({ index: i + 1, tenants }));
  const total = planned.reduce((sum, wave) => sum + wave.tenants.length, 0);
  return {
    waves: planned,
    groups: grouped ? groupWaves(planned, nameOf) : [{ name: HOME, waves: planned, total }],
    grouped,
    total,
    ...(shard === undefined ? {} : { shard }),
  };
}

/** Keeps the tenants of the groups `--cell` names; a name no tenant of the fleet has is exit 3. */
function restrictToCells(waves: string[][], cells: string[], known: string[], nameOf: (id: string) => string): string[][] {
  const wanted = new Set(cells.flatMap(splitIds));
  if (wanted.size === 0) throw badInput('--cell names no cell', 'for example --cell eu-west-1-a,eu-west-1-b');
  const existing = new Set(known.map(nameOf));
  for (const name of wanted) {
    if (!existing.has(name)) throw notFound(`no tenant is in cell "${name}"`, `cells with tenants: ${[...existing].sort().join(', ')}`);
  }
  return waves.map((list) => list.filter((id) => wanted.has(nameOf(id))));
}

/** Keeps shard `shard.index`'s tenants: whole groups when grouped, else each tenant by its hash. */
function shardWaves(waves: string[][], shard: Shard, nameOf: ((id: string) => string) | undefined): string[][] {
  if (nameOf === undefined) return waves.map((list) => list.filter((id) => shardOf(id, shard.count) === shard.index));
  const sizes = new Map<string, number>();
  for (const id of waves.flat()) sizes.set(nameOf(id), (sizes.get(nameOf(id)) ?? 0) + 1);
  const shardOfGroup = assignGroupShards(sizes, shard.count);
  return waves.map((list) => list.filter((id) => shardOfGroup.get(nameOf(id)) === shard.index));
}

/** Splits each wave by group; groups in order of name, each wave keeping its tenants' order. */
function groupWaves(waves: FleetWave[], nameOf: (id: string) => string): FleetGroup[] {
  const groups = new Map<string, FleetGroup>();
  for (const wave of waves) {
    const byGroup = new Map<string, string[]>();
    for (const id of wave.tenants) {
      const name = nameOf(id);
      const list = byGroup.get(name);
      if (list) list.push(id);
      else byGroup.set(name, [id]);
    }
    for (const [name, tenants] of byGroup) {
      let group = groups.get(name);
      if (!group) groups.set(name, (group = { name, waves: [], total: 0 }));
      group.waves.push({ index: wave.index, tenants });
      group.total += tenants.length;
    }
  }
  return [...groups.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Assigns whole groups to `count` shards (1-based), balanced by tenants: the largest group first
 * (equal sizes in the order of a stable hash of the name, then the name), each to the shard with
 * the fewest tenants so far (the lowest-numbered on a tie). The result depends only on the groups'
 * names and sizes, so every job of a CI matrix, given the same fleet, computes the same split; a
 * group's size changing between two jobs' reads of the registry can move groups.
 */
export function assignGroupShards(sizes: ReadonlyMap<string, number>, count: number): Map<string, number> {
  const order = [...sizes.entries()].sort(([a, sizeA], [b, sizeB]) => sizeB - sizeA || hashOf(a) - hashOf(b) || (a < b ? -1 : a > b ? 1 : 0));
  const load = new Array<number>(count).fill(0);
  const assigned = new Map<string, number>();
  for (const [name, size] of order) {
    let lightest = 0;
    for (let i = 1; i < count; i++) if (load[i]! < load[lightest]!) lightest = i;
    load[lightest]! += size;
    assigned.set(name, lightest + 1);
  }
  return assigned;
}
