/**
 * The export's byte scanner of log lines: on a line as the log writes it, it finds exactly the
 * fields JSON.parse finds, wherever the line sits in the buffer; on anything unusual it declines,
 * so the export falls back to parsing the line in full.
 */
import { describe, expect, it } from 'vitest';
import { scanLogLine, type LineView } from '../src/audit/chain.js';
import { buildEvent, type AuditEvent } from '../src/state/audit-log.js';

const event = (extra: Partial<Parameters<typeof buildEvent>[1]> = {}) =>
  buildEvent(undefined, { actor: 't@h', command: 'tenant deploy', tenant: 'acme', action: 'tenant.deploy', args: { n: 1 }, outcome: 'success', time: '2026-01-01T00:00:00.000Z', ...extra });

/** Scans `line` placed between other bytes; returns the view when the scanner accepts it. */
function scan(line: string): LineView | undefined {
  const before = Buffer.from('{"seq":99,"junk":"before"}\n');
  const buf = Buffer.concat([before, Buffer.from(line), Buffer.from('\n{"seq":100}')]);
  const view = {} as LineView;
  return scanLogLine(buf, before.length, before.length + Buffer.byteLength(line), view) ? view : undefined;
}

function fields(line: string, view: LineView) {
  const buf = Buffer.concat([Buffer.from('{"seq":99,"junk":"before"}\n'), Buffer.from(line)]);
  const text = (from: number, to: number) => buf.toString('utf8', from, to);
  return {
    seq: view.seq,
    time: text(view.timeStart, view.timeEnd),
    tenant: view.tenantStart < 0 ? null : text(view.tenantStart, view.tenantEnd),
    action: text(view.actionStart, view.actionEnd),
    prevHash: text(view.prevHashStart, view.prevHashStart + 64),
    hash: text(view.hashStart, view.hashStart + 64),
  };
}

describe('scanLogLine', () => {
  it.each([
    ['a tenant event', event()],
    ['a project event (tenant null)', event({ tenant: null })],
    ['an event with a large seq and unusual characters in other fields', { ...event({ actor: 'jü"r@h', args: { tenant: 'evil', note: ',"tenant":"x","args":' } }), seq: 123456789 }],
    ['a failure with an error', event({ outcome: 'failure', error: 'it "broke"' })],
  ] as const)('finds the fields of %s where JSON.parse does', (_what, e) => {
    const line = JSON.stringify(e);
    const view = scan(line);
    expect(view).toBeDefined();
    const parsed = JSON.parse(line) as AuditEvent;
    expect(fields(line, view!)).toEqual({ seq: parsed.seq, time: parsed.time, tenant: parsed.tenant, action: parsed.action, prevHash: parsed.prevHash, hash: parsed.hash });
  });

  const good = JSON.stringify(event());
  it.each([
    ['keys in another order', JSON.stringify((({ seq, ...rest }) => ({ ...rest, seq }))(event()))],
    ['a seq that is a string', good.replace('{"seq":1,', '{"seq":"1",')],
    ['a seq with no digits', good.replace('{"seq":1,', '{"seq":,')],
    ['a seq beyond safe integers', good.replace('{"seq":1,', '{"seq":99999999999999999999,')],
    ['an escape in the time', JSON.stringify(event({ time: '2026-01-01T00:00:00\\"Z' }))],
    ['an unterminated time', good.slice(0, good.indexOf('"time":"') + 12)],
    ['an escape in the tenant', JSON.stringify(event({ tenant: 'ac"me' }))],
    ['a tenant that is a number', good.replace('"tenant":"acme"', '"tenant":7')],
    ['no tenant key', good.replace(',"tenant":"acme"', '')],
    ['no args key', good.replace(',"args":{"n":1}', '')],
    ['args before the tenant', good.replace(',"tenant":"acme","action":"tenant.deploy","args":{"n":1}', ',"args":{"n":1},"tenant":"acme","action":"tenant.deploy"')],
    ['an escape in the action', JSON.stringify(event({ action: 'a\\"b' }))],
    ['no action right after the tenant', good.replace('"tenant":"acme","action"', '"tenant":"acme","actor2":"x","action"')],
    ['a hash of another length', good.replace(/"hash":"([0-9a-f]{64})"/, '"hash":"$1aa"')],
    ['a prevHash key elsewhere', good.replace('"prevHash"', '"prevHasx"')],
    ['a line that does not end with "}', `${good} `],
    ['a line too short to hold both hashes', '{"seq":1,"time":"t","tenant":null,"action":"a","args":{}}'],
    // Each of these is caught by one check alone: the others all pass.
    ['a line whose last byte is not }', `${good.slice(0, -1)}x`],
    ['a hash not closed by a quote', `${good.slice(0, -2)}x}`],
    ['a seq followed by a letter', good.replace('{"seq":1,', '{"seq":1a,')],
  ])('declines %s', (_what, line) => {
    expect(scan(line)).toBeUndefined();
  });

  it('reads the shortest line that holds every field it reads', () => {
    const hash = 'a'.repeat(64);
    const line = `{"seq":1,"time":"","tenant":null,"action":"","args":{},"prevHash":"${hash}","hash":"${hash}"}`;
    const view = scan(line);
    expect(view).toBeDefined();
    expect(fields(line, view!)).toEqual({ seq: 1, time: '', tenant: null, action: '', prevHash: hash, hash });
  });
});
