import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendEvent, readTail, repairTornTail, scrubArgs, verifyLog, type AuditEvent } from './audit-log.js';

function logWith(n: number): string {
  const path = join(mkdtempSync(join(tmpdir(), 'audit-')), 'events.jsonl');
  for (let i = 0; i < n; i += 1) {
    appendEvent(path, { actor: 'a@h', command: 'tenant create', tenant: `t${i}`, action: 'tenant.create', args: { i }, outcome: 'success' });
  }
  return path;
}

const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);
const write = (path: string, ls: string[]) => writeFileSync(path, `${ls.join('\n')}\n`);

describe('audit log chain', () => {
  it('chains events by seq and hash and verifies', async () => {
    const path = logWith(5);
    const events = lines(path).map((l) => JSON.parse(l) as AuditEvent);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(events[1]!.prevHash).toBe(events[0]!.hash);
    expect(await verifyLog(path)).toMatchObject({ ok: true, events: 5, lastSeq: 5 });
  });

  it('names the first bad seq of an edited event', async () => {
    const path = logWith(5);
    const ls = lines(path);
    ls[2] = ls[2]!.replace('"t2"', '"t9"');
    write(path, ls);
    expect((await verifyLog(path)).problem).toMatchObject({ seq: 3, message: expect.stringMatching(/edited/) });
  });

  it('detects a deleted event', async () => {
    const path = logWith(5);
    const ls = lines(path);
    ls.splice(1, 1);
    write(path, ls);
    expect((await verifyLog(path)).problem).toMatchObject({ seq: 3, message: expect.stringMatching(/expected seq 2/) });
  });

  it('detects an inserted event, even one with a recomputed hash', async () => {
    const path = logWith(4);
    const ls = lines(path);
    const forged = { ...(JSON.parse(ls[1]!) as AuditEvent), tenant: 'forged' };
    ls.splice(2, 0, JSON.stringify(forged));
    write(path, ls);
    const result = await verifyLog(path);
    expect(result.ok).toBe(false);
    expect(result.problem!.line).toBe(3);
  });

  it('detects reordered events', async () => {
    const path = logWith(4);
    const ls = lines(path);
    [ls[1], ls[2]] = [ls[2]!, ls[1]!];
    write(path, ls);
    expect((await verifyLog(path)).problem).toMatchObject({ seq: 3, message: expect.stringMatching(/expected seq 2/) });
  });

  it('reports a torn last line, then cuts it off on the next append and records the repair', async () => {
    const path = logWith(3);
    appendFileSync(path, '{"seq":4,"time":"2026-');
    const torn = await verifyLog(path);
    expect(torn).toMatchObject({ ok: false, events: 3, tornTail: { bytes: 22 } });
    expect(readTail(path).last!.seq).toBe(3);

    const next = appendEvent(path, { actor: 'a@h', command: 'tenant create', tenant: 'x', action: 'tenant.create', args: {}, outcome: 'success' });
    expect(next.seq).toBe(5);
    const after = await verifyLog(path);
    expect(after).toMatchObject({ ok: true, events: 5, repairs: [{ seq: 4, tornBytes: 22 }] });
    expect(repairTornTail(path, 'a@h', 'x')).toBeUndefined();
  });

  it('removes secret material from arguments', () => {
    expect(scrubArgs({ reference: 'ssm:/dev/tenants/acme/x', value: 'canary', nested: { password: 'p', ok: 1 } })).toEqual({
      reference: 'ssm:/dev/tenants/acme/x',
      value: '[removed]',
      nested: { password: '[removed]', ok: 1 },
    });
  });
});
