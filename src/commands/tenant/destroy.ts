import type { Command } from 'commander';
import { destroyTenant, requireTenant } from '../../tenants/tenants.js';
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
  const what = ctx.globals.target === 'aws' ? 'its stack, table, function, API, role and log group' : 'its state, keys, secrets vault and data';
  if (!(await ctx.confirm(`destroying tenant "${id}" deletes ${what}`))) {
    throw new UserError('destroy cancelled; nothing was changed', { exitCode: ExitCode.failed });
  }
  if (ctx.globals.target === 'aws') {
    const { awsSessionFor, deferredView } = await import('../../targets/aws/command-context.js');
    const { offboardTenantOnAws } = await import('../../targets/aws/destroy.js');
    const { record, result } = await offboardTenantOnAws(state, {
      session: awsSessionFor(ctx),
      tenant: id!,
      ...(options.exportData ? { exportData: String(options.exportData) } : {}),
      forceDeleteTable: options.forceDeleteTable === true,
      view: deferredView(ctx.out, `destroy ${id}`, 'stack'),
    });
    ctx.out.result({ destroyed: record.id, stack: result.stack, existed: result.existed, exported: result.exported ?? null }, () =>
      [
        `Destroyed tenant ${record.id} (stack ${result.stack}${result.existed ? '' : ', which did not exist'}).`,
        ...(result.exported ? [`Table exported to ${result.exported.path} (${result.exported.items} items).`] : []),
        'Its history stays in the audit log.',
      ].join('\n'),
    );
    return;
  }
  if (options.exportData || options.forceDeleteTable) ctx.out.warn('--export-data and --force-delete-table apply to the aws target; the local tenant\'s data folder is removed');
  const record = await destroyTenant(state, id!);
  ctx.out.result({ destroyed: record.id }, () => `Destroyed tenant ${record.id}. Its history stays in the audit log.`);
}
