/**
 * The cost of masking encoded forms in `ctx.log`: one log line with nested fields through the
 * runtime's redactor, which registers each handed-out value with its base64, base64url, hex and
 * percent-encoded forms, against a redactor registering the value and its JSON-escaped form only
 * (the masking before encoded forms were added), in the same run. Medians of interleaved rounds.
 *
 * Run alone: `npx tsc -p tsconfig.build.json && node bench/redact-encodings.js`.
 */
import { randomBytes } from 'node:crypto';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { Redactor, MASK } = await import(pathToFileURL(join(repo, 'dist', 'runtime', 'redact.js')).href);
const { formatLogLine } = await import(pathToFileURL(join(repo, 'dist', 'runtime', 'log.js')).href);

/** The redactor as it was: the value and its JSON-escaped form, one alternation. */
class PlainRedactor {
  values = new Set();
  pattern = undefined;
  add(value) {
    this.values.add(value);
    this.values.add(JSON.stringify(value).slice(1, -1));
    const long = [...this.values].filter((v) => v.length >= 4).sort((a, b) => b.length - a.length);
    this.pattern = new RegExp(long.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  }
  redactString(text) {
    if (this.values.has(text)) return MASK;
    return this.pattern === undefined ? text : text.replace(this.pattern, MASK);
  }
  redact(value, depth = 0) {
    if (typeof value === 'string') return this.redactString(value);
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((item) => this.redact(item, depth + 1));
    const out = {};
    for (const [key, item] of Object.entries(value)) out[this.redactString(key)] = this.redact(item, depth + 1);
    return out;
  }
}

const SECRETS = Array.from({ length: Number(process.env.BENCH_REDACT_VALUES ?? 10) }, () => randomBytes(18).toString('base64url'));
const FIELDS = { orderId: 'o-123456', customer: { id: 'c-42', email: 'ada@example.com' }, items: [{ sku: 'A-1', qty: 2 }, { sku: 'B-7', qty: 1 }], note: 'x'.repeat(200) };
const BASE = { tenant: 'acme', stage: 'dev', extension: 'orders', requestId: 'req-1' };

function perLine(redactor, iterations) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i += 1) formatLogLine(redactor, BASE, 'info', 'order created', FIELDS);
  return Number(process.hrtime.bigint() - start) / iterations / 1000;
}

const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
const plain = new PlainRedactor();
const encoded = new Redactor();
for (const secret of SECRETS) {
  plain.add(secret);
  encoded.add(secret);
}
const rounds = Number(process.env.BENCH_REDACT_ROUNDS ?? 15);
const iterations = 20_000;
perLine(plain, iterations);
perLine(encoded, iterations);
const before = [];
const after = [];
for (let round = 0; round < rounds; round += 1) {
  before.push(perLine(plain, iterations));
  after.push(perLine(encoded, iterations));
}
const b = median(before);
const a = median(after);
console.log(`log line with ${SECRETS.length} handed-out values: value + JSON form ${b.toFixed(2)} µs, + encoded forms ${a.toFixed(2)} µs, ratio ${(a / b).toFixed(2)}× (medians of ${rounds} interleaved rounds of ${iterations})`);
