/**
 * A local tenant's table as a dynalite server over its persistent store
 * (`.sovereign/data/<tenant>/dynamodb`): what the tenant's dev process serves its runtime from,
 * and what `tenant offboard` opens to export the data.
 */
import type { Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

/** Starts dynalite on the store at `path` (created if absent), on a free loopback port. */
export async function serveDynaliteStore(path: string): Promise<{ server: Server; port: number }> {
  // dynalite has no types; declared loosely here.
  const { default: dynalite } = (await import('dynalite' as string)) as { default: (options: Record<string, unknown>) => Server };
  mkdirSync(path, { recursive: true });
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  return { server, port };
}
