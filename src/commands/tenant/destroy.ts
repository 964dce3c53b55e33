import { requireTenant } from '../../tenants/tenants.js';
import { UserError, ExitCode } from '../../errors.js';
import { defineCommand, option, optionalText } from '../define.js';
import { forceDeleteTable, idArgument } from '../fields.js';

export default defineCommand({
  examples: [
    'sovereign tenant destroy acme',
    'sovereign tenant destroy acme --yes --json',
    'sovereign tenant destroy acme --target aws --export-data ./exports --force-delete-table --yes',
  ],
  arguments: { id: idArgument },
  options: {
    exportData: option('--export-data <dir>', 'aws: export the tenant\'s table (JSONL.gz) to <dir> before deleting anything', optionalText),
    forceDeleteTable,
  },
  async run(ctx, input) {
    const state = ctx.state();
    const { id } = input;
    await requireTenant(state, id);
    const target = ctx.target();
    if (!(await ctx.confirm(`destroying tenant "${id}" deletes ${target.destroys}`))) {
      throw new UserError('destroy cancelled; nothing was changed', { exitCode: ExitCode.failed });
    }
    const outcome = await target.destroy({
      tenant: id,
      ...(input.exportData ? { exportData: input.exportData } : {}),
      forceDeleteTable: input.forceDeleteTable,
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
  },
});
