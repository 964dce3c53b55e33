/**
 * The export's tenant segment (`writeTenantSegment`) against a reference written the obvious way:
 * parse every line, keep the tenant's, describe the rest as gaps. The logs are shaped to reach every
 * path of the byte-level export: lines across 1 MB read chunks and a line longer than a chunk, runs
 * of tenant lines longer than the 1 MB output block, more tenant events than the report keeps,
 * lines the scanner declines (escaped characters), `--since`, a torn tail, and events streamed
 * from a store instead of a file. Files, hashes and summary must be exactly the reference's.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkTenantSegment, FileSink, REPORT_EVENT_ROWS, writeTenantSegment, type ChainPoint, type WriteSegmentOptions } from '../src/audit/chain.js';
import { buildEvent, GENESIS_HASH, type AuditEvent } from '../src/state/audit-log.js';

const MB = 1 << 20;

/** A chained log: `shape` gives each event's tenant, action and size of its args. */
function chainedEvents(shape: Array<{ tenant: string | null; action?: string; pad?: number }>): AuditEvent[] {
  const events: AuditEvent[] = [];
  const start = Date.parse('2026-01-01T00:00:00.000Z');
  shape.forEach((s, i) => {
    const time = new Date(start + i * 1000).toISOString();
    events.push(buildEvent(events.at(-1), { actor: 'ops@host', command: 'test', tenant: s.tenant, action: s.action ?? `act.${i % 7}`, args: { i, ...(s.pad ? { pad: 'x'.repeat(s.pad) } : {}) }, outcome: 'success', time }));
  });
  return events;
}

/** Tenants in turn, with long stretches of one tenant and a few very large lines. */
function mixedShape(): Array<{ tenant: string | null; action?: string; pad?: number }> {
  const shape: Array<{ tenant: string | null; action?: string; pad?: number }> = [];
  // 'acne' has acme's length: only its bytes tell them apart.
  const others = ['globex', null, 'initech', 'acme-two', 'acm', 'acne'];
  for (let i = 0; i < 900; i += 1) shape.push({ tenant: i % 3 === 0 ? 'acme' : others[i % others.length]! });
  // A run of acme lines longer than the output block (1 MB).
  for (let i = 0; i < 60; i += 1) shape.push({ tenant: 'acme', pad: 30_000 });
  // Lines longer than a read chunk, of acme and of another tenant.
  shape.push({ tenant: 'acme', pad: MB + 12_345 }, { tenant: 'globex', pad: 2 * MB }, { tenant: 'acme', pad: 100 });
  // Actions the byte scanner declines (escapes), between ordinary ones.
  shape.push({ tenant: 'acme', action: 'odd."quoted"' }, { tenant: 'acme', action: 'tab\there' }, { tenant: 'acme', action: 'ünïcode' });
  // More acme events than the report keeps, in runs broken by single other events.
  for (let i = 0; i < REPORT_EVENT_ROWS + 700; i += 1) shape.push({ tenant: i % 50 === 49 ? 'globex' : 'acme', action: i % 2 ? 'tenant.deploy' : 'secrets.rotate' });
  for (let i = 0; i < 20; i += 1) shape.push({ tenant: i % 2 ? null : 'globex' });
  // A tenant with more than half as many events as the report keeps, but fewer.
  for (let i = 0; i < 600; i += 1) shape.push({ tenant: i % 10 === 9 ? 'globex' : 'initech' });
  return shape;
}

interface Reference {
  events: Buffer;
  chain: string;
  summary: Record<string, unknown>;
}

/** What the segment must be, by parsing every line. */
function reference(lines: string[], tenant: string, since: string | undefined, tornBytes: number): Reference {
  const events = lines.map((line) => JSON.parse(line) as AuditEvent);
  let from = since === undefined ? 0 : events.findIndex((e) => e.time >= since);
  if (from < 0) from = events.length;
  const anchor: ChainPoint = from === 0 ? { seq: 0, hash: GENESIS_HASH } : { seq: events[from - 1]!.seq, hash: events[from - 1]!.hash };
  const chain: string[] = [JSON.stringify({ anchor })];
  const tenantLines: string[] = [];
  const tenantEvents: AuditEvent[] = [];
  let gap: { from: number; to: number; count: number } | undefined;
  let gapRuns = 0;
  let last = anchor;
  const closeGap = () => {
    if (!gap) return;
    chain.push(JSON.stringify({ gap: { ...gap, hash: last.hash } }));
    gapRuns += 1;
    gap = undefined;
  };
  for (let i = from; i < events.length; i += 1) {
    const e = events[i]!;
    if (e.tenant === tenant) {
      closeGap();
      tenantLines.push(lines[i]!);
      tenantEvents.push(e);
    } else if (gap) {
      gap.to = e.seq;
      gap.count += 1;
    } else gap = { from: e.seq, to: e.seq, count: 1 };
    last = { seq: e.seq, hash: e.hash };
  }
  closeGap();
  const head = events.length === 0 ? { seq: 0, hash: GENESIS_HASH } : { seq: events.at(-1)!.seq, hash: events.at(-1)!.hash };
  chain.push(JSON.stringify({ head }));
  const actions = new Map<string, number>();
  for (const e of tenantEvents) actions.set(e.action, (actions.get(e.action) ?? 0) + 1);
  const eventsBytes = Buffer.from(tenantLines.map((l) => `${l}\n`).join(''), 'utf8');
  const chainText = chain.map((l) => `${l}\n`).join('');
  const recent = tenantEvents.slice(-REPORT_EVENT_ROWS);
  const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
  return {
    events: eventsBytes,
    chain: chainText,
    summary: {
      tenantEvents: tenantEvents.length,
      segmentEvents: events.length - from,
      gapRuns,
      anchor,
      head,
      since: since ?? null,
      firstTime: tenantEvents[0]?.time ?? null,
      lastTime: recent.at(-1)?.time ?? null,
      actions: Object.fromEntries([...actions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      recent,
      ...(tornBytes === 0 ? {} : { tornBytes }),
      files: { events: { sha256: sha(eventsBytes), size: eventsBytes.length }, chain: { sha256: sha(chainText), size: Buffer.byteLength(chainText) } },
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), 'sovereign-segment-'));
const mixed = chainedEvents(mixedShape());
const mixedLines = mixed.map((e) => JSON.stringify(e));
const mixedLog = join(dir, 'mixed.jsonl');
writeFileSync(mixedLog, mixedLines.map((l) => `${l}\n`).join(''));
const torn = '{"seq":99999,"time":"2026-02-01T00:00:00.000Z","actor":"ops@h';
const tornLog = join(dir, 'torn.jsonl');
writeFileSync(tornLog, `${mixedLines.map((l) => `${l}\n`).join('')}${torn}`);

/**
 * Lines that end exactly at read-chunk boundaries (1 MB): a chunk that is one line without its
 * newline, and the next chunk starting with that newline.
 */
function boundaryLines(): string[] {
  const events: AuditEvent[] = [];
  const lines: string[] = [];
  const add = (tenant: string, length: number) => {
    const input = (pad: number) => ({ actor: 'ops@host', command: 'test', tenant, action: 'edge', args: { pad: 'y'.repeat(pad) }, outcome: 'success' as const, time: `2026-03-01T00:00:0${events.length}.000Z` });
    const base = JSON.stringify(buildEvent(events.at(-1), input(0))).length;
    const event = buildEvent(events.at(-1), input(length - base));
    events.push(event);
    lines.push(JSON.stringify(event));
    expect(lines.at(-1)!.length).toBe(length);
  };
  add('acme', MB); // its newline is the first byte of the second chunk
  add('globex', MB - 1); // its newline is the first byte of the third chunk
  add('acme', 500);
  add('acme', 700);
  return lines;
}

let runs = 0;
async function exportSegment(options: Omit<WriteSegmentOptions, 'events' | 'chainFile'>) {
  runs += 1;
  const eventsFile = join(dir, `${runs}.events`);
  const chainFile = join(dir, `${runs}.chain`);
  const sink = new FileSink(eventsFile);
  try {
    const written = await writeTenantSegment({ ...options, events: sink, chainFile });
    return { written, events: readFileSync(eventsFile), chain: readFileSync(chainFile, 'utf8'), eventsFile, chainFile };
  } finally {
    sink.close();
  }
}

describe('writeTenantSegment matches a reference that parses every line', () => {
  const middle = mixed[1200]!.time;
  it.each([
    ['acme, the whole log', mixedLog, 'acme', undefined, 0],
    ['acme from --since in the middle', mixedLog, 'acme', middle, 0],
    ['acme from a --since between two events', mixedLog, 'acme', `${middle.slice(0, 20)}500Z`, 0],
    ['globex (the long foreign line is its own)', mixedLog, 'globex', undefined, 0],
    ['a tenant with no events (a prefix of another tenant\'s id)', mixedLog, 'acm-e', undefined, 0],
    ['acme from a --since after every event', mixedLog, 'acme', '2027-01-01T00:00:00.000Z', 0],
    ['acme, with a torn last line', tornLog, 'acme', undefined, Buffer.byteLength(torn)],
    ['initech (fewer events than the report keeps)', mixedLog, 'initech', undefined, 0],
  ] as const)('%s', async (_what, logPath, tenant, since, tornBytes) => {
    const got = await exportSegment({ logPath, tenant, ...(since === undefined ? {} : { since }) });
    const want = reference(mixedLines, tenant, since, tornBytes);
    expect(got.events.equals(want.events)).toBe(true);
    expect(got.chain).toBe(want.chain);
    expect(got.written).toEqual(want.summary);
    expect(Object.keys(got.written.actions)).toEqual(Object.keys(want.summary.actions as object));
    // And the evidence checks out against the anchor and head it names.
    const check = await checkTenantSegment(got.eventsFile, got.chainFile, tenant, { anchor: want.summary.anchor as ChainPoint, head: want.summary.head as ChainPoint });
    expect(check).toMatchObject({ ok: true, tenantEvents: want.summary.tenantEvents, gapRuns: want.summary.gapRuns });
  });

  it('reads lines that end exactly at a read chunk\'s boundary', async () => {
    const lines = boundaryLines();
    const log = join(dir, 'boundary.jsonl');
    writeFileSync(log, lines.map((l) => `${l}\n`).join(''));
    for (const tenant of ['acme', 'globex']) {
      const got = await exportSegment({ logPath: log, tenant });
      const want = reference(lines, tenant, undefined, 0);
      expect(got.events.equals(want.events)).toBe(true);
      expect(got.written).toEqual(want.summary);
    }
  });

  it('hands the sink 1 MB blocks (the last one shorter) and leaves no file open', async () => {
    const openFiles = () => readdirSync('/proc/self/fd').length;
    const before = openFiles();
    const writes: number[] = [];
    const parts: Buffer[] = [];
    const sink = { write: (part: Buffer) => (writes.push(part.length), parts.push(Buffer.from(part))), ready: async () => undefined };
    await writeTenantSegment({ logPath: mixedLog, tenant: 'acme', events: sink, chainFile: join(dir, `blocks-${(runs += 1)}.chain`) });
    const want = reference(mixedLines, 'acme', undefined, 0);
    expect(Buffer.concat(parts).equals(want.events)).toBe(true);
    expect(writes.length).toBe(Math.ceil(want.events.length / MB));
    expect(writes.slice(0, -1).every((n) => n === MB)).toBe(true);
    expect(writes.at(-1)).toBeGreaterThan(0);
    const file = new FileSink(join(dir, `closed-${runs}.events`));
    file.close();
    expect(openFiles()).toBe(before);
  });

  it('gives the same segment from a store that streams the events (the aws target)', async () => {
    async function* source() {
      for (const event of mixed) yield event;
    }
    const got = await exportSegment({ logPath: join(dir, 'absent.jsonl'), tenant: 'acme', source: source() });
    const want = reference(mixedLines, 'acme', undefined, 0);
    expect(got.events.equals(want.events)).toBe(true);
    expect(got.written).toEqual(want.summary);
  });

  it('an empty log: the genesis anchor is the head', async () => {
    const empty = join(dir, 'empty.jsonl');
    writeFileSync(empty, '');
    const got = await exportSegment({ logPath: empty, tenant: 'acme' });
    expect(got.written).toEqual(reference([], 'acme', undefined, 0).summary);
  });

  it('refuses a log whose line is not an audit event, naming the line', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, `${mixedLines.slice(0, 3).join('\n')}\n{"seq":4,"hash":"short","prevHash":"x"}\n`);
    await expect(exportSegment({ logPath: bad, tenant: 'acme' })).rejects.toMatchObject({ message: "the audit log's chain is broken at seq (line 4): a line is not an audit event", hint: expect.stringContaining('sovereign audit log --verify') });
    const noPrevHash = JSON.stringify((({ prevHash: _prev, ...rest }) => rest)(mixed[3]!));
    writeFileSync(bad, `${mixedLines.slice(0, 3).join('\n')}\n${noPrevHash}\n`);
    await expect(exportSegment({ logPath: bad, tenant: 'acme' })).rejects.toMatchObject({ message: "the audit log's chain is broken at seq (line 4): a line is not an audit event" });
    writeFileSync(bad, `${mixedLines.slice(0, 2).join('\n')}\nnot json\n${mixedLines[2]}\n`);
    await expect(exportSegment({ logPath: bad, tenant: 'acme' })).rejects.toMatchObject({ message: "the audit log's chain is broken at seq (line 3): a line is not a JSON event" });
  });
});

describe('checkTenantSegment reads hashes as exactly 64 hex digits', () => {
  it('refuses an anchor or gap hash with anything before or after its digits', async () => {
    const got = await exportSegment({ logPath: mixedLog, tenant: 'acme', since: mixed[10]!.time });
    const chain = got.chain.trim().split('\n');
    const anchor = (JSON.parse(chain[0]!) as { anchor: ChainPoint }).anchor;
    const head = (JSON.parse(chain.at(-1)!) as { head: ChainPoint }).head;
    const gapLine = chain.findIndex((l) => l.startsWith('{"gap"'));
    const check = async (lines: string[], expected = { anchor, head }) => {
      const file = join(dir, `tampered-${(runs += 1)}.chain`);
      writeFileSync(file, `${lines.join('\n')}\n`);
      return checkTenantSegment(got.eventsFile, file, 'acme', expected);
    };
    for (const hash of [`z${anchor.hash}`, `${anchor.hash}z`]) {
      const result = await check([JSON.stringify({ anchor: { seq: anchor.seq, hash } }), ...chain.slice(1)], { anchor: { seq: anchor.seq, hash }, head });
      expect(result).toMatchObject({ ok: false, problem: 'audit/chain.jsonl does not start with its anchor' });
      const gap = (JSON.parse(chain[gapLine]!) as { gap: { hash: string } }).gap;
      const tampered = [...chain];
      tampered[gapLine] = JSON.stringify({ gap: { ...gap, hash: hash === `z${anchor.hash}` ? `z${gap.hash}` : `${gap.hash}z` } });
      expect(await check(tampered)).toMatchObject({ ok: false, problem: `audit/chain.jsonl line ${gapLine + 1} is a malformed gap` });
    }
    // A hash that is not a string, even one that reads as 64 hex digits when made one.
    expect(await check([JSON.stringify({ anchor: { seq: anchor.seq, hash: [anchor.hash] } }), ...chain.slice(1)])).toMatchObject({ ok: false, problem: 'audit/chain.jsonl does not start with its anchor' });
    // A chain record that is JSON null, and an events line that is JSON but not an object.
    const nulled = [...chain];
    nulled[1] = 'null';
    expect(await check(nulled)).toMatchObject({ ok: false, problem: 'audit/chain.jsonl line 2 is not a chain record (the head is missing)' });
    const eventsFile = join(dir, `numbers-${(runs += 1)}.events`);
    const eventLines = got.events.toString('utf8').trim().split('\n');
    writeFileSync(eventsFile, `${[eventLines[0]!, '5', ...eventLines.slice(1)].join('\n')}\n`);
    expect(await checkTenantSegment(eventsFile, got.chainFile, 'acme', { anchor, head })).toMatchObject({ ok: false, problem: 'audit/events.jsonl line 2 is not a JSON event' });
    expect(await check(chain)).toMatchObject({ ok: true });
  });
});
