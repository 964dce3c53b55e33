/** One snapshot of `sovereign top`: every tenant in the registry with its runtime figures. */
import type { StateStore } from '../state/store.js';
import { topRows, type TopRow } from './format.js';
import type { FiguresQuery, TelemetrySource } from './source.js';

export interface TopSnapshot {
  at: string;
  /** Where the runtime figures come from; null when nothing runs. */
  source: string | null;
  since: string | null;
  tenants: TopRow[];
  message?: string;
}

export async function topSnapshot(state: StateStore, source: TelemetrySource, now = new Date(), query: FiguresQuery = {}): Promise<TopSnapshot> {
  const [records, fleet] = await Promise.all([state.listTenants(), source.figures(query)]);
  return {
    at: now.toISOString(),
    source: fleet?.source ?? null,
    since: fleet?.since ?? null,
    tenants: topRows(records, fleet),
    ...(fleet ? {} : { message: `no runtime figures: ${source.unavailableHint}` }),
  };
}
