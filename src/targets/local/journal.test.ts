import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendEvent } from '../../state/audit-log.js';
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
    expect(recoverJournal(journal, log, dir, [dir])).toMatch(/completed/);
    expect(readFileSync(file, 'utf8')).toBe('new');
    expect(existsSync(journal)).toBe(false);
  });

  it('rolls back when the event never made it, leaving the old file and no temporary files', () => {
    const { dir, journal, log, file } = setup();
    writeFileSync(file, 'old');
    stageChanges(journal, 1, [{ kind: 'write', path: file, data: 'new' }, { kind: 'remove', path: join(dir, 'other') }]);
    expect(recoverJournal(journal, log, dir, [dir])).toMatch(/rolled back/);
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(readdirSync(dir).sort()).toEqual(['tenant.json']);
  });

  it('removes temporary files that no journal names', () => {
    const { dir, journal, log } = setup();
    writeFileSync(join(dir, '.tmp-x.json-1-abcd'), 'partial');
    expect(recoverJournal(journal, log, dir, [dir])).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
  });

  describe('a journal naming a path outside the state folder', () => {
    /** A state folder with an audit event at seq 1, and a folder beside it the journal must not reach. */
    function planted(steps: (outside: string, state: string) => unknown[]) {
      const root = mkdtempSync(join(tmpdir(), 'journal-confined-'));
      const state = join(root, '.sovereign');
      const outside = join(root, 'outside');
      mkdirSync(state);
      mkdirSync(outside);
      writeFileSync(join(outside, 'victim.txt'), 'keep me');
      writeFileSync(join(outside, 'payload'), 'attacker bytes');
      const log = join(state, 'events.jsonl');
      appendEvent(log, { actor: 'a', command: 'c', tenant: 't', action: 'x', args: {}, outcome: 'success' });
      const journal = join(state, 'journal.json');
      writeFileSync(journal, JSON.stringify({ seq: 1, steps: steps(outside, state) }));
      return { state, outside, journal, log };
    }

    const attacks: Array<[string, (outside: string, state: string) => unknown[]]> = [
      ['a rename onto a file outside', (outside) => [{ kind: 'write', path: join(outside, 'victim.txt'), temp: join(outside, 'payload') }]],
      ['a rename from a temporary file outside', (outside, state) => [{ kind: 'write', path: join(state, 'tenant.json'), temp: join(outside, 'payload') }]],
      ['a removal through ..', (_outside, state) => [{ kind: 'remove', path: join(state, '..', 'outside', 'victim.txt') }]],
      ['a removal of an absolute path', (outside) => [{ kind: 'remove', path: join(outside, 'victim.txt') }]],
      ['a removal of the state folder itself', (_outside, state) => [{ kind: 'remove', path: state }]],
      ['steps that are not a list', () => 'rm -rf /' as unknown as unknown[]],
    ];
    for (const [name, steps] of attacks) {
      it(`is refused and left in place: ${name}`, () => {
        const { state, outside, journal, log } = planted(steps);
        expect(() => recoverJournal(journal, log, state, [state])).toThrow(/outside the project's state folder|an invalid step/);
        expect(readFileSync(join(outside, 'victim.txt'), 'utf8')).toBe('keep me');
        expect(readFileSync(join(outside, 'payload'), 'utf8')).toBe('attacker bytes');
        expect(existsSync(journal)).toBe(true);
      });
    }

    it('is refused when a symlink inside the state folder leads outside', () => {
      const { state, outside, journal, log } = planted((out, st) => {
        symlinkSync(out, join(st, 'link'));
        return [{ kind: 'remove', path: join(st, 'link', 'victim.txt') }];
      });
      expect(() => recoverJournal(journal, log, state, [state])).toThrow(/outside the project's state folder/);
      expect(readFileSync(join(outside, 'victim.txt'), 'utf8')).toBe('keep me');
    });

    it('applies a journal whose steps all stay inside', () => {
      const { state, journal, log } = planted((_out, st) => {
        writeFileSync(join(st, '.tmp-tenant.json-1-abcdef12'), 'new');
        return [{ kind: 'write', path: join(st, 'tenant.json'), temp: join(st, '.tmp-tenant.json-1-abcdef12') }];
      });
      expect(recoverJournal(journal, log, state, [state])).toMatch(/completed/);
      expect(readFileSync(join(state, 'tenant.json'), 'utf8')).toBe('new');
    });
  });
});
