import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendEvent, GENESIS_HASH, hashEvent, type AuditEvent } from '../state/audit-log.js';
import { checkTenantSegment, FileSink, scanLogLine, writeTenantSegment, type LineView } from './chain.js';

function makeLog(): { dir: string; log: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sovereign-chain-'));
  const log = join(dir, 'events.jsonl');
  const tenants = ['acme', 'globex', 'globex', null, 'acme', 'acme', 'initech', 'acme', 'globex'];
  tenants.forEach((tenant, i) => {
    appendEvent(log, { actor: 't@h', command: 'test', tenant, action: `a.${i}`, args: { i }, outcome: 'success', time: `2026-01-0${i + 1}T00:00:00.000Z` });
  });
  return { dir, log };
}

async function segment(dir: string, log: string, since?: string) {
  const name = `s${Math.random().toString(16).slice(2)}`;
  const sink = new FileSink(join(dir, `${name}.events`));
  let written;
  try {
    written = await writeTenantSegment({ logPath: log, tenant: 'acme', events: sink, chainFile: join(dir, `${name}.chain`), ...(since ? { since } : {}) });
  } finally {
    sink.close();
  }
  return { written, events: join(dir, `${name}.events`), chain: join(dir, `${name}.chain`) };
}

/** The fields a scan found are the ones JSON.parse reads. */
function expectFieldsOf(buf: Buffer, view: LineView, parsed: Pick<AuditEvent, 'seq' | 'time' | 'tenant' | 'action' | 'prevHash' | 'hash'>): void {
  expect(view.seq).toBe(parsed.seq);
  expect(buf.toString('utf8', view.timeStart, view.timeEnd)).toBe(parsed.time);
  expect(view.tenantStart < 0 ? null : buf.toString('utf8', view.tenantStart, view.tenantEnd)).toBe(parsed.tenant);
  expect(buf.toString('utf8', view.actionStart, view.actionEnd)).toBe(parsed.action);
  expect(buf.toString('latin1', view.prevHashStart, view.prevHashStart + 64)).toBe(parsed.prevHash);
  expect(buf.toString('latin1', view.hashStart, view.hashStart + 64)).toBe(parsed.hash);
}

describe('tenant segment of the audit chain', () => {
  it('exports the tenant events with gap runs, and they verify', async () => {
    const { dir, log } = makeLog();
    const { written, events, chain } = await segment(dir, log);
    expect(written.tenantEvents).toBe(4);
    expect(written.gapRuns).toBe(3);
    expect(written.head.seq).toBe(9);
    expect(readFileSync(events, 'utf8').trim().split('\n').map((l) => JSON.parse(l).seq)).toEqual([1, 5, 6, 8]);
    const check = await checkTenantSegment(events, chain, 'acme', written);
    expect(check).toMatchObject({ ok: true, tenantEvents: 4 });
  });

  it('copies events byte for byte, whatever characters they hold', async () => {
    const { dir, log } = makeLog();
    appendEvent(log, { actor: 'jürgen@höst', command: 'tenant update', tenant: 'acme', action: 'tenant.update', args: { note: 'naïve — 日本 \u2028 "quoted"' }, outcome: 'success' });
    const { written, events, chain } = await segment(dir, log);
    const last = readFileSync(events, 'utf8').trim().split('\n').at(-1)!;
    expect(last).toBe(readFileSync(log, 'utf8').trim().split('\n').at(-1)!);
    expect(written.recent.at(-1)!.actor).toBe('jürgen@höst');
    expect((await checkTenantSegment(events, chain, 'acme', written)).ok).toBe(true);
  });

  it('handles lines across read chunks in a log of several megabytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sovereign-chain-'));
    const log = join(dir, 'events.jsonl');
    let prevHash = GENESIS_HASH;
    const lines: string[] = [];
    for (let seq = 1; seq <= 12_000; seq += 1) {
      const body = { seq, time: new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString(), actor: 't@h', command: 'c', tenant: seq % 3 === 0 ? 'globex' : 'acme', action: 'x', args: { pad: 'é'.repeat(seq % 97) }, outcome: 'success' as const, prevHash };
      const event = { ...body, hash: hashEvent(body) };
      lines.push(JSON.stringify(event));
      prevHash = event.hash;
    }
    writeFileSync(log, `${lines.join('\n')}\n`);
    const { written, events, chain } = await segment(dir, log);
    expect(written.tenantEvents).toBe(8000);
    expect(written.recent).toHaveLength(1000);
    expect(written.recent.at(-1)!.seq).toBe(11_999);
    expect(readFileSync(events, 'utf8')).toBe(`${lines.filter((l) => l.includes('"tenant":"acme"')).join('\n')}\n`);
    expect((await checkTenantSegment(events, chain, 'acme', written)).ok).toBe(true);
  });

  it('takes the events from a store that streams them (the aws target) with the same result', async () => {
    const { dir, log } = makeLog();
    const fromFile = await segment(dir, log);
    const events = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditEvent);
    async function* stream() {
      yield* events;
    }
    const sink = new FileSink(join(dir, 'streamed.events'));
    const streamed = await writeTenantSegment({ logPath: join(dir, 'absent'), tenant: 'acme', events: sink, chainFile: join(dir, 'streamed.chain'), source: stream() });
    sink.close();
    expect(streamed.files).toEqual(fromFile.written.files);
    expect(readFileSync(join(dir, 'streamed.events'), 'utf8')).toBe(readFileSync(fromFile.events, 'utf8'));
  });

  it('starts at --since with an anchor before the segment', async () => {
    const { dir, log } = makeLog();
    const { written, events, chain } = await segment(dir, log, '2026-01-05T00:00:00.000Z');
    expect(written.anchor.seq).toBe(4);
    expect(written.tenantEvents).toBe(3);
    expect((await checkTenantSegment(events, chain, 'acme', written)).ok).toBe(true);
  });

  it('detects a dropped, edited or foreign event and a moved head', async () => {
    const { dir, log } = makeLog();
    const { written, events, chain } = await segment(dir, log);
    const lines = readFileSync(events, 'utf8').trim().split('\n');
    const variant = (name: string, text: string) => {
      const file = join(dir, name);
      writeFileSync(file, text);
      return file;
    };
    const dropped = variant('dropped', `${[lines[0], lines[2], lines[3]].join('\n')}\n`);
    expect((await checkTenantSegment(dropped, chain, 'acme', written)).problem).toMatch(/seq 5 is missing/);
    const edited = variant('edited', `${lines.map((l, i) => (i === 1 ? l.replace('"i":4', '"i":40') : l)).join('\n')}\n`);
    expect((await checkTenantSegment(edited, chain, 'acme', written)).problem).toMatch(/seq 5 does not match its hash/);
    expect((await checkTenantSegment(events, chain, 'globex', written)).problem).toMatch(/belongs to acme/);
    const otherHead = { ...written, head: { seq: 9, hash: 'f'.repeat(64) } };
    expect((await checkTenantSegment(events, chain, 'acme', otherHead)).problem).toMatch(/head differs/);
  });

  it('refuses to export from a broken chain: a deleted or reordered event', async () => {
    const { dir, log } = makeLog();
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    writeFileSync(log, `${[...lines.slice(0, 5), ...lines.slice(6)].join('\n')}\n`);
    await expect(segment(dir, log)).rejects.toThrow(/chain is broken at seq 7: expected seq 6/);
    writeFileSync(log, `${[lines[0], lines[2], lines[1], ...lines.slice(3)].join('\n')}\n`);
    await expect(segment(dir, log)).rejects.toThrow(/chain is broken at seq 3/);
  });

  it('reads every line the log writes without parsing it (fails when the log changes its key order)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sovereign-chain-'));
    const log = join(dir, 'events.jsonl');
    appendEvent(log, { actor: 't@h', command: 'tenant create', tenant: 'acme', action: 'tenant.create', args: { tier: 'basic' }, outcome: 'success' });
    appendEvent(log, { actor: 't@h', command: 'deploy', tenant: null, action: 'deploy', args: {}, outcome: 'failure', error: 'boom' });
    for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
      const parsed = JSON.parse(line) as AuditEvent;
      const buf = Buffer.from(line);
      const view = {} as LineView;
      expect(scanLogLine(buf, 0, buf.length, view)).toBe(true);
      expectFieldsOf(buf, view, parsed);
    }
  });

  it('finds the fields of a line where JSON.parse does, and defers to it for anything unusual', async () => {
    const { dir, log } = makeLog();
    const tricky = [
      { actor: 'a"b@h', tenant: 'acme', action: 'x.y', args: { tenant: 'globex', note: ',"tenant":"evil"' } },
      { actor: 'ü@h', tenant: null, action: 'audit.repair', args: {} },
      { actor: 't@h', tenant: 'globex', action: 'a\\"b', args: { nested: { tenant: 'acme' } } },
      { actor: 't@h', tenant: 'acme', action: 'a\\"b', args: {} },
    ];
    for (const t of tricky) appendEvent(log, { command: 'c', outcome: 'success', ...t });
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    let fast = 0;
    for (const line of lines) {
      const parsed = JSON.parse(line) as { seq: number; time: string; tenant: string | null; action: string; prevHash: string; hash: string };
      const buf = Buffer.from(line);
      const view = {} as LineView;
      if (!scanLogLine(buf, 0, buf.length, view)) continue;
      fast += 1;
      expectFieldsOf(buf, view, parsed);
    }
    expect(fast).toBe(lines.length - 2);
    const bad = Buffer.from('{"seq":1,"time":"t","args":{},"tenant":"acme"}');
    expect(scanLogLine(bad, 0, bad.length, {} as LineView)).toBe(false);
    const { written, events } = await segment(dir, log);
    const exported = readFileSync(events, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number });
    expect(exported.map((e) => e.seq)).toEqual(lines.map((l) => JSON.parse(l) as { seq: number; tenant: string }).filter((e) => e.tenant === 'acme').map((e) => e.seq));
    expect(written.actions).toMatchObject({ 'x.y': 1, 'a\\"b': 1 });
  });
});
