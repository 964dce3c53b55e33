/**
 * The encoded forms the redactor masks, form by form, at the edges: a value just long enough to be
 * masked inside text and one just too short, characters every URL encoding escapes differently,
 * escapes in either case, and base64 inside longer blobs at each byte alignment.
 */
import { describe, expect, it } from 'vitest';
import { MASK, MIN_SUBSTRING_SECRET_LENGTH, maskedForms, Redactor } from './redact.js';

const redactorOf = (value: string) => {
  const redactor = new Redactor();
  redactor.add(value);
  return redactor;
};
const masks = (value: string, text: string) => redactorOf(value).redactString(`<${text}>`) === `<${MASK}>`;

describe('maskedForms', () => {
  // Characters escaped by encodeURIComponent, by URLSearchParams (space as +) and not by encodeURI.
  const value = 'a b/é?&=#+';

  it('masks every percent form with upper- and lower-case escapes, the form encoding and encodeURI', () => {
    const component = encodeURIComponent(value);
    const form = new URLSearchParams({ v: value }).toString().slice(2);
    const lower = (text: string) => text.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
    expect(component).not.toBe(lower(component));
    expect(form).not.toBe(component);
    for (const text of [component, lower(component), form, lower(form), encodeURI(value)]) expect(masks(value, text), text).toBe(true);
    // An escape with other hex digits is not the value's.
    expect(masks(value, lower(component).replace('%2f', '%2e'))).toBe(false);
  });

  it('masks hex in either case, base64 and base64url padded and not, and base64 after 0, 1 or 2 other bytes', () => {
    const bytes = Buffer.from(value, 'utf8');
    for (const alphabet of ['base64', 'base64url'] as const) {
      const whole = bytes.toString(alphabet);
      expect(masks(value, whole)).toBe(true);
      expect(masks(value, whole.replace(/=+$/, ''))).toBe(true);
      for (let offset = 0; offset < 3; offset += 1) {
        const blob = Buffer.concat([Buffer.from('xyz'.slice(0, offset)), bytes, Buffer.from(':pw')]).toString(alphabet);
        expect(redactorOf(value).redactString(blob), `${alphabet} at offset ${offset}`).toContain(MASK);
      }
    }
    expect(masks(value, bytes.toString('hex'))).toBe(true);
    expect(masks(value, bytes.toString('hex').toUpperCase())).toBe(true);
  });

  it('strips only the trailing padding of base64', () => {
    const forms = maskedForms('abcd'); // base64 YWJjZA== has two padding characters
    expect(forms).toContain('YWJjZA==');
    expect(forms).toContain('YWJjZA');
    expect(forms).not.toContain('YWJjZA=');
  });

  it('encodes a value of the shortest maskable length, and only masks a shorter one as itself', () => {
    const short = 'q'.repeat(MIN_SUBSTRING_SECRET_LENGTH - 1);
    const shortest = 'q'.repeat(MIN_SUBSTRING_SECRET_LENGTH);
    expect(maskedForms(short)).toEqual([short]);
    expect(maskedForms(shortest)).toContain(Buffer.from(shortest).toString('hex'));
    expect(masks(shortest, Buffer.from(shortest).toString('base64'))).toBe(true);
    // Every base64 core of the shortest value at any alignment is long enough to be masked.
    const cores = maskedForms(shortest).filter((form) => /^[A-Za-z0-9+/_-]+$/.test(form) && form !== shortest && form !== Buffer.from(shortest).toString('hex'));
    expect(cores.length).toBeGreaterThan(0);
    expect(cores.every((core) => core.length >= MIN_SUBSTRING_SECRET_LENGTH)).toBe(true);
  });

  it('masks a value of 20,000 characters and forms that are prefixes of one another, longest first', () => {
    const long = 'k'.repeat(10_000) + 'v'.repeat(10_000);
    const bothLong = new Redactor();
    bothLong.add(long);
    bothLong.add('shortsecret');
    expect(bothLong.redactString(`x${long}y shortsecret ${Buffer.from(long).toString('base64')} z`)).toBe(`x${MASK}y ${MASK} ${MASK} z`);
    const redactor = new Redactor();
    for (const value of ['abcd', 'abcdef', 'abcdxy']) redactor.add(value);
    expect(redactor.redactString('abcdefg abcdxz abcdxyz')).toBe(`${MASK}g ${MASK}xz ${MASK}z`);
  });
});
