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
import { closeSync, createReadStream, fsyncSync, openSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { ExitCode, UserError } from '../errors.js';
import { GENESIS_HASH, hashEvent, readEvents, type AuditEvent } from '../state/audit-log.js';

export const EVENTS_FILE = 'audit/events.jsonl';
export const CHAIN_FILE = 'audit/chain.jsonl';
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

/** Appends lines to a file while hashing them; buffered, synchronous writes. */
class HashingWriter {
  readonly hash = createHash('sha256');
  size = 0;
  private buffer: string[] = [];
  private buffered = 0;
  private readonly fd: number;

  constructor(path: string) {
    this.fd = openSync(path, 'wx', 0o600);
  }

  line(text: string): void {
    this.buffer.push(text, '\n');
    this.buffered += text.length + 1;
    if (this.buffered >= 1 << 20) this.flush();
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    const data = Buffer.from(this.buffer.join(''), 'utf8');
    this.buffer = [];
    this.buffered = 0;
    this.hash.update(data);
    this.size += data.length;
    let offset = 0;
    while (offset < data.length) offset += writeSync(this.fd, data, offset, data.length - offset);
  }

  close(): { sha256: string; size: number } {
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    return { sha256: this.hash.digest('hex'), size: this.size };
  }
}

export interface WriteSegmentOptions {
  logPath: string;
  tenant: string;
  /** ISO date: the segment starts at the first event at or after it. */
  since?: string;
  eventsFile: string;
  chainFile: string;
}

export interface WrittenSegment extends SegmentSummary {
  files: { events: { sha256: string; size: number }; chain: { sha256: string; size: number } };
}

/**
 * Streams the log into the two files, checking the chain on the way (links of every event, the
 * hash of every exported event). A broken chain fails the export: a bundle never certifies it.
 */
export async function writeTenantSegment(options: WriteSegmentOptions): Promise<WrittenSegment> {
  const events = new HashingWriter(options.eventsFile);
  const chain = new HashingWriter(options.chainFile);
  const since = options.since ?? null;
  let previous: ChainPoint = { seq: 0, hash: GENESIS_HASH };
  let anchor: ChainPoint | undefined = since === null ? { ...previous } : undefined;
  let gap: GapRecord | undefined;
  let tenantEvents = 0;
  let segmentEvents = 0;
  let gapRuns = 0;
  let firstTime: string | null = null;
  let lastTime: string | null = null;
  const actions: Record<string, number> = {};
  const recent: AuditEvent[] = [];
  let torn: number | undefined;
  const broken = (seq: number | string, why: string) =>
    new UserError(`the audit log's chain is broken at seq ${seq}: ${why}`, {
      hint: 'run `sovereign audit log --verify`; a bundle is only made from an intact chain',
      exitCode: ExitCode.failed,
    });
  const closeGap = () => {
    if (!gap) return;
    chain.line(JSON.stringify({ gap }));
    gapRuns += 1;
    gap = undefined;
  };
  if (anchor) chain.line(JSON.stringify({ anchor }));
  try {
    for await (const { event, lineNumber, line } of readEvents(options.logPath, (bytes) => (torn = bytes))) {
      if (!event || typeof event !== 'object') throw broken(`(line ${lineNumber})`, 'a line is not a JSON event');
      if (event.seq !== previous.seq + 1) throw broken(event.seq, `expected seq ${previous.seq + 1}`);
      if (event.prevHash !== previous.hash) throw broken(event.seq, 'prevHash does not match the previous event');
      if (!anchor) {
        if (event.time >= since!) {
          anchor = { ...previous };
          chain.line(JSON.stringify({ anchor }));
        }
      }
      if (anchor) {
        segmentEvents += 1;
        if (event.tenant === options.tenant) {
          const { hash, ...body } = event;
          if (hashEvent(body) !== hash) throw broken(event.seq, 'the event does not match its hash');
          closeGap();
          events.line(line);
          tenantEvents += 1;
          firstTime ??= event.time;
          lastTime = event.time;
          actions[event.action] = (actions[event.action] ?? 0) + 1;
          recent.push(event);
          if (recent.length > REPORT_EVENT_ROWS) recent.shift();
        } else if (gap) {
          gap.to = event.seq;
          gap.count += 1;
          gap.hash = event.hash;
        } else {
          gap = { from: event.seq, to: event.seq, count: 1, hash: event.hash };
        }
      }
      previous = { seq: event.seq, hash: event.hash };
    }
    if (!anchor) {
      anchor = { ...previous };
      chain.line(JSON.stringify({ anchor }));
    }
    closeGap();
    chain.line(JSON.stringify({ head: previous }));
  } catch (error) {
    events.close();
    chain.close();
    throw error;
  }
  return {
    tenantEvents,
    segmentEvents,
    gapRuns,
    anchor,
    head: previous,
    since,
    firstTime,
    lastTime,
    actions,
    recent,
    ...(torn === undefined ? {} : { tornBytes: torn }),
    files: { events: events.close(), chain: chain.close() },
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

async function* jsonLines(path: string): AsyncGenerator<{ value: unknown; lineNumber: number }> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const line of lines) {
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
  const anchor = first.done ? undefined : (first.value.value as { anchor?: unknown }).anchor;
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
