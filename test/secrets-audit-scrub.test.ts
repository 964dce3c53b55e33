/**
 * Audit events never keep secret material a command passed by mistake, wherever it sits in the
 * arguments: the event as written to the log file is checked, not the scrubber's return value.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendEvent, verifyLog } from '../src/state/audit-log.js';

const CANARY = 'canary-audit-5f0e2a91';
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('audit event arguments', () => {
  it.each([
    ['an array of objects', { list: [{ value: CANARY, reference: 'ssm:/dev/tenants/acme/x/y' }] }],
    ['arrays nested in arrays', { batches: [[{ secret: CANARY }], [{ nested: { password: CANARY } }]] }],
    ['an object in an array in an object', { put: { items: [{ name: 'a', token: CANARY }] } }],
  ])('scrub secret-named keys inside %s', async (_name, args) => {
    dir = mkdtempSync(join(tmpdir(), 'sovereign-scrub-'));
    const log = join(dir, 'audit.jsonl');
    const event = appendEvent(log, { actor: 'a@h', command: 'secrets put', tenant: 'acme', action: 'secret.put', args, outcome: 'success' });
    expect(readFileSync(log, 'utf8')).not.toContain(CANARY);
    expect(JSON.stringify(event)).toContain('[removed]');
    expect((await verifyLog(log)).ok).toBe(true);
  });

  it('keeps the shape and the non-secret entries of arrays', () => {
    dir = mkdtempSync(join(tmpdir(), 'sovereign-scrub-'));
    const event = appendEvent(join(dir, 'audit.jsonl'), {
      actor: 'a@h', command: 'x', tenant: null, action: 'x', outcome: 'success',
      args: { list: [{ value: CANARY, reference: 'ssm:/a/b' }, 'plain', 3, null], targets: ['ssm:/a/b'] },
    });
    expect(event.args).toEqual({ list: [{ value: '[removed]', reference: 'ssm:/a/b' }, 'plain', 3, null], targets: ['ssm:/a/b'] });
  });
});
