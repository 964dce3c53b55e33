/**
 * The audit log at its edges: lines longer than the tail reader's first chunk, torn and damaged
 * tails, the repair event's content, what an event records, which argument keys are scrubbed, and
 * that appending does not leak file descriptors.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../src/errors.js';
import { appendEvent, buildEvent, GENESIS_HASH, readEvents, readLastEvents, readTail, repairTornTail, scrubArgs, verifyLog, type NewAuditEvent } from '../src/state/audit-log.js';
import { thrownBy } from './helpers/errors.js';

const logPath = () => join(mkdtempSync(join(tmpdir(), 'sovereign-audit-edges-')), 'audit', 'events.jsonl');
const input = (extra: Partial<NewAuditEvent> = {}): NewAuditEvent => ({ actor: 'a@h', command: 'tenant create', tenant: 'acme', action: 'tenant.create', args: {}, outcome: 'success', ...extra });

describe('reading the tail of the log', () => {
  it('finds the last event when it is longer than the first 64 KiB read, and builds on it', async () => {
    const path = logPath();
    appendEvent(path, input({ args: { pad: 'a'.repeat(100) } }));
    const big = appendEvent(path, input({ args: { pad: 'b'.repeat(200 * 1024) } }));
    const tail = readTail(path);
    expect(tail.last).toEqual(big);
    expect(tail.torn.length).toBe(0);
    expect(tail.completeLength).toBe(readFileSync(path).length);
    expect(appendEvent(path, input()).prevHash).toBe(big.hash);
    expect(await verifyLog(path)).toMatchObject({ ok: true, events: 3 });
  });

  it('measures a torn tail longer than 64 KiB and still finds the event before it', async () => {
    const path = logPath();
    const first = appendEvent(path, input());
    appendFileSync(path, `{"seq":2,"pad":"${'x'.repeat(100 * 1024)}`);
    const tail = readTail(path);
    expect(tail.last).toEqual(first);
    expect(tail.torn.length).toBe(100 * 1024 + 16);
    expect(tail.completeLength).toBe(readFileSync(path).length - tail.torn.length);
  });

  it('a log that is only a torn line: no event, every byte torn, and verify says so', async () => {
    const path = logPath();
    appendEvent(path, input());
    writeFileSync(path, '{"seq":1,"ti');
    expect(readTail(path)).toEqual({ last: undefined, completeLength: 0, torn: Buffer.from('{"seq":1,"ti') });
    const seen: number[] = [];
    const lines: unknown[] = [];
    for await (const line of readEvents(path, (bytes) => seen.push(bytes))) lines.push(line);
    expect(lines).toEqual([]);
    expect(seen).toEqual([12]);
    // Without a callback the torn tail is simply not read.
    for await (const line of readEvents(path)) lines.push(line);
    expect(lines).toEqual([]);
    expect(await verifyLog(path)).toEqual({
      ok: false, events: 0, lastSeq: 0, lastHash: GENESIS_HASH, repairs: [],
      tornTail: { bytes: 12 },
      problem: { seq: null, line: 1, message: 'torn last line of 12 bytes after seq 0 (an append was interrupted)' },
    });
  });

  it('a torn line after two events is reported on line 3, after seq 2', async () => {
    const path = logPath();
    appendEvent(path, input());
    appendEvent(path, input());
    appendFileSync(path, '{"seq":3');
    expect((await verifyLog(path)).problem).toEqual({ seq: null, line: 3, message: 'torn last line of 8 bytes after seq 2 (an append was interrupted)' });
  });

  it('refuses to append after a damaged last line, naming the file and the way out', () => {
    const path = logPath();
    appendEvent(path, input());
    appendFileSync(path, 'not an event\n');
    const error = thrownBy(() => appendEvent(path, input()), UserError);
    expect(error.message).toBe(`the audit log ${path} is damaged: its last line is not an event`);
    expect(error.hint).toBe('run `sovereign audit log --verify` to see where; restore the file from a backup');
    expect(error.exitCode).toBe(1);
  });

  it('verify names a line that is not a JSON event, or JSON that is not an object', async () => {
    for (const bad of ['not json at all, and rather long so that it is cut at forty', '42', 'null']) {
      const path = logPath();
      appendEvent(path, input());
      appendEvent(path, input());
      const [first, second] = readFileSync(path, 'utf8').split('\n');
      writeFileSync(path, `${first}\n${bad}\n${second}\n`);
      expect((await verifyLog(path)).problem).toEqual({ seq: null, line: 2, message: `line 2 is not a JSON event: ${bad.slice(0, 40)}` });
    }
  });

  it('reading and appending close every file they open', () => {
    const path = logPath();
    const open = () => readdirSync('/proc/self/fd').length;
    appendEvent(path, input());
    const before = open();
    for (let i = 0; i < 50; i += 1) {
      appendEvent(path, input());
      readTail(path);
    }
    expect(open()).toBe(before);
  });
});

describe('reading the last events from the end', () => {
  it('returns the last n events oldest first, across 64 KiB blocks and lines longer than a block, reading only the end', async () => {
    const path = logPath();
    const all = [];
    for (let i = 0; i < 300; i += 1) all.push(appendEvent(path, input({ tenant: i % 3 === 0 ? 'globex' : 'acme', args: { pad: 'p'.repeat(i === 290 ? 150 * 1024 : 500) } })));
    expect(readLastEvents(path, 20).events).toEqual(all.slice(-20));
    expect(readLastEvents(path, 1).events).toEqual(all.slice(-1));
    expect(readLastEvents(path, 1000).events).toEqual(all);
    expect(readLastEvents(path, 5, (e) => e.tenant === 'globex').events).toEqual(all.filter((e) => e.tenant === 'globex').slice(-5));
    // Damage far from the end is never read for a small limit; a full read skips the line.
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, `not json\n${text.slice(text.indexOf('\n') + 1)}`);
    expect(readLastEvents(path, 3).events).toEqual(all.slice(-3));
    expect(readLastEvents(path, 1000).events).toEqual(all.slice(1));
  });

  it('reports a torn last line and returns the events before it; an empty or missing log has none', () => {
    const path = logPath();
    expect(readLastEvents(path, 5)).toEqual({ events: [], tornBytes: 0 });
    const first = appendEvent(path, input());
    const second = appendEvent(path, input());
    appendFileSync(path, '{"seq":3,"ti');
    expect(readLastEvents(path, 5)).toEqual({ events: [first, second], tornBytes: 12 });
    writeFileSync(path, '');
    expect(readLastEvents(path, 5)).toEqual({ events: [], tornBytes: 0 });
  });
});

describe('the hooks around an append', () => {
  it('before sees the built event with nothing written yet, after sees it written; a repair gets its own pair', () => {
    const path = logPath();
    appendEvent(path, input());
    appendFileSync(path, '{"torn');
    const calls: string[] = [];
    const hooks = {
      before: (e: { seq: number; action: string }) => calls.push(`before ${e.seq} ${e.action} lines=${readFileSync(path, 'utf8').split('\n').length - 1}`),
      after: (e: { seq: number; action: string }) => calls.push(`after ${e.seq} ${e.action} lines=${readFileSync(path, 'utf8').split('\n').length - 1}`),
    };
    const event = appendEvent(path, input(), hooks);
    expect(event.seq).toBe(3);
    expect(calls).toEqual(['before 2 audit.repair lines=1', 'after 2 audit.repair lines=2', 'before 3 tenant.create lines=2', 'after 3 tenant.create lines=3']);
    expect(repairTornTail(path, 'a@h', 'x', hooks)).toBeUndefined();
    expect(calls).toHaveLength(4);
  });
});

describe('what an event records', () => {
  it('the time given, or now', () => {
    expect(buildEvent(undefined, input({ time: '2026-01-01T00:00:00.000Z' })).time).toBe('2026-01-01T00:00:00.000Z');
    const before = Date.now();
    const now = Date.parse(buildEvent(undefined, input()).time);
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it('an error only for a failure that has one', () => {
    const failed = buildEvent(undefined, input({ outcome: 'failure', error: 'deploy failed' }));
    expect(failed.error).toBe('deploy failed');
    expect(Object.keys(buildEvent(undefined, input()))).not.toContain('error');
  });

  it('the repair of a torn tail: what was cut off, by whom, as a success', async () => {
    const path = logPath();
    appendEvent(path, input());
    const torn = '{"seq":2,"time":"2026-';
    appendFileSync(path, torn);
    appendEvent(path, input({ actor: 'b@h', command: 'tenant deploy' }));
    const repair = JSON.parse(readFileSync(path, 'utf8').split('\n')[1]!) as Record<string, unknown>;
    expect(repair).toMatchObject({
      seq: 2, actor: 'b@h', command: 'tenant deploy', tenant: null, action: 'audit.repair', outcome: 'success',
      args: { reason: 'an interrupted append left a torn last line; it was cut off', tornBytes: torn.length, tornSha256: createHash('sha256').update(torn).digest('hex') },
    });
  });
});

describe('scrubbing event arguments', () => {
  it('removes secret keys in any case, keeps keys that only contain such a word, and drops undefined', () => {
    expect(scrubArgs({ Token: 't', APIKEY: 'k', monkey: 1, keys: 2, secretName: 'n', tokenizer: 3, gone: undefined })).toStrictEqual({
      Token: '[removed]', APIKEY: '[removed]', monkey: 1, keys: 2, secretName: 'n', tokenizer: 3,
    });
  });
});
