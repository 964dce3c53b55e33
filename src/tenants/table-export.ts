/**
 * A tenant table exported as JSON lines (`{"Item": …}` in DynamoDB's attribute-value form, the
 * shape of a DynamoDB S3 export), gzipped. Shared by local offboarding and `tenant destroy
 * --export-data` on aws.
 */
import { createWriteStream, readFileSync, renameSync, rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { sha256 } from '../lifecycle/certificate.js';

export interface ScanPage {
  Items?: Array<Record<string, unknown>>;
  LastEvaluatedKey?: Record<string, unknown>;
}

/** Walks a Scan page by page; `scan` returns undefined when the table does not exist. */
export async function* scanPages(scan: (start: Record<string, unknown> | undefined) => Promise<ScanPage | undefined>): AsyncGenerator<Array<Record<string, unknown>>> {
  let start: Record<string, unknown> | undefined;
  do {
    const page = await scan(start);
    if (!page) return;
    yield page.Items ?? [];
    start = page.LastEvaluatedKey;
  } while (start);
}

/** Streams the pages into `path` (temporary file, then rename; mode 0600); returns what it wrote. */
export async function writeTableExport(path: string, pages: AsyncIterable<Array<Record<string, unknown>>>): Promise<{ items: number; bytes: number }> {
  const temp = `${path}.tmp-${process.pid}`;
  let items = 0;
  let bytes = 0;
  async function* lines(): AsyncGenerator<string> {
    for await (const page of pages) {
      for (const item of page) {
        items += 1;
        const line = `${JSON.stringify({ Item: item })}\n`;
        bytes += Buffer.byteLength(line);
        yield line;
      }
    }
  }
  try {
    await pipeline(Readable.from(lines()), createGzip(), createWriteStream(temp, { mode: 0o600 }));
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  return { items, bytes };
}

/** A table export as offboarding keeps it: the file, its SHA-256 and size, and what it holds. */
export interface DataExport {
  path: string;
  sha256: string;
  bytes: number;
  items: number;
  table: string;
}

export function sha256File(path: string): string {
  return sha256(readFileSync(path));
}
