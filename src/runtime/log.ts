/**
 * JSON-line logging. Every line carries time, level, tenant, stage, extension and requestId, and
 * passes through the redactor so no resolved secret value is ever written.
 */
import type { Logger } from './extension.js';
import type { Redactor } from './redact.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Where lines go; the default writes to stdout (one line per call). */
export type LineWriter = (line: string) => void;

export const stdoutWriter: LineWriter = (line) => {
  process.stdout.write(`${line}\n`);
};

export interface LogBase {
  tenant: string;
  stage: string;
  extension?: string | undefined;
  requestId?: string | undefined;
}

export interface LoggerOptions {
  base: LogBase;
  redactor: Redactor;
  write?: LineWriter;
  /** Lines below this level are dropped (default `info`, `SOVEREIGN_LOG_LEVEL`). */
  level?: LogLevel;
}

/** Builds the line for one log call (exported for the runtime's own lines). */
export function formatLogLine(
  redactor: Redactor,
  base: LogBase,
  level: LogLevel,
  message: string,
  fields?: Record<string, unknown>,
): string {
  const line: Record<string, unknown> = {
    time: new Date().toISOString(),
    level,
    tenant: base.tenant,
    stage: base.stage,
    extension: base.extension ?? null,
    requestId: base.requestId ?? null,
    message: redactor.redactString(String(message)),
  };
  if (fields !== undefined && Object.keys(fields).length > 0) line.fields = redactor.redact(fields);
  let text: string;
  try {
    text = JSON.stringify(line);
  } catch {
    text = JSON.stringify({ ...line, fields: '[unserialisable]' });
  }
  // Second pass over the serialised line: catches values produced by toJSON or escaping.
  return redactor.redactString(text);
}

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? stdoutWriter;
  const threshold = LEVELS[options.level ?? 'info'];
  const emit = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < threshold) return;
    write(formatLogLine(options.redactor, options.base, level, message, fields));
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}
