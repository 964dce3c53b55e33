/**
 * `POST /avalara-cetec-sync/sync/invoices`: syncs Cetec invoices through AvaTax into the tenant
 * table. Answers 200 when the walk is complete, 202 when the time budget ran out (call again to
 * continue), 409 while another call holds the run, and a problem when the run stopped on an error
 * (call again to resume from the checkpoint).
 */
import { defineHandler } from 'sovereign-cli/runtime';
import { avaTaxProblem } from '../../avalara/services/problems.js';
import { cetecProblem } from '../../cetec/services/problems.js';
import type { SyncConfig } from '../models/config.js';
import { syncRequestSchema, type SyncState } from '../models/sync.js';
import { runInvoiceSync } from '../services/invoice-sync.js';
import { invoiceSyncDeps } from '../services/sync-deps.js';

const publicState = ({ leaseUntil: _lease, ...state }: SyncState) => state;

export const handler = defineHandler<unknown, unknown, SyncConfig>(async (request, ctx) => {
  const parsed = syncRequestSchema.safeParse(request.body ?? undefined);
  if (!parsed.success) {
    return {
      status: 400,
      headers: { 'content-type': 'application/problem+json' },
      body: { title: 'Invalid sync request', status: 400, detail: parsed.error.issues.map((i) => i.message).join('; ') },
    };
  }
  const outcome = await runInvoiceSync(await invoiceSyncDeps(ctx), parsed.data);
  switch (outcome.kind) {
    case 'complete':
      return { ...publicState(outcome.state), thisCall: outcome.thisCall };
    case 'partial':
      return { status: 202, body: { ...publicState(outcome.state), thisCall: outcome.thisCall } };
    case 'busy':
      return {
        status: 409,
        headers: { 'content-type': 'application/problem+json' },
        body: { title: 'An invoice sync is already running', status: 409, runId: outcome.state.runId, offset: outcome.state.offset },
      };
    case 'failed': {
      const name = (outcome.error as { name?: string }).name;
      const problem =
        name === 'AvaTaxError' ? avaTaxProblem(outcome.error) : name === 'PaginationError' || name === 'CetecError' ? cetecProblem(outcome.error) : undefined;
      if (problem === undefined) throw outcome.error;
      const p = problem as { status: number; headers?: Record<string, string>; body?: Record<string, unknown> };
      return { ...p, body: { ...p.body, sync: publicState(outcome.state) } };
    }
  }
});
