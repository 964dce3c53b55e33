/**
 * Exports a local tenant's table to JSONL.gz: its own dynalite is opened on the tenant's data
 * folder (`.sovereign/data/<tenant>/dynamodb`, as `sovereign dev` keeps it), read with a Scan and
 * closed again. Lines are `{ "Item": <DynamoDB JSON> }`, the same form as the aws export.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { UserError } from '../../errors.js';
import type { Project } from '../../project.js';
import type { TenantRecord } from '../../state/registry.js';
import { tenantTableName } from '../../templates/names.js';
import { scanPages, sha256File, writeTableExport, type DataExport, type ScanPage } from '../../tenants/table-export.js';
import { serveDynaliteStore, storeIsLocked } from './dev/dynalite-store.js';

/** Waits until no other process holds the tenant's LevelDB store (its dev process closing down). */
async function waitForUnlockedStore(dir: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (await storeIsLocked(dir)) {
    if (Date.now() > deadline) {
      throw new UserError('the data of the tenant is in use by another process', {
        hint: 'stop `sovereign dev` (or the process serving this tenant) and run the command again; it continues where it stopped',
        exitCode: 4,
      });
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function openDynalite(dir: string): Promise<{ server: Server; endpoint: string }> {
  const { server, port } = await serveDynaliteStore(dir);
  return { server, endpoint: `http://127.0.0.1:${port}` };
}

/** Writes `<dir>/<table>.jsonl.gz`; an absent data folder or table gives an empty export. */
export type { DataExport };

export async function exportLocalTable(project: Project, record: TenantRecord, dir: string, options: { lockWaitMs?: number } = {}): Promise<DataExport> {
  mkdirSync(dir, { recursive: true });
  const table = tenantTableName(record.stage, record.id);
  const path = join(dir, `${table}.jsonl.gz`);
  const dataDir = join(project.paths.data, record.id, 'dynamodb');
  let opened: { server: Server; endpoint: string } | undefined;
  let client: { destroy(): void } | undefined;
  let written: { items: number; bytes: number };
  try {
    let pages: AsyncIterable<Array<Record<string, unknown>>> = (async function* none() {})();
    if (existsSync(dataDir)) {
      await waitForUnlockedStore(dataDir, options.lockWaitMs ?? 10_000);
      opened = await openDynalite(dataDir);
      const { openEndpointScanner } = await import('../aws/endpoint-scan.js');
      const scanner = await openEndpointScanner(opened.endpoint, project.config.region ?? 'us-east-1');
      client = scanner;
      pages = scanPages(async (start) => (await scanner.page(table, start as Record<string, unknown> | undefined)) as ScanPage | undefined);
    }
    written = await writeTableExport(path, pages);
  } finally {
    client?.destroy();
    if (opened) await new Promise<void>((resolve) => opened!.server.close(() => resolve()));
  }
  return { path, sha256: sha256File(path), bytes: written.bytes, items: written.items, table };
}
