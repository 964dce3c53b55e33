import type { Command } from 'commander';
import { lifecycleEnv } from '../../lifecycle/env.js';
import { suspendTenant } from '../../lifecycle/apply.js';
import type { CommandModule } from '../types.js';

export const examples = ['sovereign tenant suspend acme', 'sovereign tenant suspend acme --reason "billing dispute" --json'];

export function configure(command: Command): void {
  command.argument('<id>', 'tenant id').option('--reason <text>', 'why, recorded in the tenant\'s transitions and the audit log');
}

export async function run(ctx: Parameters<CommandModule['run']>[0], [id]: string[], options: Record<string, unknown>): Promise<void> {
  const reason = typeof options.reason === 'string' && options.reason.length > 0 ? options.reason : undefined;
  const result = await suspendTenant(lifecycleEnv(ctx), id!, reason ? { reason } : {});
  ctx.out.result({ tenant: result.record.id, from: result.from, status: result.to, generation: result.generation }, () =>
    `Suspended tenant ${result.record.id} (${result.from} → ${result.to}): extension routes answer 403 within about a second; data is untouched.`,
  );
}
