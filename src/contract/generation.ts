/**
 * The per-tenant *secrets generation* marker. Every warm runtime environment reads it at most once
 * per interval and invalidates the cached references it lists, so a rotation reaches the whole
 * fleet without a redeploy. The CLI writes it (local target: an atomic file write of
 * `serializeGenerationMarker(marker)`; aws target: a PutItem of `generationMarkerToItem(marker)` into
 * the tenant's table); the runtime only reads it.
 *
 * Pure module: no I/O, no dependencies, safe to import from the CLI and from the runtime (it is
 * bundled into every tenant runtime).
 */

/** One recorded change: the references whose value changed when `generation` was reached. */
export interface GenerationChange {
  generation: number;
  references: string[];
}

/** The marker as stored (JSON file, or the attributes of the DynamoDB item). */
export interface GenerationMarker {
  /** Monotonic counter, 0 for a tenant that never rotated anything. */
  generation: number;
  /** When true, extension routes answer 403 (runtime endpoints keep working). */
  suspended: boolean;
  /** The most recent changes, oldest first, at most `MAX_GENERATION_CHANGES`. */
  changes: GenerationChange[];
  /** ISO-8601 time of the last write. */
  updatedAt: string;
}

/** How many changes the marker keeps; a reader further behind than that invalidates everything. */
export const MAX_GENERATION_CHANGES = 50;

/** Key of the marker item in the tenant's table (`pk` is outside every extension's `<ext>#` prefix). */
export const GENERATION_ITEM_KEY = { pk: '_sovereign', sk: 'generation' } as const;

/** Error for a marker that does not have the documented shape. */
export class GenerationMarkerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GenerationMarkerError';
  }
}

/** The marker of a tenant that has never rotated a secret nor been suspended. */
export function initialGenerationMarker(now: Date = new Date()): GenerationMarker {
  return { generation: 0, suspended: false, changes: [], updatedAt: now.toISOString() };
}

export interface NextGenerationOptions {
  /** References whose value changed (rotation, rollback, `secrets set`). */
  references?: string[];
  /** New suspension state; unchanged when omitted. */
  suspended?: boolean;
  now?: Date;
}

/**
 * The marker after one change. References bump the generation and are recorded; a suspension
 * change alone bumps the generation too (so readers notice quickly) with an empty reference list.
 */
export function nextGeneration(
  marker: GenerationMarker | undefined,
  options: NextGenerationOptions = {},
): GenerationMarker {
  const current = marker ?? initialGenerationMarker(options.now);
  const generation = current.generation + 1;
  const references = [...new Set(options.references ?? [])].sort();
  const changes = [...current.changes, { generation, references }].slice(-MAX_GENERATION_CHANGES);
  return {
    generation,
    suspended: options.suspended ?? current.suspended,
    changes,
    updatedAt: (options.now ?? new Date()).toISOString(),
  };
}

/**
 * What a reader that has seen `sinceGeneration` must invalidate to catch up with `marker`:
 * `'all'` when the marker's history no longer reaches back that far (or went backwards),
 * otherwise the distinct references changed after `sinceGeneration`.
 */
export function changedSince(marker: GenerationMarker, sinceGeneration: number): 'all' | string[] {
  if (marker.generation === sinceGeneration) return [];
  if (marker.generation < sinceGeneration) return 'all';
  const newer = marker.changes.filter((change) => change.generation > sinceGeneration);
  const oldest = newer[0]?.generation;
  // Every generation in (since, current] must be present, else some changes were truncated away.
  if (oldest === undefined || oldest !== sinceGeneration + 1 || newer.length !== marker.generation - sinceGeneration) {
    return 'all';
  }
  return [...new Set(newer.flatMap((change) => change.references))];
}

/** Validates an unknown value (parsed JSON, DynamoDB item) as a marker. */
export function parseGenerationMarker(value: unknown): GenerationMarker {
  if (typeof value !== 'object' || value === null) throw new GenerationMarkerError('generation marker is not an object');
  const v = value as Record<string, unknown>;
  const generation = v.generation;
  if (typeof generation !== 'number' || !Number.isInteger(generation) || generation < 0) {
    throw new GenerationMarkerError('generation marker: "generation" must be a non-negative integer');
  }
  const suspended = v.suspended ?? false;
  if (typeof suspended !== 'boolean') throw new GenerationMarkerError('generation marker: "suspended" must be a boolean');
  const rawChanges = v.changes ?? [];
  if (!Array.isArray(rawChanges)) throw new GenerationMarkerError('generation marker: "changes" must be an array');
  const changes: GenerationChange[] = rawChanges.map((change, index) => {
    const c = change as Record<string, unknown> | null;
    if (
      typeof c !== 'object' || c === null || typeof c.generation !== 'number' || !Array.isArray(c.references) ||
      !c.references.every((r) => typeof r === 'string')
    ) {
      throw new GenerationMarkerError(`generation marker: changes[${index}] must be { generation, references: string[] }`);
    }
    return { generation: c.generation, references: c.references as string[] };
  });
  const updatedAt = typeof v.updatedAt === 'string' ? v.updatedAt : new Date(0).toISOString();
  return { generation, suspended, changes, updatedAt };
}

/** The file form of the marker (local target). */
export function serializeGenerationMarker(marker: GenerationMarker): string {
  return `${JSON.stringify(marker, null, 2)}\n`;
}

/** The DynamoDB item form of the marker (aws target), for a DocumentClient PutCommand. */
export function generationMarkerToItem(marker: GenerationMarker): Record<string, unknown> {
  return { ...GENERATION_ITEM_KEY, ...marker };
}

/** Reads the marker back from a DocumentClient item. */
export function generationMarkerFromItem(item: Record<string, unknown>): GenerationMarker {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return parseGenerationMarker(rest);
}
