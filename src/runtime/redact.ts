/**
 * Masks every secret value the resolver has handed out, wherever it appears in a log line:
 * whole strings, substrings, nested objects and arrays, object keys, the JSON-escaped form, and
 * the encodings a handler is likely to log a value in: base64 and base64url (at each of the three
 * byte alignments, so the value is masked inside a longer encoded blob such as a Basic
 * authorization header too), hex in either case, and percent-encoding (`encodeURIComponent`,
 * form encoding, lower-case escapes).
 *
 * What it cannot mask: a value transformed in any other way (hashed, reversed, split across
 * lines, encrypted, compressed, encoded twice): a handler that wants to leak a value it was given
 * can always do so; the redactor stops accidents.
 */

/** Values shorter than this are masked only where they are a whole string (masking "1" everywhere would destroy logs). */
export const MIN_SUBSTRING_SECRET_LENGTH = 4;

export const MASK = '***';

/** Forms longer than this are masked as plain text instead of through the pattern (see `compile`). */
const MAX_PATTERN_FORM_LENGTH = 1024;

/**
 * The strings that stand for `value` in a log: the value, its JSON-escaped form and its encodings.
 * Encodings are derived only for values long enough to be masked inside text.
 */
export function maskedForms(value: string): string[] {
  const forms = new Set<string>([value, JSON.stringify(value).slice(1, -1)]);
  if (value.length >= MIN_SUBSTRING_SECRET_LENGTH) {
    const bytes = Buffer.from(value, 'utf8');
    const hex = bytes.toString('hex');
    forms.add(hex);
    forms.add(hex.toUpperCase());
    for (const encoded of base64Forms(bytes)) forms.add(encoded);
    const component = encodeURIComponent(value);
    forms.add(component);
    forms.add(lowerCaseEscapes(component));
    const form = new URLSearchParams({ v: value }).toString().slice(2);
    forms.add(form);
    forms.add(lowerCaseEscapes(form));
    forms.add(encodeURI(value));
  }
  return [...forms];
}

/** Base64 at alignment 0 would miss a value encoded after 1 or 2 other bytes: mask the characters that depend on the value's bytes alone, at each alignment. */
function base64Forms(bytes: Buffer): string[] {
  const forms: string[] = [];
  for (const alphabet of ['base64', 'base64url'] as const) {
    const whole = bytes.toString(alphabet);
    forms.push(whole, whole.replace(/=+$/, ''));
    for (let offset = 0; offset < 3; offset += 1) {
      const encoded = Buffer.concat([Buffer.alloc(offset), bytes, Buffer.alloc(2)]).toString(alphabet);
      // Character i covers bits [6i, 6i + 6); the value's bits are [8 * offset, 8 * (offset + length)).
      const first = Math.ceil((8 * offset) / 6);
      const end = Math.floor((8 * (offset + bytes.length)) / 6);
      const core = encoded.slice(first, end);
      if (core.length >= MIN_SUBSTRING_SECRET_LENGTH) forms.push(core);
    }
  }
  return forms;
}

function lowerCaseEscapes(text: string): string {
  return text.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
}

export class Redactor {
  /** Values registered with {@link Redactor.add}. */
  private readonly added = new Set<string>();
  /** Every string masked: the values and their forms. */
  private readonly values = new Set<string>();
  private pattern: RegExp | undefined;
  /** Forms too long for the pattern, longest first. */
  private literal: string[] = [];
  // Stryker disable next-line BooleanLiteral: compile() is reached only after add() has set it; starting true changes nothing
  private dirty = false;

  /** Registers a value to mask from now on. */
  add(value: string): void {
    if (value.length === 0 || this.added.has(value)) return;
    this.added.add(value);
    for (const form of maskedForms(value)) this.values.add(form);
    this.dirty = true;
  }

  /** Number of registered values. */
  get size(): number {
    return this.added.size;
  }

  /** `text` with every registered value replaced by `***`. */
  redactString(text: string): string {
    // Stryker disable next-line ConditionalExpression: a fast path; with no values there is no pattern and the text comes back unchanged anyway
    if (this.values.size === 0) return text;
    if (this.values.has(text)) return MASK;
    const pattern = this.compile();
    let out = text;
    for (const form of this.literal) if (out.includes(form)) out = out.split(form).join(MASK);
    return pattern === undefined ? out : out.replace(pattern, MASK);
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
      // V8 refuses a pattern past a size ("Regular expression too large"): a value of some
      // 20,000 characters has forms enough. Forms that long are replaced as plain text, first.
      this.literal = long.filter((v) => v.length > MAX_PATTERN_FORM_LENGTH);
      const inPattern = long.filter((v) => v.length <= MAX_PATTERN_FORM_LENGTH);
      this.pattern = inPattern.length === 0 ? undefined : new RegExp(alternation(inPattern), 'g');
      // Stryker disable next-line BooleanLiteral: a cache; staying dirty only recompiles the same pattern
      this.dirty = false;
    }
    return this.pattern;
  }
}

/**
 * One alternative per form, grouped by first character (`a(?:bc|b)|x(?:yz)`): at each position
 * of the text the engine tries the forms of one group instead of every form, which keeps a line
 * cheap with hundreds of forms (each value has a dozen). Longest first within a group, so the
 * longest form at a position wins, as with a flat alternation sorted by length.
 */
function alternation(forms: string[]): string {
  const groups = new Map<string, string[]>();
  for (const form of forms) {
    const first = String.fromCodePoint(form.codePointAt(0)!);
    const group = groups.get(first) ?? [];
    group.push(escapeRegExp(form.slice(first.length)));
    groups.set(first, group);
  }
  return [...groups].map(([first, rests]) => `${escapeRegExp(first)}(?:${rests.join('|')})`).join('|');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
