/**
 * Masks every secret value the resolver has handed out, wherever it appears in a log line:
 * whole strings, substrings, nested objects and arrays, object keys, and the JSON-escaped form.
 */

/** Values shorter than this are masked only where they are a whole string (masking "1" everywhere would destroy logs). */
export const MIN_SUBSTRING_SECRET_LENGTH = 4;

export const MASK = '***';

export class Redactor {
  private readonly values = new Set<string>();
  private pattern: RegExp | undefined;
  // Stryker disable next-line BooleanLiteral: compile() is reached only after add() has set it; starting true changes nothing
  private dirty = false;

  /** Registers a value to mask from now on. */
  add(value: string): void {
    if (value.length === 0 || this.values.has(value)) return;
    this.values.add(value);
    const escaped = JSON.stringify(value).slice(1, -1);
    // Stryker disable next-line ConditionalExpression: adding a value already in the set is a no-op
    if (escaped !== value) this.values.add(escaped);
    this.dirty = true;
  }

  /** Number of registered values. */
  get size(): number {
    return this.values.size;
  }

  /** `text` with every registered value replaced by `***`. */
  redactString(text: string): string {
    // Stryker disable next-line ConditionalExpression: a fast path; with no values there is no pattern and the text comes back unchanged anyway
    if (this.values.size === 0) return text;
    if (this.values.has(text)) return MASK;
    const pattern = this.compile();
    return pattern === undefined ? text : text.replace(pattern, MASK);
  }

  /** A deep copy of `value` with every string (and object key) redacted. */
  redact(value: unknown, depth = 0): unknown {
    if (typeof value === 'string') return this.redactString(value);
    if (value === null || typeof value !== 'object') return value;
    if (depth > 20) return '[too deep]';
    if (Array.isArray(value)) return value.map((item) => this.redact(item, depth + 1));
    if (value instanceof Error) {
      return { name: value.name, message: this.redactString(value.message) };
    }
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[this.redactString(key)] = this.redact(item, depth + 1);
    return out;
  }

  private compile(): RegExp | undefined {
    // Stryker disable next-line ConditionalExpression: a cache; recompiling gives the same pattern
    if (this.dirty) {
      const long = [...this.values].filter((v) => v.length >= MIN_SUBSTRING_SECRET_LENGTH).sort((a, b) => b.length - a.length);
      this.pattern = long.length === 0 ? undefined : new RegExp(long.map(escapeRegExp).join('|'), 'g');
      // Stryker disable next-line BooleanLiteral: a cache; staying dirty only recompiles the same pattern
      this.dirty = false;
    }
    return this.pattern;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
