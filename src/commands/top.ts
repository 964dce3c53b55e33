import type { Command } from 'commander';
import { badInput } from '../errors.js';
import { formatTopTable } from '../telemetry/format.js';
import { parseWindowMinutes } from '../telemetry/source.js';
import { topSnapshot } from '../telemetry/top.js';
import type { CommandModule } from './types.js';

export const examples = ['sovereign top', 'sovereign top --minutes 5', 'sovereign top --json', 'sovereign top | grep suspended'];

export function configure(command: Command): void {
  command
    .option('--interval <seconds>', 'refresh interval of the live dashboard (at least 0.2)', '1')
    .option('--minutes <n>', 'window of the recent figures, 1–60 minutes', '15');
}

export async function run(ctx: Parameters<CommandModule['run']>[0], _args: string[], options: Record<string, unknown>): Promise<void> {
  const state = ctx.state();
  const source = ctx.target().telemetry();
  const minutes = parseWindowMinutes(options.minutes);
  const next = () => topSnapshot(state, source, new Date(), { minutes });
  const seconds = Number(options.interval ?? 1);
  if (!Number.isFinite(seconds) || seconds < 0.2) throw badInput(`--interval ${String(options.interval)} is not a number of seconds ≥ 0.2`);
  if (ctx.out.interactive && !ctx.globals.json) {
    const { runTopDashboard } = await import('../telemetry/top-ink.js');
    await runTopDashboard(ctx.out, next, seconds * 1000);
    return;
  }
  const snapshot = await next();
  if (snapshot.message && !ctx.globals.json) ctx.out.warn(snapshot.message);
  ctx.out.result(snapshot, () => formatTopTable(snapshot.tenants));
}
