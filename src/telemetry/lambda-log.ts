/**
 * Lambda's log lines as sovereign reads them, on both targets: CloudWatch Logs events on aws
 * (`targets/aws/telemetry.ts`) and the tenant's log file under `sovereign dev`, where the dev
 * process writes the same platform lines (`REPORT`, timeouts) Lambda writes.
 */
import type { LogLine } from './source.js';

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
  const platform = /^(START|END|REPORT|INIT_START|INIT_REPORT|EXTENSION|TELEMETRY)\b/.exec(text);
  if (platform) {
    if (platform[1] === 'START' || platform[1] === 'END') return undefined;
    if (platform[1] === 'REPORT') {
      const requestId = /RequestId: (\S+)/.exec(text)?.[1] ?? null;
      const fields: Record<string, number> = {};
      for (const [, name, value] of text.matchAll(/\t([A-Za-z ]+): ([\d.]+) (?:ms|MB)/g)) {
        const key = REPORT_FIELDS[name!];
        if (key) fields[key] = Number(value);
      }
      return { time, level: 'info', tenant, extension: null, requestId, message: 'lambda report', fields };
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
    const line = parseLambdaLogLine(tenant, text, own ?? last);
    if (own !== undefined) last = own;
    if (line !== undefined) lines.push(line);
  }
  return lines;
}
