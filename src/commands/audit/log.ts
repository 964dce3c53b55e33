import { badInput, ExitCode, UserError } from '../../errors.js';
import { readEvents, readLastEvents, type AuditEvent } from '../../state/audit-log.js';
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

const tornWarning = (bytes: number) => `the audit log ends with a torn line of ${bytes} bytes (an interrupted command); run \`sovereign audit log --verify\``;

export default defineCommand({
  examples: ['sovereign audit log', 'sovereign audit log --tenant acme --limit 20 --json', 'sovereign audit log --verify'],
  options: {
    tenant: option('--tenant <id>', 'only events of this tenant', optional(tenantId), { completes: 'tenant' }),
    verify: flag('--verify', 'check the hash chain against its signed checkpoints; exit 1 naming the first bad seq and the last trusted checkpoint'),
    limit: option('--limit <n>', 'only the last <n> events (read from the end of the log)', optional(positiveLimit)),
  },
  async run(ctx, { tenant, verify, limit }) {
    const path = ctx.project().paths.auditLog;
    if (verify) {
      const result = await ctx.state().verifyAuditTrail();
      ctx.out.result(result, () => {
        const repairs = result.repairs.map((r) => `  seq ${r.seq}: a torn line of ${r.tornBytes} bytes left by an interrupted command was cut off`);
        const anchor = result.checkpoint ? `, signed checkpoint at seq ${result.checkpoint.seq} (${result.checkpoint.time}) by ${result.checkpoint.signer}` : '';
        const pending = result.pending ? [`  seq ${result.pending.seq}: an interrupted command's checkpoint is staged in its journal; the next command completes it`] : [];
        if (result.ok) return [`Audit chain intact: ${result.events} events, last seq ${result.lastSeq}, head ${result.lastHash.slice(0, 16)}…${anchor}`, ...repairs, ...pending].join('\n');
        return '';
      });
      if (!result.ok) {
        const where = result.firstBadSeq !== undefined ? `at seq ${result.firstBadSeq}` : result.problem!.seq === null ? `at line ${result.problem!.line}` : `at seq ${result.problem!.seq}`;
        throw new UserError(`audit chain broken ${where}: ${result.problem!.message}`, {
          hint: result.tornTail
            ? 'the next mutating command cuts the torn line off and records that in the chain'
            : result.kind === 'unanchored'
              ? 'a project older than signed checkpoints gets its first one from its next mutating command; otherwise the checkpoint was removed: restore .sovereign/audit/ from a backup'
              : 'the log was altered after it was written; restore it from a backup and investigate',
          exitCode: ExitCode.failed,
        });
      }
      return;
    }
    const keep = (event: AuditEvent) => tenant === undefined || event.tenant === tenant;
    if (limit !== undefined) {
      const { events, tornBytes } = readLastEvents(path, limit, keep);
      if (tornBytes > 0) ctx.out.warn(tornWarning(tornBytes));
      ctx.out.result({ events }, () => (events.length === 0 ? 'No audit events.' : events.map(line).join('\n')));
      return;
    }
    let torn: number | undefined;
    async function* matching(): AsyncGenerator<AuditEvent> {
      for await (const { event } of readEvents(path, (bytes) => (torn = bytes))) if (event && keep(event)) yield event;
    }
    await ctx.out.resultStream('events', matching(), line, 'No audit events.');
    if (torn !== undefined) ctx.out.warn(tornWarning(torn));
  },
});
