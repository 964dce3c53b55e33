/**
 * Someone who can write `.sovereign/` (a malicious commit, a compromised CI step) plants a journal
 * that names files elsewhere; the next mutating command must refuse it, touch nothing outside and
 * leave it for inspection.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeProject, runCli, snapshotTree } from './helpers/cli.js';

describe('a planted journal', () => {
  it('naming a file outside .sovereign/ is refused through the real CLI, and nothing outside is touched', async () => {
    const dir = await makeProject();
    expect((await runCli(['tenant', 'create', 'acme', '--no-deploy'], { cwd: dir })).exitCode).toBe(0);
    const outside = join(dirname(dir), 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'victim.txt'), 'keep me');
    writeFileSync(join(outside, 'payload'), 'attacker bytes');
    const journal = join(dir, '.sovereign', 'journal.json');
    // seq 1 is in the log, so a recovery that trusted it would roll it forward.
    writeFileSync(journal, JSON.stringify({ seq: 1, steps: [
      { kind: 'write', path: join(outside, 'victim.txt'), temp: join(outside, 'payload') },
      { kind: 'remove', path: join(dir, 'sovereign.config.json') },
    ] }));
    const before = snapshotTree(dirname(dir));

    const result = await runCli(['tenant', 'create', 'globex', '--no-deploy'], { cwd: dir });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^error: the journal .*journal\.json names ".*victim\.txt", outside the project's state folder; it was not applied$/m);
    expect(result.stderr).toMatch(/^hint: recovery only touches files inside /m);
    expect(result.stderr).not.toMatch(/bug in sovereign/);
    expect(snapshotTree(dirname(dir))).toEqual(before);
    expect(readFileSync(join(outside, 'victim.txt'), 'utf8')).toBe('keep me');
    expect(existsSync(journal)).toBe(true);
    expect(existsSync(join(dir, '.sovereign', 'tenants', 'globex.json'))).toBe(false);
  });
});
