import type { Command } from 'commander';
import { destroyTenant, requireTenant } from '../../tenants/tenants.js';
import { UserError, ExitCode } from '../../errors.js';
import type { CommandModule } from '../types.js';

export const examples = ['sovereign tenant destroy acme', 'sovereign tenant destroy acme --yes --json'];

export function configure(command: Command): void {
  command.argument('<id>', 'tenant id');
}

export async function run(ctx: Parameters<CommandModule['run']>[0], [id]: string[]): Promise<void> {
  const state = ctx.state();
  await requireTenant(state, id!);
  if (!(await ctx.confirm(`destroying tenant "${id}" deletes its state, keys, secrets vault and data`))) {
    throw new UserError('destroy cancelled; nothing was changed', { exitCode: ExitCode.failed });
  }
  const record = await destroyTenant(state, id!);
  ctx.out.result({ destroyed: record.id }, () => `Destroyed tenant ${record.id}. Its history stays in the audit log.`);
}
