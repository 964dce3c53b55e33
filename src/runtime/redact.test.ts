import { describe, expect, it } from 'vitest';
import { formatLogLine } from './log.js';
import { Redactor } from './redact.js';

describe('Redactor', () => {
  it('masks values wherever they appear, including JSON-escaped forms and object keys', () => {
    const r = new Redactor();
    r.add('s3cr3t-"quoted"\\path');
    r.add('plain-secret');
    const line = formatLogLine(r, { tenant: 'acme', stage: 'dev' }, 'info', 'got plain-secret!', {
      nested: { list: ['a plain-secret b', { 'plain-secret': 1 }] },
      raw: 's3cr3t-"quoted"\\path',
      error: new Error('failed with plain-secret'),
    });
    expect(line).not.toContain('plain-secret');
    expect(line).not.toContain('s3cr3t');
    const parsed = JSON.parse(line);
    expect(parsed).toMatchObject({ message: 'got ***!', fields: { nested: { list: ['a *** b', { '***': 1 }] }, raw: '***', error: { name: 'Error', message: 'failed with ***' } } });
  });

  it('masks short values only where they are a whole string, and prefers the longest match', () => {
    const r = new Redactor();
    r.add('ab1');
    r.add('token');
    r.add('token-extended');
    expect(r.redact({ a: 'ab1', b: 'cab1d', c: 'my token-extended here' })).toEqual({ a: '***', b: 'cab1d', c: 'my *** here' });
  });
});
