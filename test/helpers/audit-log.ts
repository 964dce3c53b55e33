/** A small audit log for the chain and bundle tests. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink, writeTenantSegment, type WrittenSegment } from '../../src/audit/chain.js';
import { appendEvent } from '../../src/state/audit-log.js';

/** Nine events: acme's are seqs 1, 5, 6 and 8, the others belong to globex, initech or the project. */
export const LOG_TENANTS = ['acme', 'globex', 'globex', null, 'acme', 'acme', 'initech', 'acme', 'globex'];

/** A fresh folder with `events.jsonl` holding the {@link LOG_TENANTS} events, one a day from 2026-01-01. */
export function makeLog(): { dir: string; log: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sovereign-auditlog-'));
  const log = join(dir, 'events.jsonl');
  LOG_TENANTS.forEach((tenant, i) => {
    appendEvent(log, { actor: 't@h', command: 'test', tenant, action: `a.${i}`, args: { i }, outcome: 'success', time: `2026-01-0${i + 1}T00:00:00.000Z` });
  });
  return { dir, log };
}

/** acme's segment of `log` exported into `dir`/`name`.events and `name`.chain. */
export async function exportSegment(dir: string, log: string, name = 'segment'): Promise<{ written: WrittenSegment; events: string; chain: string }> {
  const events = join(dir, `${name}.events`);
  const chain = join(dir, `${name}.chain`);
  const sink = new FileSink(events);
  let written: WrittenSegment;
  try {
    written = await writeTenantSegment({ logPath: log, tenant: 'acme', events: sink, chainFile: chain });
  } finally {
    sink.close();
  }
  return { written, events, chain };
}
