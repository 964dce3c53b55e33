import type { Command } from 'commander';
import { requireTenant } from '../../tenants/tenants.js';
import { formatStatus, statusReport } from '../../telemetry/format.js';
import { parseWindowMinutes } from '../../telemetry/source.js';
import type { CommandModule } from '../types.js';

export const examples = ['sovereign tenant status acme', 'sovereign tenant status acme --minutes 5', 'sovereign tenant status acme --json'];

export function configure(command: Command): void {
  command.argument('<id>', 'tenant id').option('--minutes <n>', 'window of the recent figures, 1–60 minutes', '15');
}

export async function run(ctx: Parameters<CommandModule['run']>[0], [id]: string[], options: Record<string, unknown>): Promise<void> {
  const minutes = parseWindowMinutes(options.minutes);
  const record = await requireTenant(ctx.state(), id!);
  const source = ctx.target().telemetry();
  const [fleet, health] = await Promise.all([source.figures({ minutes, tenants: [record.id] }), source.health(record.id)]);
  const report = statusReport(record, fleet, health, source.unavailableHint);
  if (report.message && ctx.globals.json) ctx.out.warn(report.message);
  ctx.out.result(report, () => formatStatus(report));
}
