import type { Command } from 'commander';
import { badInput } from '../../errors.js';
import { requireTenant } from '../../tenants/tenants.js';
import { formatLogLine, matchesLogFilter } from '../../telemetry/format.js';
import { followLogs, parseSinceOption } from '../../telemetry/logs.js';
import type { CommandModule } from '../types.js';

export const examples = [
  'sovereign tenant logs acme',
  'sovereign tenant logs acme --since 10m --extension avalara',
  'sovereign tenant logs acme --request-id 8f1c2a --json',
  'sovereign tenant logs acme --follow',
];

export function configure(command: Command): void {
  command
    .argument('<id>', 'tenant id')
    .option('-f, --follow', 'keep printing new lines until interrupted')
    .option('--since <dur>', 'only lines newer than this (30s, 10m, 2h, 1d) or since an ISO date; on aws the last hour by default')
    .option('--extension <name>', 'only lines of this extension')
    .option('--request-id <id>', 'only lines of this request')
    .option('--limit <n>', 'at most this many of the newest lines (default 200)', '200');
}

export async function run(ctx: Parameters<CommandModule['run']>[0], [id]: string[], options: Record<string, unknown>): Promise<void> {
  const limitText = String(options.limit ?? '200');
  if (!/^\d+$/.test(limitText) || Number(limitText) < 1) throw badInput(`--limit ${limitText} is not a whole number ≥ 1`);
  if (options.follow && ctx.globals.json) throw badInput('--follow cannot be combined with --json', 'drop --follow for one JSON document of the lines so far');
  const since = typeof options.since === 'string' ? parseSinceOption(options.since) : undefined;
  const filter = {
    ...(typeof options.extension === 'string' ? { extension: options.extension } : {}),
    ...(typeof options.requestId === 'string' ? { requestId: options.requestId } : {}),
  };
  const record = await requireTenant(ctx.state(), id!);
  const source = ctx.target().telemetry();
  if (options.follow) {
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      await followLogs(source, record.id, { ...filter, ...(since === undefined ? {} : { since }), limit: Number(limitText), signal: abort.signal, onLine: (line) => ctx.out.stdout.write(`${formatLogLine(line)}\n`) });
    } finally {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    }
    return;
  }
  const lines = (await source.logs(record.id, { ...filter, ...(since === undefined ? {} : { since }), limit: Number(limitText) })).filter((line) => matchesLogFilter(line, filter)).slice(-Number(limitText));
  if (lines.length === 0 && !ctx.globals.json) ctx.out.info(`no log lines for ${record.id}${since !== undefined || filter.extension || filter.requestId ? ' matching the filters' : ''}`);
  ctx.out.result({ tenant: record.id, lines }, () => lines.map(formatLogLine).join('\n'));
}
