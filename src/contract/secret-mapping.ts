/**
 * `<extension>.<key>`: how a tenant's configuration names one declared secret of one extension
 * (`avalara.license_key`). The CLI writes these keys into the tenant record and the runtime
 * configuration; the runtime looks them up. Both sides parse and print them here.
 *
 * The rule follows from the naming rules (`names.ts`): neither an extension name nor a secret
 * key may contain `.`, so a valid mapping has exactly one `.` and splitting at it is the only
 * reading. Text with no `.` or with more than one is refused rather than split at the first or
 * the last one.
 *
 * Pure and dependency-free: it is bundled into every tenant runtime.
 */
import { extensionNameProblem, secretKeyProblem } from './names.js';

/** The separator between extension name and secret key. */
export const SECRET_MAPPING_SEPARATOR = '.';

/** One extension's declared secret, as a tenant's configuration names it. */
export interface SecretMapping {
  /** A valid extension name, e.g. `avalara`. */
  extension: string;
  /** A valid secret key, e.g. `license_key`. */
  key: string;
}

/** Result of {@link parseSecretMapping}: never throws. */
export type ParseSecretMappingResult =
  | { ok: true; mapping: SecretMapping }
  | { ok: false; problem: string };

/**
 * Parses `<extension>.<key>`. Succeeds exactly when the text has one `.`, with a valid extension
 * name before it and a valid secret key after it; the problem otherwise says which part is wrong.
 * For every valid mapping `m`, `parseSecretMapping(formatSecretMapping(m))` gives back `m`.
 */
export function parseSecretMapping(text: string): ParseSecretMappingResult {
  if (typeof text !== 'string') return { ok: false, problem: `"${String(text)}" is not <extension>.<key>` };
  const dot = text.indexOf(SECRET_MAPPING_SEPARATOR);
  if (dot === -1) return { ok: false, problem: `"${text}" is not <extension>.<key>` };
  if (text.indexOf(SECRET_MAPPING_SEPARATOR, dot + 1) !== -1) {
    return { ok: false, problem: `"${text}" is not <extension>.<key>: it has more than one "." (neither part may contain one)` };
  }
  const extension = text.slice(0, dot);
  const key = text.slice(dot + 1);
  const problem = extension === '' || key === ''
    ? `"${text}" is not <extension>.<key>`
    : extensionNameProblem(extension) ?? secretKeyProblem(key);
  return problem === undefined ? { ok: true, mapping: { extension, key } } : { ok: false, problem };
}

/**
 * Prints a mapping as `<extension>.<key>`. For valid names it is the inverse of
 * {@link parseSecretMapping}; it does not validate (it runs on the request path), so callers pass
 * names that were validated when the manifest or configuration was loaded.
 */
export function formatSecretMapping(mapping: SecretMapping): string {
  return `${mapping.extension}${SECRET_MAPPING_SEPARATOR}${mapping.key}`;
}

/** The extension a mapping belongs to, or undefined when `text` is not a valid mapping. */
export function secretMappingExtension(text: string): string | undefined {
  const parsed = parseSecretMapping(text);
  return parsed.ok ? parsed.mapping.extension : undefined;
}
