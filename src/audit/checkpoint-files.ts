/**
 * Where the local target keeps its checkpoints, beside the log in `.sovereign/audit/`:
 * - `checkpoint.json`: the latest one, replaced in the same journaled commit as the event it
 *   covers, so it is never behind the log and never ahead of it;
 * - `checkpoints.jsonl`: every checkpoint, one a line, appended after the commit. It may lag the
 *   latest by one after a crash (it only serves to name the first rewritten seq); a torn last
 *   line is cut off before the next append.
 */
import { closeSync, createReadStream, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseCheckpoint, serializeCheckpoint, type Checkpoint } from './checkpoint.js';

export const LATEST_CHECKPOINT_FILE = 'checkpoint.json';
export const CHECKPOINT_HISTORY_FILE = 'checkpoints.jsonl';

export function checkpointPaths(auditLog: string): { latest: string; history: string } {
  const dir = dirname(auditLog);
  return { latest: join(dir, LATEST_CHECKPOINT_FILE), history: join(dir, CHECKPOINT_HISTORY_FILE) };
}

export type LatestCheckpoint = { state: 'absent' } | { state: 'malformed' } | { state: 'present'; checkpoint: Checkpoint };

export function readLatestCheckpoint(path: string): LatestCheckpoint {
  if (!existsSync(path)) return { state: 'absent' };
  const checkpoint = parseCheckpoint(readFileSync(path, 'utf8'));
  return checkpoint ? { state: 'present', checkpoint } : { state: 'malformed' };
}

/** Appends a checkpoint to the history, cutting off a torn last line (a crash mid-append) first. */
export function appendCheckpointHistory(path: string, checkpoint: Checkpoint): void {
  const fd = openSync(path, 'a+');
  try {
    const size = fstatSync(fd).size;
    if (size > 0) {
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) {
        // Find the last newline, reading back in blocks; everything after it is torn.
        let end = size;
        let keep = 0;
        while (end > 0) {
          const start = Math.max(0, end - 4096);
          const block = Buffer.alloc(end - start);
          readSync(fd, block, 0, block.length, start);
          const newline = block.lastIndexOf(0x0a);
          if (newline >= 0) {
            keep = start + newline + 1;
            break;
          }
          end = start;
        }
        ftruncateSync(fd, keep);
      }
    }
    writeSync(fd, `${serializeCheckpoint(checkpoint)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The history's checkpoints in file order; malformed and torn lines are skipped. */
export async function* readCheckpointHistory(path: string): AsyncGenerator<Checkpoint> {
  if (!existsSync(path)) return;
  let rest = '';
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 }) as AsyncIterable<string>) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const checkpoint = line ? parseCheckpoint(line) : undefined;
      if (checkpoint) yield checkpoint;
    }
  }
}
