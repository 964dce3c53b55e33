import type { Command } from 'commander';
import { requireTenant } from '../../tenants/tenants.js';
import { formatStatus, statusReport } from '../../telemetry/format.js';
import { telemetryFor } from '../../telemetry/source.js';
import type { CommandModule } from '../types.js';

export const examples = ['sovereign tenant status acme', 'sovereign tenant status acme --json'];

export function configure(command: Command): void {
  command.argument('<id>', 'tenant id');
}

export async function run(ctx: Parameters<CommandModule['run']>[0], [id]: string[]): Promise<void> {
  const record = await requireTenant(ctx.state(), id!);
  const source = telemetryFor(ctx);
  const [fleet, health] = await Promise.all([source.figures(), source.health(record.id)]);
  const report = statusReport(record, fleet, health, source.unavailableHint);
  if (report.message && ctx.globals.json) ctx.out.warn(report.message);
  ctx.out.result(report, () => formatStatus(report));
}
