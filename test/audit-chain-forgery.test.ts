/**
 * Forgeries that keep every event's seq and recompute its hash, so the only thing left to catch
 * them is the `prevHash` link: the local audit log (`audit log --verify`), the export that reads it,
 * and the evidence bundle's chain check.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkTenantSegment, FileSink, writeTenantSegment } from '../src/audit/chain.js';
import { hashEvent, verifyLog, type AuditEvent } from '../src/state/audit-log.js';
import { exportSegment, makeLog } from './helpers/audit-log.js';
import { makeProject, runCli } from './helpers/cli.js';

const FORGED_PREV = 'f'.repeat(64);

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);
const writeLines = (file: string, ls: string[]) => writeFileSync(file, `${ls.join('\n')}\n`);

/** The event with `change` applied and its hash recomputed: only its links can give it away. */
function reseal(line: string, change: (event: Omit<AuditEvent, 'hash'>) => void): string {
  const { hash: _old, ...body } = JSON.parse(line) as AuditEvent;
  change(body);
  return JSON.stringify({ ...body, hash: hashEvent(body) });
}

/** Replaces line `index` of `file` by its forged copy. */
function forgeLine(file: string, index: number, change: (event: Omit<AuditEvent, 'hash'>) => void): void {
  const ls = lines(file);
  ls[index] = reseal(ls[index]!, change);
  writeLines(file, ls);
}

describe('the audit log refuses events whose prevHash was forged', () => {
  it('an event with the right seq and a recomputed hash but a wrong prevHash', async () => {
    const { log } = makeLog();
    expect((await verifyLog(log)).ok).toBe(true);
    // The last event: nothing after it links to its hash, so its own prevHash is the only witness.
    forgeLine(log, 8, (e) => {
      e.prevHash = FORGED_PREV;
      e.args = { i: 'rewritten' };
    });
    const result = await verifyLog(log);
    expect(result.ok).toBe(false);
    expect(result.problem).toMatchObject({ seq: 9, line: 9, message: expect.stringMatching(/prevHash/) });
    expect(result).toMatchObject({ events: 8, lastSeq: 8 });
  });

  it('a rewritten tail: every event from seq 5 on rebuilt on a new chain', async () => {
    const { log } = makeLog();
    const ls = lines(log);
    let prev = FORGED_PREV;
    for (let i = 4; i < ls.length; i += 1) {
      ls[i] = reseal(ls[i]!, (e) => {
        e.prevHash = prev;
        e.actor = 'mallory@h';
      });
      prev = (JSON.parse(ls[i]!) as AuditEvent).hash;
    }
    writeLines(log, ls);
    expect((await verifyLog(log)).problem).toMatchObject({ seq: 5, message: expect.stringMatching(/prevHash does not match the hash of seq 4/) });
  });

  it('`sovereign audit log --verify` exits 1 naming the forged seq', { timeout: 120_000 }, async () => {
    const dir = await makeProject();
    for (const id of ['acme', 'globex']) expect((await runCli(['tenant', 'create', id, '--no-deploy'], { cwd: dir })).exitCode).toBe(0);
    const log = join(dir, '.sovereign', 'audit', 'events.jsonl');
    expect((await runCli(['audit', 'log', '--verify'], { cwd: dir })).exitCode).toBe(0);
    const last = lines(log).length - 1;
    forgeLine(log, last, (e) => {
      e.prevHash = FORGED_PREV;
    });
    const result = await runCli(['audit', 'log', '--verify'], { cwd: dir });
    expect(result.exitCode).toBe(1);
    expect(`${result.stdout}${result.stderr}`).toMatch(new RegExp(`seq ${last + 1}\\b[^\\n]*prevHash`));
  });
});

describe('the evidence bundle refuses tenant events whose prevHash was forged', () => {
  // acme's events are seqs 1, 5, 6 and 8; 1 and 8 are each followed by a gap, whose hash is taken from the chain file.
  for (const [index, seq] of [[0, 1], [3, 8], [2, 6]] as const) {
    it(`tenant event seq ${seq} with a recomputed hash but a wrong prevHash`, async () => {
      const { dir, log } = makeLog();
      const { written, events, chain } = await exportSegment(dir, log);
      expect((await checkTenantSegment(events, chain, 'acme', written)).ok).toBe(true);
      forgeLine(events, index, (e) => {
        e.prevHash = FORGED_PREV;
        e.action = 'a.forged';
      });
      const check = await checkTenantSegment(events, chain, 'acme', written);
      expect(check.ok).toBe(false);
      expect(check.problem).toBe(`event seq ${seq}: prevHash does not link to the event before it`);
    });
  }

  it('the export refuses a log whose events do not link, on both of its read paths', async () => {
    for (const reorderKeys of [false, true]) {
      const { dir, log } = makeLog();
      // Reordered keys take the export off its byte-scanning fast path onto JSON parsing.
      forgeLine(log, 8, (e) => {
        e.prevHash = FORGED_PREV;
      });
      if (reorderKeys) {
        const ls = lines(log);
        const { seq, ...rest } = JSON.parse(ls[8]!) as AuditEvent;
        ls[8] = JSON.stringify({ ...rest, seq });
        writeLines(log, ls);
      }
      const sink = new FileSink(join(dir, `out-${reorderKeys}.events`));
      try {
        await expect(writeTenantSegment({ logPath: log, tenant: 'acme', events: sink, chainFile: join(dir, `out-${reorderKeys}.chain`) })).rejects.toThrow(
          /prevHash does not match the previous event/,
        );
      } finally {
        sink.close();
      }
    }
  });
});
