import { badInput, ExitCode, UserError } from '../../errors.js';
import { readEvents, verifyLog, type AuditEvent } from '../../state/audit-log.js';
import { defineCommand, flag, option, optional, parsedBy } from '../define.js';
import { tenantId } from '../fields.js';

function line(e: AuditEvent): string {
  const args = Object.keys(e.args).length ? ` ${JSON.stringify(e.args)}` : '';
  return `${String(e.seq).padStart(5)}  ${e.time.slice(0, 19).replace('T', ' ')}  ${e.outcome === 'success' ? 'ok  ' : 'FAIL'}  ${e.action.padEnd(18)} ${(e.tenant ?? '-').padEnd(14)} ${e.actor}${args}${e.error ? `  error: ${e.error}` : ''}`;
}

const positiveLimit = parsedBy((text) => {
  const limit = Number(text);
  if (Number.isInteger(limit) && limit >= 1) return limit;
  throw badInput(`--limit "${text}" is not a positive whole number`, 'e.g. --limit 50 for the last 50 events');
});

export default defineCommand({
  examples: ['sovereign audit log', 'sovereign audit log --tenant acme --json', 'sovereign audit log --verify'],
  options: {
    tenant: option('--tenant <id>', 'only events of this tenant', optional(tenantId)),
    verify: flag('--verify', 'check the hash chain; exit 1 naming the first bad seq'),
    limit: option('--limit <n>', 'only the last <n> events', optional(positiveLimit)),
  },
  async run(ctx, { tenant, verify, limit }) {
    const path = ctx.project().paths.auditLog;
    if (verify) {
      const result = await verifyLog(path);
      ctx.out.result(result, () => {
        const repairs = result.repairs.map((r) => `  seq ${r.seq}: a torn line of ${r.tornBytes} bytes left by an interrupted command was cut off`);
        if (result.ok) return [`Audit chain intact: ${result.events} events, last seq ${result.lastSeq}, head ${result.lastHash.slice(0, 16)}…`, ...repairs].join('\n');
        return '';
      });
      if (!result.ok) {
        const where = result.problem!.seq === null ? `at line ${result.problem!.line}` : `at seq ${result.problem!.seq}`;
        throw new UserError(`audit chain broken ${where}: ${result.problem!.message}`, {
          hint: result.tornTail ? 'the next mutating command cuts the torn line off and records that in the chain' : 'the log was altered after it was written; restore it from a backup and investigate',
          exitCode: ExitCode.failed,
        });
      }
      return;
    }
    const events: AuditEvent[] = [];
    let torn: number | undefined;
    for await (const { event } of readEvents(path, (bytes) => (torn = bytes))) {
      if (!event) continue;
      if (tenant && event.tenant !== tenant) continue;
      events.push(event);
      if (limit !== undefined && events.length > limit) events.shift();
    }
    if (torn !== undefined) ctx.out.warn(`the audit log ends with a torn line of ${torn} bytes (an interrupted command); run \`sovereign audit log --verify\``);
    ctx.out.result({ events }, () => (events.length === 0 ? 'No audit events.' : events.map(line).join('\n')));
  },
});
