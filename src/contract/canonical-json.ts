/**
 * Canonical JSON: the one serialisation every hash, signature and content-addressed file in
 * sovereign is taken over. Object keys are sorted at every level (`Array.prototype.sort` order),
 * members whose value is `undefined` are left out, `Date`s are written as their ISO string, and
 * array order is kept. The same value always gives the same text, whatever order its keys were
 * built in.
 *
 * Two layouts of the same canonical form, chosen by name:
 * - `compact` (default): no whitespace. What audit-log event hashes, bundle and certificate
 *   signatures and template hashes are computed over.
 * - `document`: two-space indent and a final newline. The exact text of files written once and
 *   hashed as bytes: an artifact's `manifest.json`, an audit bundle's manifest, a deletion
 *   certificate.
 *
 * Both layouts are pinned by tests: changing either changes stored hashes and artifact SHA-256s.
 * Pure and dependency-free.
 */

/** Options of {@link canonicalJson}. */
export interface CanonicalJsonOptions {
  /** `compact` (default) or `document` (two-space indent, final newline). */
  layout?: 'compact' | 'document';
}

/**
 * `value` as canonical JSON in the chosen layout. Guarantees: equal values (same members, any key
 * order) give identical text; `JSON.parse` of the result holds the same data.
 */
export function canonicalJson(value: unknown, options: CanonicalJsonOptions = {}): string {
  const sorted = sortKeys(value);
  return options.layout === 'document' ? `${JSON.stringify(sorted, null, 2)}\n` : JSON.stringify(sorted);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    // Plain assignment, as the audit log has always hashed with: changing how odd keys are
    // copied would change the hash of events already written.
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}
