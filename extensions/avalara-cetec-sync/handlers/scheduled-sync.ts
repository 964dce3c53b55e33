/**
 * The `sync` schedule: the invoice sync on its own, every 15 minutes. Each run continues the
 * current run from its checkpoint (or starts a new one once the last completed) for one time
 * budget, so a long walk is finished by successive runs and a failed one is resumed by the next.
 * A run finding another call holding the sync does nothing.
 */
import { defineScheduleHandler } from 'sovereign-cli/runtime';
import type { SyncConfig } from '../models/config.js';
import { syncRequestSchema, type SyncState } from '../models/sync.js';
import { runInvoiceSync } from '../services/invoice-sync.js';
import { invoiceSyncDeps } from '../services/sync-deps.js';

const summary = ({ leaseUntil: _lease, lastError: _error, ...state }: SyncState) => state;

export const handler = defineScheduleHandler<unknown, unknown, SyncConfig>(async (run, ctx) => {
  // The manifest's payload (none) or `tenant run --payload`: the same options as the route's body.
  const request = syncRequestSchema.parse(run.payload ?? undefined);
  const outcome = await runInvoiceSync(await invoiceSyncDeps(ctx), request);
  switch (outcome.kind) {
    case 'complete':
    case 'partial':
      return { outcome: outcome.kind, ...summary(outcome.state), thisCall: outcome.thisCall };
    case 'busy':
      ctx.log.info('invoice sync already running; this run leaves it alone', { runId: outcome.state.runId });
      return { outcome: 'busy', runId: outcome.state.runId };
    case 'failed':
      // The run's state holds the checkpoint: the next run resumes from it.
      throw outcome.error;
  }
});
