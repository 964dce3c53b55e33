/**
 * The log redactor's edges: what it masks and, as much, what it must leave alone (a log with
 * every "1" or every empty string masked would be useless).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MASK, maskedForms, Redactor } from '../src/runtime/redact.js';

const nest = (levels: number, leaf: unknown, wrap: (inner: unknown) => unknown = (inner) => ({ x: inner })): unknown => {
  let value = leaf;
  for (let i = 0; i < levels; i += 1) value = wrap(value);
  return value;
};

describe('Redactor edges', () => {
  it('masks every occurrence of a value, with regular-expression characters taken literally', () => {
    const r = new Redactor();
    r.add('p.ss+w(o)rd');
    expect(r.redactString('a p.ss+w(o)rd and p.ss+w(o)rd again')).toBe(`a ${MASK} and ${MASK} again`);
    expect(r.redactString('pass+word pXss+w(o)rd')).toBe('pass+word pXss+w(o)rd');
  });

  it('masks a four-character value inside text, a three-character one only as a whole string', () => {
    const r = new Redactor();
    r.add('abcd');
    r.add('xyz');
    expect(r.redact(['--abcd--', '--xyz--', 'xyz'])).toEqual([`--${MASK}--`, '--xyz--', MASK]);
  });

  it('with only short values, leaves other text alone (even the word "undefined")', () => {
    const r = new Redactor();
    r.add('ab1');
    expect(r.redactString('undefined is not ab1 nor abc')).toBe('undefined is not ab1 nor abc');
    expect(r.redactString('ab1')).toBe(MASK);
  });

  it('masks the JSON-escaped form of a value inside already serialized text, keeping the quotes', () => {
    const r = new Redactor();
    r.add('pa"ss\\wd');
    expect(r.size).toBe(1);
    expect(r.redactString(JSON.stringify({ password: 'pa"ss\\wd' }))).toBe(`{"password":"${MASK}"}`);
  });

  it('ignores an empty value and one added twice', () => {
    const r = new Redactor();
    r.add('');
    expect(r.size).toBe(0);
    r.add('plain-secret');
    r.add('plain-secret');
    expect(r.size).toBe(1);
    expect(r.redact({ empty: '', text: 'plain-secret' })).toEqual({ empty: '', text: MASK });
  });

  it('copies null, numbers and booleans through', () => {
    const r = new Redactor();
    r.add('plain-secret');
    expect(r.redact({ a: null, b: 1, c: true, d: [null, 'plain-secret'] })).toEqual({ a: null, b: 1, c: true, d: [null, MASK] });
    expect(r.redact(null)).toBeNull();
  });

  it('stops at 20 levels of objects or arrays, but redacts strings at any depth', () => {
    const r = new Redactor();
    r.add('plain-secret');
    expect(r.redact(nest(20, {}))).toEqual(nest(20, {}));
    expect(r.redact(nest(21, {}))).toEqual(nest(20, { x: '[too deep]' }));
    expect(r.redact(nest(21, [], (inner) => [inner]))).toEqual(nest(20, ['[too deep]'], (inner) => [inner]));
    expect(r.redact(nest(30, 'plain-secret'))).toEqual(nest(20, { x: '[too deep]' }));
    expect(r.redact(nest(20, 'plain-secret'))).toEqual(nest(20, MASK));
  });
});

describe('Redactor matching', () => {
  it('property: masks exactly what replacing every form, longest first, would (the grouped pattern changes nothing)', () => {
    // A small alphabet makes values that are prefixes of others common; lines are built from the
    // values' forms and filler, so they hold overlapping forms.
    const chars = fc.constantFrom('a', 'b', '%', ' ');
    const values = fc.uniqueArray(fc.array(chars, { minLength: 4, maxLength: 6 }).map((list) => list.join('')), { minLength: 1, maxLength: 5 });
    const scenario = values.chain((list) => fc.tuple(
      fc.constant(list),
      fc.array(fc.oneof(fc.constantFrom(...list.flatMap((value) => maskedForms(value))), fc.constantFrom('a', 'b', '0', '=')), { maxLength: 8 }).map((parts) => parts.join('')),
    ));
    fc.assert(fc.property(scenario, ([list, line]) => {
      const r = new Redactor();
      for (const value of list) r.add(value);
      const all = list.flatMap((value) => maskedForms(value));
      const forms = [...new Set(all)].filter((form) => form.length >= 4).sort((a, b) => b.length - a.length);
      const flat = new RegExp(forms.map((form) => form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
      expect(r.redactString(line)).toBe(new Set(all).has(line) ? MASK : line.replace(flat, MASK));
    }), { numRuns: 500 });
  });
});

