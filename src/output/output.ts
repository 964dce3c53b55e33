import type { Writable } from 'node:stream';

export interface OutputOptions {
  json: boolean;
  color: boolean;
  verbose: boolean;
  /** A person is watching stderr (a TTY and no CI): live views and prompts are allowed. */
  interactive: boolean;
  stdout?: Writable;
  stderr?: Writable;
}

const codes = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, gray: 90, bold: 1, dim: 2 } as const;
export type Colour = keyof typeof codes;

/**
 * The one way commands talk: results to stdout (`result`), everything else to stderr. With
 * `--json`, stdout carries exactly one JSON document.
 */
export class Output {
  readonly json: boolean;
  readonly color: boolean;
  readonly verbose: boolean;
  readonly interactive: boolean;
  readonly stdout: Writable;
  readonly stderr: Writable;
  private resultWritten = false;

  constructor(options: OutputOptions) {
    this.json = options.json;
    this.color = options.color && !options.json;
    this.verbose = options.verbose;
    this.interactive = options.interactive;
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
  }

  paint(colour: Colour, text: string): string {
    return this.color ? `\u001b[${codes[colour]}m${text}\u001b[0m` : text;
  }

  /** The command's result: `value` as JSON with --json, otherwise `human()` as text. */
  result(value: unknown, human?: () => string): void {
    if (this.json) {
      if (this.resultWritten) throw new Error('a command wrote two JSON results');
      this.resultWritten = true;
      this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      return;
    }
    const text = human ? human() : typeof value === 'string' ? value : JSON.stringify(value, null, 2);
    if (text.length > 0) this.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /**
   * A result too large to hold in memory: with --json `{"<key>": [...]}` (the same text `result`
   * would write), otherwise one `line(item)` per item, or `empty` when there are none. Written in
   * blocks, waiting while stdout is full, so memory stays flat however many items there are.
   */
  async resultStream<T>(key: string, items: AsyncIterable<T>, line: (item: T) => string, empty: string): Promise<void> {
    if (this.json) {
      if (this.resultWritten) throw new Error('a command wrote two JSON results');
      this.resultWritten = true;
    }
    let block = '';
    let count = 0;
    const flush = async () => {
      if (block.length === 0) return;
      const ok = this.stdout.write(block);
      block = '';
      if (!ok) await new Promise<void>((resolve) => this.stdout.once('drain', () => resolve()));
    };
    for await (const item of items) {
      if (this.json) block += `${count === 0 ? `{\n  ${JSON.stringify(key)}: [\n` : ',\n'}${JSON.stringify(item, null, 2).replace(/^/gm, '    ')}`;
      else block += `${line(item)}\n`;
      count += 1;
      if (block.length >= 64 * 1024) await flush();
    }
    if (this.json) block += count === 0 ? `{\n  ${JSON.stringify(key)}: []\n}\n` : '\n  ]\n}\n';
    else if (count === 0) block += `${empty}\n`;
    await flush();
  }

  get hasResult(): boolean {
    return this.resultWritten;
  }

  info(message: string): void {
    this.stderr.write(`${message}\n`);
  }

  success(message: string): void {
    this.stderr.write(`${this.paint('green', '✔')} ${message}\n`);
  }

  warn(message: string): void {
    this.stderr.write(`${this.paint('yellow', 'warning:')} ${message}\n`);
  }

  debug(message: string): void {
    if (this.verbose) this.stderr.write(`${this.paint('gray', message)}\n`);
  }

  /** An append-only event line on stderr: `12:00:01 deploy acme status=ok took=1.2s`. */
  event(kind: string, fields: Record<string, unknown> = {}): void {
    const time = new Date().toISOString().slice(11, 19);
    const rest = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
      .join(' ');
    this.stderr.write(`${this.paint('gray', time)} ${kind}${rest ? ` ${rest}` : ''}\n`);
  }
}

/** Renders rows as an aligned text table. */
export function formatTable(rows: Array<Record<string, unknown>>, columns: string[], headers?: Record<string, string>): string {
  const cell = (v: unknown) => (v === undefined || v === null ? '-' : Array.isArray(v) ? v.join(',') || '-' : String(v));
  const head = columns.map((c) => (headers?.[c] ?? c).toUpperCase());
  const body = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}
