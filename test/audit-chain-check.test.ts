/**
 * The evidence bundle's chain files, read back: every way `audit/chain.jsonl` and
 * `audit/events.jsonl` can disagree with each other or with the manifest is refused with the
 * message an auditor reads; and what the export summarises about the segment.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHAIN_FILE, checkTenantSegment, EVENTS_FILE, FileSink, REPORT_EVENT_ROWS, writeTenantSegment, type WrittenSegment } from '../src/audit/chain.js';
import { GENESIS_HASH, hashEvent, type AuditEvent } from '../src/state/audit-log.js';
import { exportSegment, makeLog } from './helpers/audit-log.js';

let dir: string;
let log: string;
let written: WrittenSegment;
let events: string[];
let chain: string[];

beforeAll(async () => {
  ({ dir, log } = makeLog());
  const exported = await exportSegment(dir, log);
  written = exported.written;
  events = readFileSync(exported.events, 'utf8').trim().split('\n');
  chain = readFileSync(exported.chain, 'utf8').trim().split('\n');
});

let variants = 0;
/** checkTenantSegment on altered copies of the two files. */
async function check(edit: { events?: (lines: string[]) => string[]; chain?: (lines: string[]) => string[]; raw?: { events?: string; chain?: string }; tenant?: string; expected?: Partial<WrittenSegment> }) {
  variants += 1;
  const eventsFile = join(dir, `v${variants}.events`);
  const chainFile = join(dir, `v${variants}.chain`);
  writeFileSync(eventsFile, edit.raw?.events ?? `${(edit.events?.([...events]) ?? events).join('\n')}\n`);
  writeFileSync(chainFile, edit.raw?.chain ?? `${(edit.chain?.([...chain]) ?? chain).join('\n')}\n`);
  return checkTenantSegment(eventsFile, chainFile, edit.tenant ?? 'acme', { anchor: written.anchor, head: written.head, ...edit.expected });
}
const problem = async (edit: Parameters<typeof check>[0]) => (await check(edit)).problem;
const reseal = (line: string, change: (e: Omit<AuditEvent, 'hash'>) => void) => {
  const { hash: _hash, ...body } = JSON.parse(line) as AuditEvent;
  change(body);
  return JSON.stringify({ ...body, hash: hashEvent(body) });
};

describe('the exported chain files', () => {
  it('are an anchor, one gap per run of other events and the head, and check out', async () => {
    expect(chain.map((l) => Object.keys(JSON.parse(l))[0])).toEqual(['anchor', 'gap', 'gap', 'gap', 'head']);
    expect(JSON.parse(chain[1]!)).toEqual({ gap: { from: 2, to: 4, count: 3, hash: (JSON.parse(readFileSync(log, 'utf8').split('\n')[3]!) as AuditEvent).hash } });
    expect(await check({})).toEqual({ ok: true, tenantEvents: 4, gapRuns: 3, anchor: { seq: 0, hash: GENESIS_HASH }, head: written.head });
  });

  it('also check out without a final newline', async () => {
    expect((await check({ raw: { events: events.join('\n'), chain: chain.join('\n') } })).ok).toBe(true);
  });
});

describe('checkTenantSegment refuses', () => {
  it('a chain file that does not start with a well-formed anchor', async () => {
    const message = `${CHAIN_FILE} does not start with its anchor`;
    expect(await problem({ raw: { chain: '' } })).toBe(message);
    expect(await problem({ chain: (l) => l.slice(1) })).toBe(message);
    for (const anchor of [{ seq: -1, hash: GENESIS_HASH }, { seq: 1.5, hash: GENESIS_HASH }, { seq: 0, hash: 'F'.repeat(64) }, { seq: 0, hash: '0'.repeat(63) }, { seq: 0 }, null, 'x']) {
      expect(await problem({ chain: (l) => [JSON.stringify({ anchor }), ...l.slice(1)] })).toBe(message);
    }
    expect(await problem({ chain: (l) => ['not json', ...l.slice(1)] })).toBe(message);
  });

  it('an anchor other than the manifest\'s', async () => {
    const message = `${CHAIN_FILE}'s anchor differs from the manifest's`;
    expect(await problem({ expected: { anchor: { seq: 1, hash: GENESIS_HASH } } })).toBe(message);
    expect(await problem({ expected: { anchor: { seq: 0, hash: 'a'.repeat(64) } } })).toBe(message);
  });

  it('a chain that stops before its head, or holds a line that is not a record', async () => {
    expect(await problem({ chain: (l) => l.slice(0, -1) })).toBe(`${CHAIN_FILE} line end is not a chain record (the head is missing)`);
    expect(await problem({ chain: (l) => [l[0]!, 'oops', ...l.slice(1)] })).toBe(`${CHAIN_FILE} line 2 is not a chain record (the head is missing)`);
    expect(await problem({ chain: (l) => [l[0]!, '7', ...l.slice(1)] })).toBe(`${CHAIN_FILE} line 2 is not a chain record (the head is missing)`);
  });

  it('an events line that is not JSON', async () => {
    expect(await problem({ events: (l) => [l[0]!, '{broken', ...l.slice(1)] })).toBe(`${EVENTS_FILE} line 2 is not a JSON event`);
    expect(await problem({ events: (l) => [l[0]!, 'null', ...l.slice(1)] })).toBe(`${EVENTS_FILE} line 2 is not a JSON event`);
  });

  it('an event of another tenant, one whose link or hash is wrong', async () => {
    expect(await problem({ events: (l) => [reseal(l[0]!, (e) => void (e.tenant = 'globex')), ...l.slice(1)] })).toBe('event seq 1 belongs to globex, not to tenant acme');
    expect(await problem({ tenant: 'globex' })).toBe('event seq 1 belongs to acme, not to tenant globex');
    expect(await problem({ events: (l) => [l[0]!.replace('"i":0', '"i":1'), ...l.slice(1)] })).toBe('event seq 1 does not match its hash (it was edited)');
    expect(await problem({ events: (l) => [JSON.stringify({ ...JSON.parse(l[0]!), hash: 42 }), ...l.slice(1)] })).toBe('event seq 1 does not match its hash (it was edited)');
  });

  it('a malformed gap', async () => {
    const gap = (change: Record<string, unknown>) => (l: string[]) => [l[0]!, JSON.stringify({ gap: { ...JSON.parse(l[1]!).gap, ...change } }), ...l.slice(2)];
    for (const change of [{ from: '2' }, { to: 4.5 }, { hash: 'nope' }, { hash: 7 }]) {
      expect(await problem({ chain: gap(change) })).toBe(`${CHAIN_FILE} line 2 is a malformed gap`);
    }
    expect(await problem({ chain: (l) => [l[0]!, '{"gap":null}', ...l.slice(2)] })).toBe(`${CHAIN_FILE} line 2 is a malformed gap`);
  });

  it('a gap that does not follow, or does not add up', async () => {
    // The last gap (seq 9) comes after acme's last event, so no event explains the mismatch.
    const lastGap = (change: Record<string, unknown>) => (l: string[]) => [...l.slice(0, 3), JSON.stringify({ gap: { ...JSON.parse(l[3]!).gap, ...change } }), l[4]!];
    expect(await problem({ chain: lastGap({ from: 10, to: 10 }) })).toBe('gap 10–10 does not follow seq 8');
    expect(await problem({ chain: lastGap({ to: 8, count: 0 }) })).toBe('gap 9–8 does not follow seq 8');
    expect(await problem({ chain: lastGap({ count: 2 }) })).toBe('gap 9–9 does not follow seq 8');
    // With events left, the message names the missing seq, the next event and the next gap.
    const firstGap = (change: Record<string, unknown>) => (l: string[]) => [l[0]!, JSON.stringify({ gap: { ...JSON.parse(l[1]!).gap, ...change } }), ...l.slice(2)];
    expect(await problem({ chain: firstGap({ from: 3, count: 2 }) })).toBe('seq 2 is missing (next event is seq 5, next gap starts at 3)');
    expect(await problem({ events: (l) => [l[0]!, ...l.slice(2)] })).toBe('seq 5 is missing (next event is seq 6, next gap starts at 7)');
  });

  it('a malformed head, an event after it, or a head the walk does not reach', async () => {
    const head = (value: unknown) => (l: string[]) => [...l.slice(0, -1), JSON.stringify({ head: value })];
    expect(await problem({ chain: head({ seq: 9 }) })).toBe(`${CHAIN_FILE}'s head is malformed`);
    expect(await problem({ chain: head({ ...written.head, seq: 10 }) })).toBe('the chain does not end at its head seq 10');
    expect(await problem({ chain: head({ ...written.head, hash: 'b'.repeat(64) }) })).toBe(`the chain does not end at its head seq 9`);
    expect(await problem({ expected: { head: { ...written.head, seq: 8 } } })).toBe(`${CHAIN_FILE}'s head differs from the manifest's`);
    expect(await problem({ expected: { head: { ...written.head, hash: 'c'.repeat(64) } } })).toBe(`${CHAIN_FILE}'s head differs from the manifest's`);
    // The last gap (seq 9) dropped: the walk reaches the head with seq 9 unaccounted for.
    expect(await problem({ chain: (l) => [...l.slice(0, -2), l.at(-1)!] })).toBe('the chain does not end at its head seq 9');
  });

  it('lines after the head, and a record that is neither gap nor head', async () => {
    expect(await problem({ chain: (l) => [...l, l.at(-1)!] })).toBe(`${CHAIN_FILE} has lines after its head`);
    expect(await problem({ chain: (l) => [...l.slice(0, -1), '{"note":1}', l.at(-1)!] })).toBe(`${CHAIN_FILE} line 5 is not a gap or head`);
    expect(await problem({ events: (l) => [l[0]!, ...l.slice(2)], chain: (l) => [l[0]!, l[1]!, '{"note":1}', ...l.slice(2)] })).toBe('seq 5 is missing before event seq 6');
  });

  it('an event that turns up where the chain has moved on: out of place before the head', async () => {
    // acme's last event (seq 8) moved behind where the head is expected.
    const moved = reseal(events[3]!, () => undefined);
    expect(await problem({ events: (l) => [...l.slice(0, 3), moved, moved] })).toBe('event seq 8 is out of place (expected seq 10)');
  });
});

describe('what the export summarises', () => {
  it('the segment, its times and its actions by name', () => {
    expect(written).toMatchObject({
      tenantEvents: 4,
      segmentEvents: 9,
      gapRuns: 3,
      since: null,
      firstTime: '2026-01-01T00:00:00.000Z',
      lastTime: '2026-01-08T00:00:00.000Z',
      actions: { 'a.0': 1, 'a.4': 1, 'a.5': 1, 'a.7': 1 },
    });
    expect(Object.keys(written.actions)).toEqual(['a.0', 'a.4', 'a.5', 'a.7']);
    expect(written.recent.map((e) => e.seq)).toEqual([1, 5, 6, 8]);
    expect(written.files.events.size).toBe(Buffer.byteLength(`${events.join('\n')}\n`));
    expect(written.tornBytes).toBeUndefined();
  });

  it('from --since: the anchor before it, and only the events from it on', async () => {
    const since = await segmentOf(log, '2026-01-06T00:00:00.000Z');
    expect(since.written).toMatchObject({ since: '2026-01-06T00:00:00.000Z', anchor: { seq: 5 }, tenantEvents: 2, segmentEvents: 4, gapRuns: 2, firstTime: '2026-01-06T00:00:00.000Z', actions: { 'a.5': 1, 'a.7': 1 } });
    expect((await checkTenantSegment(since.events, since.chain, 'acme', since.written)).ok).toBe(true);
    const after = await segmentOf(log, '2027-01-01T00:00:00.000Z');
    expect(after.written).toMatchObject({ anchor: { seq: 9 }, head: { seq: 9 }, tenantEvents: 0, segmentEvents: 0, gapRuns: 0, firstTime: null, lastTime: null, recent: [] });
    expect((await checkTenantSegment(after.events, after.chain, 'acme', after.written)).ok).toBe(true);
  });

  it('a torn last line: counted, not exported', async () => {
    const { dir: d, log: l } = makeLog();
    appendFileSync(l, '{"seq":10,"ti');
    const torn = await exportSegment(d, l);
    expect(torn.written.tornBytes).toBe(13);
    expect(torn.written.head.seq).toBe(9);
  });

  it(`the newest ${REPORT_EVENT_ROWS} tenant events for the report, oldest first, and counts by action in name order`, async () => {
    const { dir: d } = makeLog();
    const big = join(d, 'big.jsonl');
    let prevHash = GENESIS_HASH;
    const lines: string[] = [];
    for (let seq = 1; seq <= 1400; seq += 1) {
      const body = { seq, time: new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString(), actor: 't@h', command: 'c', tenant: seq % 5 === 0 ? 'globex' : 'acme', action: seq % 2 ? 'z.odd' : 'a.even', args: {}, outcome: 'success' as const, prevHash };
      const event = { ...body, hash: hashEvent(body) };
      lines.push(JSON.stringify(event));
      prevHash = event.hash;
    }
    writeFileSync(big, `${lines.join('\n')}\n`);
    const out = await segmentOf(big);
    const acme = lines.map((l) => JSON.parse(l) as AuditEvent).filter((e) => e.tenant === 'acme');
    expect(out.written.tenantEvents).toBe(acme.length);
    expect(out.written.recent.map((e) => e.seq)).toEqual(acme.slice(-REPORT_EVENT_ROWS).map((e) => e.seq));
    expect(out.written.actions).toEqual({ 'a.even': acme.filter((e) => e.action === 'a.even').length, 'z.odd': acme.filter((e) => e.action === 'z.odd').length });
    expect(Object.keys(out.written.actions)).toEqual(['a.even', 'z.odd']);
    expect(out.written.lastTime).toBe(acme.at(-1)!.time);
    expect((await checkTenantSegment(out.events, out.chain, 'acme', out.written)).ok).toBe(true);
  });
});

describe('the export refuses a log that is not a chain', () => {
  it('a line that is not JSON, JSON that is not an event, and a seq out of order, naming where', async () => {
    for (const [bad, message] of [
      ['{oops', "the audit log's chain is broken at seq (line 3): a line is not a JSON event"],
      ['{"seq":3}', "the audit log's chain is broken at seq (line 3): a line is not an audit event"],
      ['{"seq":3,"hash":"short","prevHash":"x"}', "the audit log's chain is broken at seq (line 3): a line is not an audit event"],
      ['null', "the audit log's chain is broken at seq (line 3): a line is not an audit event"],
    ] as const) {
      const { dir: d, log: l } = makeLog();
      const lines = readFileSync(l, 'utf8').trim().split('\n');
      lines[2] = bad;
      writeFileSync(l, `${lines.join('\n')}\n`);
      await expect(exportSegment(d, l)).rejects.toThrow(message);
    }
  });
});

async function segmentOf(logPath: string, since?: string) {
  variants += 1;
  const eventsFile = join(dir, `s${variants}.events`);
  const chainFile = join(dir, `s${variants}.chain`);
  const sink = new FileSink(eventsFile);
  try {
    const segment = await writeTenantSegment({ logPath, tenant: 'acme', events: sink, chainFile, ...(since ? { since } : {}) });
    return { written: segment, events: eventsFile, chain: chainFile };
  } finally {
    sink.close();
  }
}
