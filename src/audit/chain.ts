/**
 * The audit events of one tenant with the evidence that they belong to the project's hash chain.
 *
 * A bundle carries two files:
 * - `audit/events.jsonl`: the tenant's events, each line exactly as it is in the log;
 * - `audit/chain.jsonl`: the chain around them, in seq order: first `{"anchor":{seq,hash}}` (the
 *   event just before the exported segment, seq 0 and 64 zeros for the start of the log), then one
 *   `{"gap":{"from","to","count","hash"}}` line for each run of other events (other tenants,
 *   project-wide events) giving the hash of the run's last event, and last `{"head":{seq,hash}}`,
 *   the log's last event at export time.
 *
 * A reader walks both files in seq order: every tenant event's `prevHash` must equal the hash of
 * what precedes it (the anchor, a gap's last hash, or the previous tenant event), its `hash` must be
 * the SHA-256 of its canonical JSON without `hash`, seqs must follow one another without holes, and
 * the walk must end at the head. Comparing the head (or any gap's hash) with the live log shows the
 * bundle's events are the ones in it. Both files are written and read as streams, so a tenant with
 * a million events needs no more memory than one with ten.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { ExitCode, UserError } from '../errors.js';
import { GENESIS_HASH, hashEvent, readTail, type AuditEvent } from '../state/audit-log.js';

export const EVENTS_FILE = 'audit/events.jsonl';
export const CHAIN_FILE = 'audit/chain.jsonl';
/** The signed checkpoints that cover the segment (see checkpoint.ts). */
export const CHECKPOINTS_FILE = 'audit/checkpoints.jsonl';
/** Rows of events the report renders (the newest); the JSONL file has them all. */
export const REPORT_EVENT_ROWS = 1000;

export interface ChainPoint {
  seq: number;
  hash: string;
}

export interface GapRecord {
  from: number;
  to: number;
  count: number;
  hash: string;
}

export interface SegmentSummary {
  /** Events of the tenant in the bundle. */
  tenantEvents: number;
  /** Events of the log in the exported segment (the tenant's and others). */
  segmentEvents: number;
  gapRuns: number;
  anchor: ChainPoint;
  head: ChainPoint;
  since: string | null;
  firstTime: string | null;
  lastTime: string | null;
  /** Tenant events by action. */
  actions: Record<string, number>;
  /** The newest tenant events, at most {@link REPORT_EVENT_ROWS}, oldest first. */
  recent: AuditEvent[];
  /** A torn last line of the log (an interrupted append) that was not exported. */
  tornBytes?: number;
}

/** Writes ASCII lines to a new file in blocks while hashing them. */
class LineWriter {
  private readonly hash = createHash('sha256');
  private readonly fd: number;
  private pending: string[] = [];
  private pendingLength = 0;
  private size = 0;
  private closed = false;

  constructor(path: string) {
    this.fd = openSync(path, 'wx', 0o600);
  }

  push(line: string): void {
    this.pending.push(line, '\n');
    // Stryker disable next-line all: when the writer flushes changes neither the file's bytes nor their hash
    this.pendingLength += line.length + 1;
    // Stryker disable next-line all: when the writer flushes changes neither the file's bytes nor their hash
    if (this.pendingLength >= 64 * 1024) this.flush();
  }

  private flush(): void {
    // Stryker disable next-line ConditionalExpression: an empty flush writes and hashes nothing
    if (this.pending.length === 0) return;
    // Stryker disable next-line StringLiteral: utf8 is Buffer.from's default
    const data = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    this.pendingLength = 0;
    this.hash.update(data);
    this.size += data.length;
    let offset = 0;
    // Stryker disable next-line ArithmeticOperator: writeSync writes a regular file whole, so the loop runs once with offset 0
    while (offset < data.length) offset += writeSync(this.fd, data, offset, data.length - offset);
  }

  close(): { sha256: string; size: number } {
    if (!this.closed) {
      this.closed = true;
      try {
        this.flush();
      } finally {
        closeSync(this.fd);
      }
    }
    return { sha256: this.hash.copy().digest('hex'), size: this.size };
  }
}

/** Where the tenant's event lines go (a file, or a compressor feeding the bundle). */
export interface SegmentSink {
  write(part: Buffer): void;
  /** Resolves when the sink can take more. */
  ready(): Promise<void>;
}

/** A plain file as a {@link SegmentSink}. */
export class FileSink implements SegmentSink {
  private readonly fd: number;

  constructor(readonly file: string) {
    this.fd = openSync(file, 'wx', 0o600);
  }

  write(part: Buffer): void {
    let offset = 0;
    // Stryker disable next-line ArithmeticOperator: writeSync writes a regular file whole, so the loop runs once with offset 0
    while (offset < part.length) offset += writeSync(this.fd, part, offset, part.length - offset);
  }

  async ready(): Promise<void> {}

  close(): void {
    closeSync(this.fd);
  }
}

export interface WriteSegmentOptions {
  logPath: string;
  tenant: string;
  /** ISO date: the segment starts at the first event at or after it. */
  since?: string;
  /** Receives the bytes of `audit/events.jsonl`. */
  events: SegmentSink;
  chainFile: string;
  /**
   * The log's events in seq order when they are not in a local file (the aws target's table);
   * each is written as its JSON line.
   */
  source?: AsyncIterable<AuditEvent>;
}

export interface WrittenSegment extends SegmentSummary {
  files: { events: { sha256: string; size: number }; chain: { sha256: string; size: number } };
}

/** Where the fields the export needs sit in a line's bytes (a view, reused line after line). */
export interface LineView {
  seq: number;
  timeStart: number;
  timeEnd: number;
  /** -1 for `"tenant":null`. */
  tenantStart: number;
  tenantEnd: number;
  actionStart: number;
  actionEnd: number;
  prevHashStart: number;
  hashStart: number;
}

/*
 * The layout of a line as the log writes it (`JSON.stringify` of `buildEvent`'s object): it starts
 * `{"seq":<n>,"time":"<iso>"`, has `,"tenant":<string|null>,"action":"<name>"` before
 * `,"args":`, and ends `,"prevHash":"<hex>","hash":"<hex>"}`. Every position below is derived
 * from these keys; chain.test.ts fails if the log's key order stops matching them.
 */
const HASH_LENGTH = GENESIS_HASH.length;
const SEQ_KEY = Buffer.from('{"seq":');
const TIME_KEY = Buffer.from(',"time":"');
const TENANT_KEY = Buffer.from(',"tenant":');
const ARGS_KEY = Buffer.from(',"args":');
const ACTION_KEY = Buffer.from(',"action":"');
const NULL_VALUE = Buffer.from('null,');
const PREV_KEY = Buffer.from(',"prevHash":"');
const HASH_KEY = Buffer.from('","hash":"');
const LINE_END = Buffer.from('"}');
/** Offsets from the start of the `,"prevHash":"…","hash":"…"}` suffix. */
const PREV_HASH_AT = PREV_KEY.length;
const HASH_KEY_AT = PREV_HASH_AT + HASH_LENGTH;
const HASH_AT = HASH_KEY_AT + HASH_KEY.length;
const SUFFIX_LENGTH = HASH_AT + HASH_LENGTH + LINE_END.length;
/** The shortest line with every field the scan reads (`{"seq":1,"time":"","tenant":null,"action":"","args":{}` and the suffix). */
const MIN_LINE_LENGTH = SEQ_KEY.length + 1 + TIME_KEY.length + 1 + TENANT_KEY.length + NULL_VALUE.length - 1 + ACTION_KEY.length + 1 + ARGS_KEY.length + 2 + SUFFIX_LENGTH;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const CLOSE_BRACE = 0x7d;
const OUTPUT_BLOCK = 1 << 20;

function startsWithAt(buf: Buffer, key: Buffer, at: number, end: number): boolean {
  return at >= 0 && at + key.length <= end && buf.compare(key, 0, key.length, at, at + key.length) === 0;
}

/** End of a JSON string value starting at `from` (no escapes allowed), or -1. */
function stringEnd(buf: Buffer, from: number, end: number): number {
  for (let i = from; i < end; i += 1) {
    const c = buf[i]!;
    if (c === QUOTE) return i;
    if (c === BACKSLASH) return -1;
  }
  // Stryker disable next-line UnaryOperator: unreachable for a line that passed the first check: it ends with '"}', so a quote always ends the string
  return -1;
}

/**
 * Finds seq, time, tenant, action and the two hashes in the bytes of a log line as the local log
 * writes it (`JSON.stringify` of an event: seq, time, actor, command, tenant, action, args, …,
 * prevHash, hash), without decoding or parsing it. Inside a JSON string a quote is always
 * escaped, so `,"tenant":` can only be a key, and it must come before `,"args":` to be the
 * event's own. Returns false for anything unexpected: the caller then parses the line in full.
 */
export function scanLogLine(buf: Buffer, start: number, end: number, view: LineView): boolean {
  const length = end - start;
  if (length < MIN_LINE_LENGTH || !startsWithAt(buf, SEQ_KEY, start, end) || buf[end - 1] !== CLOSE_BRACE || buf[end - 2] !== QUOTE) return false;
  let seq = 0;
  let i = start + SEQ_KEY.length;
  for (; i < end && buf[i]! >= 0x30 && buf[i]! <= 0x39; i += 1) seq = seq * 10 + (buf[i]! - 0x30);
  if (i === start + SEQ_KEY.length || !Number.isSafeInteger(seq) || !startsWithAt(buf, TIME_KEY, i, end)) return false;
  view.seq = seq;
  view.timeStart = i + TIME_KEY.length;
  view.timeEnd = stringEnd(buf, view.timeStart, end);
  if (view.timeEnd < 0) return false;
  const tenantAt = buf.indexOf(TENANT_KEY, view.timeEnd);
  const argsAt = buf.indexOf(ARGS_KEY, view.timeEnd);
  if (tenantAt < 0 || argsAt < 0 || tenantAt > argsAt || argsAt >= end) return false;
  let after: number;
  const value = tenantAt + TENANT_KEY.length;
  if (startsWithAt(buf, NULL_VALUE, value, end)) {
    view.tenantStart = -1;
    view.tenantEnd = -1;
    after = value + NULL_VALUE.length - 1;
  } else if (buf[value] === QUOTE) {
    view.tenantStart = value + 1;
    view.tenantEnd = stringEnd(buf, value + 1, end);
    if (view.tenantEnd < 0) return false;
    after = view.tenantEnd + 1;
  } else return false;
  if (!startsWithAt(buf, ACTION_KEY, after, end)) return false;
  view.actionStart = after + ACTION_KEY.length;
  view.actionEnd = stringEnd(buf, view.actionStart, end);
  const suffix = end - SUFFIX_LENGTH;
  if (view.actionEnd < 0 || !startsWithAt(buf, PREV_KEY, suffix, end) || !startsWithAt(buf, HASH_KEY, suffix + HASH_KEY_AT, end)) return false;
  view.prevHashStart = suffix + PREV_HASH_AT;
  view.hashStart = suffix + HASH_AT;
  return true;
}

/**
 * Streams the log into the two files, checking on the way that every event links to the one
 * before it (seq and prevHash); a broken link fails the export. The events' own hashes are
 * recomputed by `audit verify` (and `audit log --verify`), which read every byte of their content.
 * Lines are handled as bytes: runs of the tenant's lines are copied to the events file as they
 * are, so a million events cost little more than reading them.
 */
export async function writeTenantSegment(options: WriteSegmentOptions): Promise<WrittenSegment> {
  const tail = options.source ? { completeLength: 0, torn: Buffer.alloc(0) } : readTail(options.logPath);
  // Stryker disable next-line StringLiteral: utf8 is Buffer.from's default
  const tenantBytes = Buffer.from(options.tenant, 'utf8');
  const since = options.since === undefined ? null : Buffer.from(options.since, 'latin1');
  const sink = options.events;
  const eventsHash = createHash('sha256');
  let eventsSize = 0;
  const chainLines = new LineWriter(options.chainFile);

  // Stryker disable next-line StringLiteral: the genesis hash is ASCII, the same bytes in every encoding
  const lastHash = Buffer.from(GENESIS_HASH, 'latin1');
  let lastSeq = 0;
  let anchor: ChainPoint | undefined;
  let gap: { from: number; to: number; count: number } | undefined;
  let tenantEvents = 0;
  let segmentEvents = 0;
  let gapRuns = 0;
  let firstTime: string | null = null;
  const actions = new Map<string, number>();
  /**
   * Where the newest tenant lines start in the events output, for the report; the output blocks
   * holding them are kept (they are the last few), so no line is copied for it.
   */
  const ring = new Float64Array(REPORT_EVENT_ROWS);
  const keptBlocks: Array<{ start: number; data: Buffer }> = [];
  let blockStart = 0;
  let lastAction: Buffer | undefined;
  // Stryker disable next-line StringLiteral: set with lastAction before it is first read
  let lastActionName = '';
  const view: LineView = { seq: 0, timeStart: 0, timeEnd: 0, tenantStart: 0, tenantEnd: 0, actionStart: 0, actionEnd: 0, prevHashStart: 0, hashStart: 0 };
  let lineNumber = 0;

  const broken = (seq: number | string, why: string) =>
    new UserError(`the audit log's chain is broken at seq ${seq}: ${why}`, {
      hint: 'run `sovereign audit log --verify`; a bundle is only made from an intact chain',
      exitCode: ExitCode.failed,
    });
  // Runs of tenant lines are gathered into 1 MB blocks: the sink sees few large writes and keeps
  // no reference to the read buffers.
  let block = Buffer.allocUnsafe(OUTPUT_BLOCK);
  let blockLength = 0;
  const flushBlock = () => {
    // Stryker disable next-line ConditionalExpression: an empty block writes nothing and keeps nothing the report reads
    if (blockLength === 0) return;
    const data = block.subarray(0, blockLength);
    sink.write(data);
    keptBlocks.push({ start: blockStart, data });
    // Stryker disable next-line all: which blocks are pruned decides only how much memory the report's tail keeps, not what it holds
    const oldest = tenantEvents >= REPORT_EVENT_ROWS ? ring[tenantEvents % REPORT_EVENT_ROWS]! : 0;
    // Stryker disable next-line all: which blocks are pruned decides only how much memory the report's tail keeps, not what it holds
    while (keptBlocks.length > 0 && keptBlocks[0]!.start + keptBlocks[0]!.data.length <= oldest) keptBlocks.shift();
    blockStart += blockLength;
    block = Buffer.allocUnsafe(OUTPUT_BLOCK);
    blockLength = 0;
  };
  const emit = (buf: Buffer, start: number, end: number) => {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: an empty run adds nothing to the hash, the size or the output
    if (end <= start) return;
    eventsHash.update(buf.subarray(start, end));
    eventsSize += end - start;
    for (let at = start; at < end; ) {
      const n = Math.min(end - at, OUTPUT_BLOCK - blockLength);
      buf.copy(block, blockLength, at, at + n);
      blockLength += n;
      at += n;
      if (blockLength === OUTPUT_BLOCK) flushBlock();
    }
  };
  const closeGap = () => {
    if (!gap) return;
    chainLines.push(JSON.stringify({ gap: { ...gap, hash: lastHash.toString('latin1') } }));
    gapRuns += 1;
    gap = undefined;
  };
  if (since === null) {
    anchor = { seq: 0, hash: GENESIS_HASH };
    chainLines.push(JSON.stringify({ anchor }));
  }

  // Pending run of tenant lines in the current buffer, copied out in one write.
  let runBuf: Buffer | undefined;
  let runStart = 0;
  let runEnd = 0;
  const flushRun = () => {
    if (runBuf) emit(runBuf, runStart, runEnd);
    runBuf = undefined;
  };

  /** Counts an action, making its name only when it differs from the previous one. */
  const countAction = (buf: Buffer, from: number, to: number) => {
    // Stryker disable next-line all: a cache of the previous action's name; making the name again gives the same name
    if (!lastAction || lastAction.length !== to - from || buf.compare(lastAction, 0, lastAction.length, from, to) !== 0) {
      lastAction = Buffer.from(buf.subarray(from, to));
      lastActionName = lastAction.toString('utf8');
    }
    actions.set(lastActionName, (actions.get(lastActionName) ?? 0) + 1);
  };

  /** Handles the line [start, end) of `buf`; `end` is its newline. No allocation on the fast path. */
  const handle = (buf: Buffer, start: number, end: number) => {
    lineNumber += 1;
    let parsed: AuditEvent | undefined;
    // Stryker disable next-line ConditionalExpression: the byte scan is a fast path; parsing every line in full gives the same result
    if (!scanLogLine(buf, start, end, view)) {
      try {
        parsed = JSON.parse(buf.toString('utf8', start, end)) as AuditEvent;
      } catch {
        throw broken(`(line ${lineNumber})`, 'a line is not a JSON event');
      }
      if (typeof parsed !== 'object' || parsed === null || typeof parsed.hash !== 'string' || parsed.hash.length !== HASH_LENGTH || typeof parsed.prevHash !== 'string') {
        throw broken(`(line ${lineNumber})`, 'a line is not an audit event');
      }
    }
    const seq = parsed ? parsed.seq : view.seq;
    if (seq !== lastSeq + 1) throw broken(seq, `expected seq ${lastSeq + 1}`);
    const prevMatches = parsed ? parsed.prevHash === lastHash.toString('latin1') : buf.compare(lastHash, 0, HASH_LENGTH, view.prevHashStart, view.prevHashStart + HASH_LENGTH) === 0;
    if (!prevMatches) throw broken(seq, 'prevHash does not match the previous event');
    if (!anchor) {
      // Stryker disable next-line StringLiteral: utf8 is Buffer.from's default
      const time = parsed ? Buffer.from(String(parsed.time), 'utf8') : buf.subarray(view.timeStart, view.timeEnd);
      if (Buffer.compare(time, since!) >= 0) {
        anchor = { seq: lastSeq, hash: lastHash.toString('latin1') };
        chainLines.push(JSON.stringify({ anchor }));
      }
    }
    if (anchor) {
      segmentEvents += 1;
      const isTenant = parsed
        ? parsed.tenant === options.tenant
        : view.tenantStart >= 0 && view.tenantEnd - view.tenantStart === tenantBytes.length && buf.compare(tenantBytes, 0, tenantBytes.length, view.tenantStart, view.tenantEnd) === 0;
      if (isTenant) {
        closeGap();
        // Stryker disable next-line all: extending a run or starting a new one writes the same bytes in the same order
        if (runBuf === buf && runEnd === start) {
          ring[tenantEvents % REPORT_EVENT_ROWS] = eventsSize + (runEnd - runStart);
          runEnd = end + 1;
        } else {
          // Stryker disable next-line CallExpression: a run is already flushed when another tenant's line or another buffer ended it
          flushRun();
          ring[tenantEvents % REPORT_EVENT_ROWS] = eventsSize;
          runBuf = buf;
          runStart = start;
          runEnd = end + 1;
        }
        if (tenantEvents === 0) firstTime = parsed ? String(parsed.time) : buf.toString('utf8', view.timeStart, view.timeEnd);
        tenantEvents += 1;
        // Stryker disable next-line StringLiteral: utf8 is the default of Buffer.from and Buffer.byteLength
        if (parsed) countAction(Buffer.from(String(parsed.action), 'utf8'), 0, Buffer.byteLength(String(parsed.action), 'utf8'));
        else countAction(buf, view.actionStart, view.actionEnd);
      } else {
        // Stryker disable next-line CallExpression: the next tenant line that starts a run flushes this one first
        flushRun();
        if (gap) {
          gap.to = seq;
          gap.count += 1;
        } else {
          gap = { from: seq, to: seq, count: 1 };
        }
      }
    }
    // Stryker disable next-line StringLiteral: a hash that passed the checks is 64 ASCII characters, the same bytes in utf8
    if (parsed) lastHash.write(parsed.hash, 0, HASH_LENGTH, 'latin1');
    else buf.copy(lastHash, 0, view.hashStart, view.hashStart + HASH_LENGTH);
    lastSeq = seq;
  };

  try {
    let rest: Buffer | undefined;
    if (options.source) {
      for await (const event of options.source) {
        // Stryker disable next-line StringLiteral: utf8 is Buffer.from's default
        const line = Buffer.from(`${JSON.stringify(event)}\n`, 'utf8');
        handle(line, 0, line.length - 1);
        // Stryker disable next-line BlockStatement,CallExpression: the next line's handle, or the finally block, flushes the run all the same
        flushRun();
        await sink.ready();
      }
    } else if (tail.completeLength > 0) {
      for await (const chunk of createReadStream(options.logPath, { end: tail.completeLength - 1, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
        let start = 0;
        if (rest) {
          const nl = chunk.indexOf(NEWLINE);
          if (nl < 0) {
            rest = Buffer.concat([rest, chunk]);
            continue;
          }
          const line = Buffer.concat([rest, chunk.subarray(0, nl + 1)]);
          rest = undefined;
          handle(line, 0, line.length - 1);
          // Stryker disable next-line CallExpression: the next line of another buffer flushes the run all the same
          flushRun();
          start = nl + 1;
        }
        for (let nl = chunk.indexOf(NEWLINE, start); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
          handle(chunk, start, nl);
          start = nl + 1;
        }
        // Stryker disable next-line CallExpression: the next line (another buffer) or the finally block flushes the run all the same
        flushRun();
        // Stryker disable next-line ConditionalExpression,EqualityOperator: an empty rest joins the next line as nothing
        if (start < chunk.length) rest = Buffer.from(chunk.subarray(start));
        await sink.ready();
      }
    }
    if (!anchor) {
      anchor = { seq: lastSeq, hash: lastHash.toString('latin1') };
      chainLines.push(JSON.stringify({ anchor }));
    }
    closeGap();
    chainLines.push(JSON.stringify({ head: { seq: lastSeq, hash: lastHash.toString('latin1') } }));
  } finally {
    // Stryker disable next-line CallExpression: every path to here has flushed the run after its last line
    flushRun();
    flushBlock();
    // Stryker disable next-line CallExpression: closed again just below; this one matters only when the export throws
    chainLines.close();
  }
  const chainFile = chainLines.close();

  // The newest tenant events, for the report: the end of the events output.
  const kept = Math.min(tenantEvents, REPORT_EVENT_ROWS);
  const recent: AuditEvent[] = [];
  // Stryker disable next-line ConditionalExpression,EqualityOperator: with no tenant events there is no tail to read; the ring's zeros give an empty one
  if (kept > 0) {
    const from = ring[(tenantEvents - kept) % REPORT_EVENT_ROWS]!;
    const tailBytes = Buffer.concat(keptBlocks.map((b) => b.data));
    // Stryker disable next-line OptionalChaining: kept > 0 means a block was written and kept
    const text = tailBytes.toString('utf8', from - (keptBlocks[0]?.start ?? 0));
    for (const line of text.split('\n')) if (line) recent.push(JSON.parse(line) as AuditEvent);
  }
  return {
    tenantEvents,
    segmentEvents,
    gapRuns,
    anchor,
    head: { seq: lastSeq, hash: lastHash.toString('latin1') },
    since: options.since ?? null,
    firstTime,
    lastTime: recent.at(-1)?.time ?? null,
    // Stryker disable next-line EqualityOperator: the names are a map's keys, never equal
    actions: Object.fromEntries([...actions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    recent,
    ...(tail.torn.length === 0 ? {} : { tornBytes: tail.torn.length }),
    files: {
      events: { sha256: eventsHash.digest('hex'), size: eventsSize },
      chain: chainFile,
    },
  };
}

export interface ChainCheck {
  ok: boolean;
  tenantEvents: number;
  gapRuns: number;
  anchor?: ChainPoint;
  head?: ChainPoint;
  /** What failed first. */
  problem?: string;
}

/** Lines of a file, decoded as UTF-8 one by one. */
async function* fileLines(path: string): AsyncGenerator<string> {
  let rest: Buffer | undefined;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const data = rest ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let nl = data.indexOf(NEWLINE, start); nl >= 0; nl = data.indexOf(NEWLINE, start)) {
      yield data.toString('utf8', start, nl);
      start = nl + 1;
    }
    rest = start < data.length ? Buffer.from(data.subarray(start)) : undefined;
  }
  if (rest) yield rest.toString('utf8');
}

async function* jsonLines(path: string): AsyncGenerator<{ value: unknown; lineNumber: number }> {
  let lineNumber = 0;
  for await (const line of fileLines(path)) {
    lineNumber += 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    yield { value, lineNumber };
  }
}

const HEX64 = /^[0-9a-f]{64}$/;
function isPoint(value: unknown): value is ChainPoint {
  const v = value as ChainPoint | undefined;
  return typeof v === 'object' && v !== null && Number.isSafeInteger(v.seq) && v.seq >= 0 && typeof v.hash === 'string' && HEX64.test(v.hash);
}

/**
 * Checks the tenant's events against the chain evidence (see the module comment), streaming both
 * files. `expected` are the anchor and head the signed manifest names.
 */
export async function checkTenantSegment(eventsFile: string, chainFile: string, tenant: string, expected: { anchor: ChainPoint; head: ChainPoint }): Promise<ChainCheck> {
  const chainLines = jsonLines(chainFile);
  const eventLines = jsonLines(eventsFile);
  let tenantEvents = 0;
  let gapRuns = 0;
  const fail = (problem: string): ChainCheck => ({ ok: false, tenantEvents, gapRuns, problem });

  const first = await chainLines.next();
  const anchor = first.done ? undefined : (first.value.value as { anchor?: unknown } | null | undefined)?.anchor;
  if (!isPoint(anchor)) return fail(`${CHAIN_FILE} does not start with its anchor`);
  if (anchor.seq !== expected.anchor.seq || anchor.hash !== expected.anchor.hash) return fail(`${CHAIN_FILE}'s anchor differs from the manifest's`);

  let prev = anchor.hash;
  let expectedSeq = anchor.seq + 1;
  let nextChain = await chainLines.next();
  let nextEvent = await eventLines.next();
  for (;;) {
    const chainValue = nextChain.done ? undefined : (nextChain.value.value as Record<string, unknown> | undefined);
    if (chainValue === undefined || typeof chainValue !== 'object' || chainValue === null) return fail(`${CHAIN_FILE} line ${nextChain.done ? 'end' : nextChain.value.lineNumber} is not a chain record (the head is missing)`);
    const event = nextEvent.done ? undefined : (nextEvent.value.value as AuditEvent | undefined);
    if (!nextEvent.done && (event === undefined || typeof event !== 'object' || event === null)) return fail(`${EVENTS_FILE} line ${nextEvent.value.lineNumber} is not a JSON event`);
    if (event && event.seq === expectedSeq) {
      if (event.tenant !== tenant) return fail(`event seq ${event.seq} belongs to ${String(event.tenant)}, not to tenant ${tenant}`);
      if (event.prevHash !== prev) return fail(`event seq ${event.seq}: prevHash does not link to the event before it`);
      const { hash, ...body } = event;
      if (typeof hash !== 'string' || hashEvent(body) !== hash) return fail(`event seq ${event.seq} does not match its hash (it was edited)`);
      prev = hash;
      expectedSeq += 1;
      tenantEvents += 1;
      nextEvent = await eventLines.next();
      continue;
    }
    if ('gap' in chainValue) {
      const gap = chainValue.gap as GapRecord;
      if (typeof gap !== 'object' || gap === null || !Number.isSafeInteger(gap.from) || !Number.isSafeInteger(gap.to) || typeof gap.hash !== 'string' || !HEX64.test(gap.hash)) {
        return fail(`${CHAIN_FILE} line ${nextChain.done ? '?' : nextChain.value.lineNumber} is a malformed gap`);
      }
      if (gap.from !== expectedSeq || gap.to < gap.from || gap.count !== gap.to - gap.from + 1) {
        return fail(event ? `seq ${expectedSeq} is missing (next event is seq ${event.seq}, next gap starts at ${gap.from})` : `gap ${gap.from}–${gap.to} does not follow seq ${expectedSeq - 1}`);
      }
      prev = gap.hash;
      expectedSeq = gap.to + 1;
      gapRuns += 1;
      nextChain = await chainLines.next();
      continue;
    }
    if ('head' in chainValue) {
      const head = chainValue.head;
      if (!isPoint(head)) return fail(`${CHAIN_FILE}'s head is malformed`);
      if (event) return fail(`event seq ${event.seq} is out of place (expected seq ${expectedSeq})`);
      if (head.seq !== expectedSeq - 1 || head.hash !== prev) return fail(`the chain does not end at its head seq ${head.seq}`);
      if (head.seq !== expected.head.seq || head.hash !== expected.head.hash) return fail(`${CHAIN_FILE}'s head differs from the manifest's`);
      const after = await chainLines.next();
      if (!after.done) return fail(`${CHAIN_FILE} has lines after its head`);
      return { ok: true, tenantEvents, gapRuns, anchor, head };
    }
    return fail(event ? `seq ${expectedSeq} is missing before event seq ${event.seq}` : `${CHAIN_FILE} line ${nextChain.value.lineNumber} is not a gap or head`);
  }
}
