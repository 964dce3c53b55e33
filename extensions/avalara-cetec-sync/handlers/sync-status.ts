/** `GET /avalara-cetec-sync/sync/status`: the state of the last invoice sync. */
import { defineHandler } from 'sovereign-cli/runtime';
import type { SyncConfig } from '../models/config.js';
import { readSyncState } from '../services/invoice-sync.js';

export const handler = defineHandler<unknown, unknown, SyncConfig>(async (_request, ctx) => {
  const state = await readSyncState(ctx.db);
  if (!state) return { status: 'never-run' };
  const { leaseUntil: _lease, ...visible } = state;
  return visible;
});
