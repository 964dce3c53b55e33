/**
 * Lambda's log lines as sovereign reads them, on both targets: CloudWatch Logs events on aws
 * (`targets/aws/telemetry.ts`) and the tenant's log file under `sovereign dev`, where the dev
 * process writes the same platform lines (`REPORT`, timeouts) Lambda writes.
 */
import type { LogLine } from './source.js';

/** The lines Lambda itself writes into a function's log. */
const PLATFORM = /^(START|END|REPORT|INIT_START|INIT_REPORT|EXTENSION|TELEMETRY)\b/;

/** The message of a `REPORT` line read by {@link parseLambdaLogLine}. */
export const REPORT_MESSAGE = 'lambda report';

const REPORT_FIELDS: Record<string, string> = {
  'Duration': 'durationMs',
  'Billed Duration': 'billedMs',
  'Memory Size': 'memoryMb',
  'Max Memory Used': 'maxMemoryMb',
  'Init Duration': 'initMs',
};

/**
 * One line of a Lambda function's log as a runtime log line, `time` being when it was written (the
 * CloudWatch event's timestamp on aws). The runtime writes JSON lines; Lambda adds `START`/`END`
 * (dropped: REPORT says the same), `REPORT` (kept, as a line with its figures), `INIT_START` and
 * the like (kept as plain messages). A line without its own time takes the event's.
 */
export function parseLambdaLogLine(tenant: string, text: string, time: string): LogLine | undefined {
  const platform = PLATFORM.exec(text);
  if (platform) {
    if (platform[1] === 'START' || platform[1] === 'END') return undefined;
    if (platform[1] === 'REPORT') {
      const requestId = /RequestId: (\S+)/.exec(text)?.[1] ?? null;
      const fields: Record<string, number> = {};
      for (const [, name, value] of text.matchAll(/\t([A-Za-z ]+): ([\d.]+) (?:ms|MB)/g)) {
        const key = REPORT_FIELDS[name!];
        if (key) fields[key] = Number(value);
      }
      const status = /\tStatus: (\w+)/.exec(text)?.[1];
      return { time, level: 'info', tenant, extension: null, requestId, message: REPORT_MESSAGE, fields, ...(status ? { status } : {}) };
    }
    return { time, level: 'info', tenant, extension: null, requestId: null, message: text.replace(/\t/g, ' ') };
  }
  // console.* adds `<time>\t<request id>\t<LEVEL>\t` before the text.
  const body = /^\d{4}-\d{2}-\d{2}T[^\t]*\t[^\t]*\t[A-Z]+\t([\s\S]*)$/.exec(text)?.[1] ?? text;
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const line = parsed as LogLine;
      return line.time === undefined && line._aws === undefined ? { time, ...line } : line;
    }
  } catch {
    // not JSON: a plain message
  }
  return { time, level: 'info', tenant, message: body };
}

/**
 * The lines of a tenant's log file under `sovereign dev`: the runtime's JSON lines as they are,
 * Lambda's platform lines as {@link parseLambdaLogLine} reads them on aws. A platform line without
 * a time of its own takes the time of the line before it (the file is written in order).
 */
export function parseLogFileLines(tenant: string, texts: Iterable<string>): LogLine[] {
  const lines: LogLine[] = [];
  let last = new Date(0).toISOString();
  for (const text of texts) {
    if (text.startsWith('{')) {
      try {
        const line = JSON.parse(text) as LogLine;
        if (typeof line.time === 'string') last = line.time;
        lines.push(line);
        continue;
      } catch {
        // not JSON after all: read as Lambda's
      }
    }
    const own = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z) /.exec(text)?.[1];
    // dev writes its platform lines after their time (CloudWatch keeps it beside the text).
    const rest = own === undefined ? text : text.slice(own.length + 1);
    const platform = own !== undefined && PLATFORM.test(rest);
    const line = parseLambdaLogLine(tenant, platform ? rest : text, own ?? last);
    if (own !== undefined) last = own;
    if (line !== undefined) lines.push(line);
  }
  return lines;
}

/** What a function's `REPORT` lines over a window say, as `tenant status` shows it. */
export interface FunctionFigures {
  invocations: number;
  /** Invocations that started an execution environment (an `Init Duration`). */
  coldStarts: number;
  /** Invocations Lambda ended at the function's timeout (`Status: timeout`). */
  timeouts: number;
  initMs: { p50: number; max: number } | null;
  durationMs: { p50: number; p99: number } | null;
  billedMs: number;
  /** The function's configured memory (the last report's). */
  memoryMb: number | null;
  /** The highest `Max Memory Used` reported. */
  maxMemoryUsedMb: number | null;
}

/** Nearest-rank percentile of sorted values. */
function rank(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** Sums the `REPORT` lines among `lines` (others are skipped). */
export function functionFigures(lines: Iterable<LogLine>): FunctionFigures {
  const durations: number[] = [];
  const inits: number[] = [];
  let timeouts = 0;
  let billedMs = 0;
  let memoryMb: number | null = null;
  let maxMemoryUsedMb: number | null = null;
  for (const line of lines) {
    if (line.message !== REPORT_MESSAGE) continue;
    const fields = (line.fields ?? {}) as Record<string, number | undefined>;
    if (typeof fields.durationMs === 'number') durations.push(fields.durationMs);
    if (typeof fields.initMs === 'number') inits.push(fields.initMs);
    if (typeof fields.billedMs === 'number') billedMs += fields.billedMs;
    if (typeof fields.memoryMb === 'number') memoryMb = fields.memoryMb;
    if (typeof fields.maxMemoryMb === 'number' && fields.maxMemoryMb > (maxMemoryUsedMb ?? 0)) maxMemoryUsedMb = fields.maxMemoryMb;
    if (line.status === 'timeout') timeouts += 1;
  }
  durations.sort((a, b) => a - b);
  inits.sort((a, b) => a - b);
  return {
    invocations: durations.length,
    coldStarts: inits.length,
    timeouts,
    initMs: inits.length === 0 ? null : { p50: rank(inits, 0.5), max: inits[inits.length - 1]! },
    durationMs: durations.length === 0 ? null : { p50: rank(durations, 0.5), p99: rank(durations, 0.99) },
    billedMs,
    memoryMb,
    maxMemoryUsedMb,
  };
}
