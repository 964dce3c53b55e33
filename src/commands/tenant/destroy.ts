import type { Command } from 'commander';
import { requireTenant } from '../../tenants/tenants.js';
import { UserError, ExitCode } from '../../errors.js';
import type { CommandModule } from '../types.js';

export const examples = [
  'sovereign tenant destroy acme',
  'sovereign tenant destroy acme --yes --json',
  'sovereign tenant destroy acme --target aws --export-data ./exports --force-delete-table --yes',
];

export function configure(command: Command): void {
  command
    .argument('<id>', 'tenant id')
    .option('--export-data <dir>', 'aws: export the tenant\'s table (JSONL.gz) to <dir> before deleting anything')
    .option('--force-delete-table', 'aws: lift the table\'s deletion protection (stages other than dev have it)');
}

export async function run(ctx: Parameters<CommandModule['run']>[0], [id]: string[], options: Record<string, unknown>): Promise<void> {
  const state = ctx.state();
  await requireTenant(state, id!);
  const target = ctx.target();
  if (!(await ctx.confirm(`destroying tenant "${id}" deletes ${target.destroys}`))) {
    throw new UserError('destroy cancelled; nothing was changed', { exitCode: ExitCode.failed });
  }
  const outcome = await target.destroy({
    tenant: id!,
    ...(options.exportData ? { exportData: String(options.exportData) } : {}),
    forceDeleteTable: options.forceDeleteTable === true,
  });
  const { record, stack, exported } = outcome;
  if (stack === null) {
    ctx.out.result({ destroyed: record.id }, () => `Destroyed tenant ${record.id}. Its history stays in the audit log.`);
    return;
  }
  ctx.out.result({ destroyed: record.id, stack, existed: outcome.existed, exported }, () =>
    [
      `Destroyed tenant ${record.id} (stack ${stack}${outcome.existed ? '' : ', which did not exist'}).`,
      ...(exported ? [`Table exported to ${exported.path} (${exported.items} items).`] : []),
      'Its history stays in the audit log.',
    ].join('\n'),
  );
}
