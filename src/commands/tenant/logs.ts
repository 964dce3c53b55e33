import { badInput } from '../../errors.js';
import { requireTenant } from '../../tenants/tenants.js';
import { formatLogLine, matchesLogFilter } from '../../telemetry/format.js';
import { followLogs, parseSinceOption } from '../../telemetry/logs.js';
import { defineCommand, flag, option, optional, optionalText, parsedBy } from '../define.js';
import { idArgument, wholeNumber } from '../fields.js';

export default defineCommand({
  examples: [
    'sovereign tenant logs acme',
    'sovereign tenant logs acme --since 10m --extension avalara',
    'sovereign tenant logs acme --request-id 8f1c2a --json',
    'sovereign tenant logs acme --follow',
  ],
  arguments: { id: idArgument },
  options: {
    follow: flag('-f, --follow', 'keep printing new lines until interrupted'),
    since: option('--since <dur>', 'only lines newer than this (30s, 10m, 2h, 1d) or since an ISO date; on aws the last hour by default', optional(parsedBy((text) => parseSinceOption(text)))),
    extension: option('--extension <name>', 'only lines of this extension', optionalText),
    requestId: option('--request-id <id>', 'only lines of this request', optionalText),
    limit: option('--limit <n>', 'at most this many of the newest lines (default 200)', wholeNumber('--limit', 1), { default: '200' }),
  },
  async run(ctx, { id, follow, since, extension, requestId, limit }) {
    if (follow && ctx.globals.json) throw badInput('--follow cannot be combined with --json', 'drop --follow for one JSON document of the lines so far');
    const filter = {
      ...(extension === undefined ? {} : { extension }),
      ...(requestId === undefined ? {} : { requestId }),
    };
    const record = await requireTenant(ctx.state(), id);
    const source = ctx.target().telemetry();
    if (follow) {
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await followLogs(source, record.id, { ...filter, ...(since === undefined ? {} : { since }), limit, signal: abort.signal, onLine: (line) => ctx.out.stdout.write(`${formatLogLine(line)}\n`) });
      } finally {
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
      }
      return;
    }
    const lines = (await source.logs(record.id, { ...filter, ...(since === undefined ? {} : { since }), limit })).filter((line) => matchesLogFilter(line, filter)).slice(-limit);
    if (lines.length === 0 && !ctx.globals.json) ctx.out.info(`no log lines for ${record.id}${since !== undefined || filter.extension || filter.requestId ? ' matching the filters' : ''}`);
    ctx.out.result({ tenant: record.id, lines }, () => lines.map(formatLogLine).join('\n'));
  },
});
