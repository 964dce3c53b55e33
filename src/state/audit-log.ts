import { createHash, hash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { canonicalJson } from '../contract/canonical-json.js';
import { ExitCode, UserError } from '../errors.js';

export const GENESIS_HASH = '0'.repeat(64);

export type Outcome = 'success' | 'failure';

/** One line of the append-only audit log. */
export interface AuditEvent {
  seq: number;
  time: string;
  actor: string;
  command: string;
  tenant: string | null;
  action: string;
  args: Record<string, unknown>;
  outcome: Outcome;
  /** For failures: the error message (never secret material). */
  error?: string;
  prevHash: string;
  hash: string;
}

export type NewAuditEvent = Omit<AuditEvent, 'seq' | 'prevHash' | 'hash' | 'time'> & { time?: string };

/** Keys whose values are never written into an event, whatever a command passes. */
const SECRET_KEYS = /^(value|values|secret|secretValue|password|token|apiKey|privateKey|key|keyMaterial|plaintext)$/i;

/**
 * Removes secret material from event arguments (defence in depth; commands pass references only):
 * the value of every secret-named key, in objects nested at any depth, inside arrays too.
 */
export function scrubArgs(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    if (v === undefined) continue;
    out[k] = SECRET_KEYS.test(k) ? '[removed]' : scrubValue(v);
  }
  return out;
}

function scrubValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrubValue);
  if (value && typeof value === 'object') return scrubArgs(value as Record<string, unknown>);
  return value;
}

export function hashEvent(event: Omit<AuditEvent, 'hash'>): string {
  // One-shot hashing: about half the cost of createHash for a line-sized input, which counts when
  // `audit verify` and `audit log --verify` rehash a million events.
  return hash('sha256', canonicalJson(event), 'hex');
}

export interface LogTail {
  /** Last complete event, if any. */
  last: AuditEvent | undefined;
  /** Byte length up to and including the last newline. */
  completeLength: number;
  /** Bytes after the last newline: a torn line left by an interrupted append. */
  torn: Buffer;
}

/** Reads the end of the log without reading all of it. */
export function readTail(path: string): LogTail {
  if (!existsSync(path)) return { last: undefined, completeLength: 0, torn: Buffer.alloc(0) };
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    let chunk = 64 * 1024;
    for (;;) {
      const start = Math.max(0, size - chunk);
      const buffer = Buffer.alloc(size - start);
      readSync(fd, buffer, 0, buffer.length, start);
      const lastNewline = buffer.lastIndexOf(0x0a);
      if (lastNewline < 0 && start > 0) {
        chunk *= 4;
        continue;
      }
      const torn = buffer.subarray(lastNewline + 1);
      const completeLength = start + lastNewline + 1;
      if (lastNewline < 0) return { last: undefined, completeLength: 0, torn };
      const before = buffer.lastIndexOf(0x0a, lastNewline - 1);
      if (before < 0 && start > 0) {
        chunk *= 4;
        continue;
      }
      const line = buffer.subarray(before + 1, lastNewline).toString('utf8');
      let last: AuditEvent;
      try {
        last = JSON.parse(line) as AuditEvent;
      } catch {
        throw new UserError(`the audit log ${path} is damaged: its last line is not an event`, {
          hint: 'run `sovereign audit log --verify` to see where; restore the file from a backup',
          exitCode: ExitCode.failed,
        });
      }
      return { last, completeLength, torn };
    }
  } finally {
    closeSync(fd);
  }
}

function appendLine(path: string, line: string, truncateTo?: number): void {
  const fd = openSync(path, 'a+');
  try {
    if (truncateTo !== undefined) ftruncateSync(fd, truncateTo);
    writeSync(fd, line);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * What a caller does around the append of one event: `before` runs once the event is built (its
 * seq and hash known) and before a byte of it is written, `after` once it is fsynced. The local
 * commit stages the event's file changes and its signed checkpoint in `before` and applies them
 * in `after`, so the event, its changes and its checkpoint land together or not at all.
 */
export interface AppendHooks {
  before?(event: AuditEvent): void;
  after?(event: AuditEvent): void;
}

/**
 * Appends an event, chained to the previous one. A torn last line (a crash in the middle of an
 * earlier append) is cut off and recorded by an `audit.repair` event first, so it is reported in
 * the chain rather than accepted or built upon. Call with the project lock held.
 */
export function appendEvent(path: string, input: NewAuditEvent, hooks: AppendHooks = {}): AuditEvent {
  mkdirSync(dirname(path), { recursive: true });
  const last = repairTornTail(path, input.actor, input.command, hooks) ?? readTail(path).last;
  const event = buildEvent(last, input);
  hooks.before?.(event);
  appendLine(path, `${JSON.stringify(event)}\n`);
  hooks.after?.(event);
  return event;
}

/**
 * Cuts off a torn last line (left by a crash in the middle of an append) and records that in an
 * `audit.repair` event, so it is reported in the chain rather than silently accepted or built
 * upon. Returns the repair event, or undefined when the log was whole. Call with the lock held.
 */
export function repairTornTail(path: string, actor: string, command: string, hooks: AppendHooks = {}): AuditEvent | undefined {
  const tail = readTail(path);
  if (tail.torn.length === 0) return undefined;
  const repair = buildEvent(tail.last, {
    actor,
    command,
    tenant: null,
    action: 'audit.repair',
    args: {
      reason: 'an interrupted append left a torn last line; it was cut off',
      tornBytes: tail.torn.length,
      tornSha256: createHash('sha256').update(tail.torn).digest('hex'),
    },
    outcome: 'success',
  });
  hooks.before?.(repair);
  appendLine(path, `${JSON.stringify(repair)}\n`, tail.completeLength);
  hooks.after?.(repair);
  return repair;
}

/** The next event of a chain after `previous` (the local log and the aws audit table share it). */
export function buildEvent(previous: AuditEvent | undefined, input: NewAuditEvent): AuditEvent {
  const body: Omit<AuditEvent, 'hash'> = {
    seq: (previous?.seq ?? 0) + 1,
    time: input.time ?? new Date().toISOString(),
    actor: input.actor,
    command: input.command,
    tenant: input.tenant,
    action: input.action,
    args: scrubArgs(input.args),
    outcome: input.outcome,
    ...(input.error === undefined ? {} : { error: input.error }),
    prevHash: previous?.hash ?? GENESIS_HASH,
  };
  return { ...body, hash: hashEvent(body) };
}

/**
 * The last `limit` complete events that `keep` accepts, oldest first, read backwards from the end
 * of the file in 64 KiB blocks: the cost grows with what is returned, not with the log (a filter
 * that rarely matches reads further back). Lines that are not JSON are skipped, as in a full read.
 */
export function readLastEvents(path: string, limit: number, keep: (event: AuditEvent) => boolean = () => true): { events: AuditEvent[]; tornBytes: number } {
  if (!existsSync(path)) return { events: [], tornBytes: 0 };
  const tail = readTail(path);
  const found: AuditEvent[] = [];
  const fd = openSync(path, 'r');
  try {
    // `buffer` holds the bytes [bufferStart, end of the unread lines), without the newline that ends them.
    let bufferStart = Math.max(0, tail.completeLength - 1);
    let buffer = Buffer.alloc(0);
    while (found.length < limit && (buffer.length > 0 || bufferStart > 0)) {
      const newline = buffer.lastIndexOf(0x0a);
      if (newline < 0 && bufferStart > 0) {
        const size = Math.min(64 * 1024, bufferStart);
        const block = Buffer.alloc(size);
        readSync(fd, block, 0, size, bufferStart - size);
        buffer = buffer.length === 0 ? block : Buffer.concat([block, buffer]);
        bufferStart -= size;
        continue;
      }
      const line = buffer.subarray(newline + 1);
      buffer = newline < 0 ? Buffer.alloc(0) : buffer.subarray(0, newline);
      if (line.length === 0) continue;
      let event: AuditEvent | undefined;
      try {
        event = JSON.parse(line.toString('utf8')) as AuditEvent;
      } catch {
        continue;
      }
      if (event && typeof event === 'object' && keep(event)) found.push(event);
    }
  } finally {
    closeSync(fd);
  }
  return { events: found.reverse(), tornBytes: tail.torn.length };
}

/** Streams every complete event; a torn last line is reported through `onTorn`. */
export async function* readEvents(path: string, onTorn?: (bytes: number) => void): AsyncGenerator<{ event: AuditEvent | undefined; line: string; lineNumber: number }> {
  if (!existsSync(path)) return;
  const tail = readTail(path);
  let lineNumber = 0;
  if (tail.completeLength > 0) {
    const stream = createReadStream(path, { end: tail.completeLength - 1 });
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    for await (const line of lines) {
    lineNumber += 1;
    let event: AuditEvent | undefined;
    try {
      event = JSON.parse(line) as AuditEvent;
    } catch {
      event = undefined;
    }
    yield { event, line, lineNumber };
    }
  }
  if (tail.torn.length > 0) onTorn?.(tail.torn.length);
}

export interface VerifyResult {
  ok: boolean;
  events: number;
  lastSeq: number;
  lastHash: string;
  /** First problem found: seq (or line) and what is wrong. */
  problem?: { seq: number | null; line: number; message: string };
  /** A torn last line (interrupted append) that no later append has repaired yet. */
  tornTail?: { bytes: number };
  repairs: Array<{ seq: number; tornBytes: number }>;
}

/** What is wrong with `event` as link `expectedSeq` after `prevHash`, or undefined when it fits. */
export function chainLinkProblem(event: AuditEvent, expectedSeq: number, prevHash: string): string | undefined {
  const { hash, ...body } = event;
  if (event.seq !== expectedSeq) return `expected seq ${expectedSeq} but found ${event.seq} (an event was deleted, inserted or reordered)`;
  if (event.prevHash !== prevHash) return `prevHash does not match the hash of seq ${expectedSeq - 1}`;
  if (hashEvent(body) !== hash) return 'hash does not match the event (it was edited)';
  return undefined;
}

/**
 * Verifies the chain: every line parses, seq increases by one, prevHash links to the previous
 * hash, and each hash matches its content. Detects edited, deleted, inserted or reordered events.
 */
export async function verifyLog(path: string, filter?: (event: AuditEvent) => void | Promise<void>): Promise<VerifyResult> {
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let count = 0;
  const repairs: VerifyResult['repairs'] = [];
  let torn: number | undefined;
  for await (const { event, line, lineNumber } of readEvents(path, (bytes) => (torn = bytes))) {
    const fail = (seq: number | null, message: string): VerifyResult => ({
      ok: false,
      events: count,
      lastSeq: expectedSeq - 1,
      lastHash: prevHash,
      problem: { seq, line: lineNumber, message },
      repairs,
    });
    if (!event || typeof event !== 'object') return fail(null, `line ${lineNumber} is not a JSON event: ${line.slice(0, 40)}`);
    const broken = chainLinkProblem(event, expectedSeq, prevHash);
    if (broken) return fail(event.seq ?? null, broken);
    const { hash } = event;
    if (event.action === 'audit.repair') repairs.push({ seq: event.seq, tornBytes: Number(event.args.tornBytes) });
    const pending = filter?.(event);
    if (pending) await pending;
    prevHash = hash;
    expectedSeq += 1;
    count += 1;
  }
  const result: VerifyResult = { ok: torn === undefined, events: count, lastSeq: expectedSeq - 1, lastHash: prevHash, repairs };
  if (torn !== undefined) {
    result.tornTail = { bytes: torn };
    result.problem = { seq: null, line: count + 1, message: `torn last line of ${torn} bytes after seq ${expectedSeq - 1} (an append was interrupted)` };
  }
  return result;
}
