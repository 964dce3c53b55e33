import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendEvent } from './audit-log.js';
import { recoverJournal, stageChanges } from './journal.js';

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'journal-'));
  return { dir, journal: join(dir, 'journal.json'), log: join(dir, 'events.jsonl'), file: join(dir, 'tenant.json') };
}

describe('journal recovery', () => {
  it('rolls forward when the audit event made it into the log', () => {
    const { dir, journal, log, file } = setup();
    stageChanges(journal, 1, [{ kind: 'write', path: file, data: 'new' }]);
    appendEvent(log, { actor: 'a', command: 'c', tenant: 't', action: 'x', args: {}, outcome: 'success' });
    // crash here: the rename never happened
    expect(existsSync(file)).toBe(false);
    expect(recoverJournal(journal, log, [dir])).toMatch(/completed/);
    expect(readFileSync(file, 'utf8')).toBe('new');
    expect(existsSync(journal)).toBe(false);
  });

  it('rolls back when the event never made it, leaving the old file and no temporary files', () => {
    const { dir, journal, log, file } = setup();
    writeFileSync(file, 'old');
    stageChanges(journal, 1, [{ kind: 'write', path: file, data: 'new' }, { kind: 'remove', path: join(dir, 'other') }]);
    expect(recoverJournal(journal, log, [dir])).toMatch(/rolled back/);
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(readdirSync(dir).sort()).toEqual(['tenant.json']);
  });

  it('removes temporary files that no journal names', () => {
    const { dir, journal, log } = setup();
    writeFileSync(join(dir, '.tmp-x.json-1-abcd'), 'partial');
    expect(recoverJournal(journal, log, [dir])).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
  });
});
