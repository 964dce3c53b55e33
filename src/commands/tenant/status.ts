import { requireTenant } from '../../tenants/tenants.js';
import { formatStatus, statusReport } from '../../telemetry/format.js';
import { defineCommand } from '../define.js';
import { idArgument, windowMinutes } from '../fields.js';

export default defineCommand({
  examples: ['sovereign tenant status acme', 'sovereign tenant status acme --minutes 5', 'sovereign tenant status acme --json'],
  arguments: { id: idArgument },
  options: { minutes: windowMinutes },
  async run(ctx, { id, minutes }) {
    const record = await requireTenant(ctx.state(), id);
    const source = ctx.target().telemetry();
    const [fleet, health] = await Promise.all([source.figures({ minutes, tenants: [record.id] }), source.health(record.id)]);
    const report = statusReport(record, fleet, health, source.unavailableHint);
    if (report.message && ctx.globals.json) ctx.out.warn(report.message);
    ctx.out.result(report, () => formatStatus(report));
  },
});
