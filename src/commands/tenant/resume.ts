import type { Command } from 'commander';
import { lifecycleEnv } from '../../lifecycle/env.js';
import { resumeTenant } from '../../lifecycle/apply.js';
import type { CommandModule } from '../types.js';

export const examples = ['sovereign tenant resume acme', 'sovereign tenant resume acme --reason "billing dispute" --json'];

export function configure(command: Command): void {
  command.argument('<id>', 'tenant id').option('--reason <text>', 'why, recorded in the tenant\'s transitions and the audit log');
}

export async function run(ctx: Parameters<CommandModule['run']>[0], [id]: string[], options: Record<string, unknown>): Promise<void> {
  const reason = typeof options.reason === 'string' && options.reason.length > 0 ? options.reason : undefined;
  const result = await resumeTenant(lifecycleEnv(ctx), id!, reason ? { reason } : {});
  ctx.out.result({ tenant: result.record.id, from: result.from, status: result.to, generation: result.generation }, () =>
    `Resumed tenant ${result.record.id} (${result.from} → ${result.to}): extension routes are served again within about a second.`,
  );
}
