import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendEvent } from '../state/audit-log.js';
import { checkTenantSegment, writeTenantSegment } from './chain.js';

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
  const written = await writeTenantSegment({ logPath: log, tenant: 'acme', eventsFile: join(dir, `${name}.events`), chainFile: join(dir, `${name}.chain`), ...(since ? { since } : {}) });
  return { written, events: join(dir, `${name}.events`), chain: join(dir, `${name}.chain`) };
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

  it('refuses to export from a broken chain', async () => {
    const { dir, log } = makeLog();
    // seq 6 is acme's: its hash no longer matches its content.
    writeFileSync(log, readFileSync(log, 'utf8').replace('"i":5', '"i":55'));
    await expect(segment(dir, log)).rejects.toThrow(/chain is broken at seq 6/);
  });
});
