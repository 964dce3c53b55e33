import { requireTenant } from '../../tenants/tenants.js';
import { formatStatus, matchesLogFilter, statusReport } from '../../telemetry/format.js';
import { functionFigures } from '../../telemetry/lambda-log.js';
import { FIGURES_WINDOW_MINUTES, type TelemetrySource } from '../../telemetry/source.js';
import { defineCommand } from '../define.js';
import { idArgument, windowMinutes } from '../fields.js';

export default defineCommand({
  examples: ['sovereign tenant status acme', 'sovereign tenant status acme --minutes 5', 'sovereign tenant status acme --json'],
  arguments: { id: idArgument },
  options: { minutes: windowMinutes },
  async run(ctx, { id, minutes }) {
    const record = await requireTenant(ctx.state(), id);
    const source = ctx.target().telemetry();
    const window = minutes ?? FIGURES_WINDOW_MINUTES;
    const [fleet, health, fn] = await Promise.all([source.figures({ minutes, tenants: [record.id] }), source.health(record.id), reportedFigures(source, record.id, window)]);
    const report = statusReport(record, fleet, health, source.unavailableHint, fn);
    if (report.message && ctx.globals.json) ctx.out.warn(report.message);
    ctx.out.result(report, () => formatStatus(report));
  },
});

/**
 * The function's figures from Lambda's `REPORT` lines over the window, read as `tenant logs` reads
 * the log (CloudWatch Logs on aws, the tenant's log file under dev); null when it cannot be read.
 */
async function reportedFigures(source: TelemetrySource, tenant: string, minutes: number) {
  const filter = { reports: true } as const;
  try {
    const lines = await source.logs(tenant, { ...filter, since: Date.now() - minutes * 60_000 });
    return { minutes, ...functionFigures(lines.filter((line) => matchesLogFilter(line, filter))) };
  } catch {
    return null;
  }
}
