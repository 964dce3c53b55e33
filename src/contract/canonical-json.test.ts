import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The `document` form as src/artifact/pack.ts wrote artifact manifests before there was one
 * canonicalJson: kept here only to show the unified function writes the same bytes.
 */
function artifactManifestTextBefore(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    return v;
  };
  return `${JSON.stringify(sort(value), null, 2)}\n`;
}

// JSON data as callers store it; "__proto__" is left out because plain assignment (kept for the
// audit log's existing hashes) and Object.fromEntries copied that one key differently.
const jsonData = fc.jsonValue().filter((value) => !JSON.stringify(value).includes('"__proto__"'));

describe('canonicalJson', () => {
  it('sorts keys at every level, keeps array order, drops undefined members, writes Dates as ISO strings', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined }, at: new Date(0) }))
      .toBe('{"a":{"d":[3,{"y":2,"z":1}]},"at":"1970-01-01T00:00:00.000Z","b":1}');
  });

  it('gives the same text whatever order the keys were built in', () => {
    fc.assert(fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (object) => {
      const reversed = Object.fromEntries(Object.entries(object).reverse());
      expect(canonicalJson(reversed)).toBe(canonicalJson(object));
      expect(canonicalJson(reversed, { layout: 'document' })).toBe(canonicalJson(object, { layout: 'document' }));
    }));
  });

  // Hashes already written (audit log chain, signatures) are over the compact form: pinned.
  it('keeps the compact form the audit log hashes', () => {
    const event = {
      seq: 7, time: '2026-01-01T00:00:00.000Z', actor: 'a@h', command: 'secrets set', tenant: 'acme', action: 'secret.set',
      args: { mapping: 'avalara.license_key', reference: 'ssm:/dev/tenants/acme/avalara/license_key', skipped: undefined, nested: { b: [3, { z: 1, a: null }], a: true } },
      outcome: 'success', prev: '0'.repeat(64),
    };
    expect(sha256(canonicalJson(event))).toBe('149aa8f85d9ba4b667bf1da059c605e85b1f0b63dc0a8280c56630fd2682d3cc');
  });

  // An artifact's SHA-256 covers its manifest.json: the same bundle must keep the same bytes.
  it('keeps the document form of artifact manifests byte for byte', () => {
    const manifest = {
      format: 1, sovereign: '0.1.0', awsSdk: 'bundle', component: undefined,
      extensions: [{ name: 'avalara', version: '1.2.0', codeSha256: 'c'.repeat(64) }, { version: '0.1.0', name: 'cetec', codeSha256: 'd'.repeat(64) }],
    };
    expect(sha256(canonicalJson(manifest, { layout: 'document' }))).toBe('2586ce150258df36031c55c1691c90be7ed6c24bcf3dce06e0013ea4c68e22ec');
    fc.assert(fc.property(jsonData, (value) => {
      expect(canonicalJson(value, { layout: 'document' })).toBe(artifactManifestTextBefore(value));
    }));
  });

  // The audit bundle manifest and the deletion certificate were written by re-indenting the
  // compact form; the document layout is that text.
  it('writes as document exactly the compact form re-indented', () => {
    fc.assert(fc.property(jsonData, (value) => {
      expect(canonicalJson(value, { layout: 'document' })).toBe(`${JSON.stringify(JSON.parse(canonicalJson(value)), null, 2)}\n`);
    }));
  });

  // Where the two earlier copies disagreed: the artifact one wrote a Date as {} (it sorted the
  // Date's own keys, of which there are none). An artifact manifest holds only strings and
  // numbers, so no stored manifest had a Date; both layouts now write the ISO string.
  it('writes a Date the same way in both layouts', () => {
    const value = { at: new Date(0) };
    expect(artifactManifestTextBefore(value)).toBe('{\n  "at": {}\n}\n');
    expect(canonicalJson(value, { layout: 'document' })).toBe('{\n  "at": "1970-01-01T00:00:00.000Z"\n}\n');
    expect(JSON.parse(canonicalJson(value, { layout: 'document' }))).toEqual(JSON.parse(canonicalJson(value)));
  });
});
