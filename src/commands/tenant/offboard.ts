import { runDueOffboardings } from '../../billing/webhook.js';
import { badInput, ExitCode, UserError } from '../../errors.js';
import { lifecycleEnv } from '../../lifecycle/env.js';
import { offboardTenant } from '../../lifecycle/offboard.js';
import { requireTenant } from '../../tenants/tenants.js';
import { arg, defineCommand, flag, option, optionalText } from '../define.js';
import { forceDeleteTable } from '../fields.js';

export default defineCommand({
  examples: [
    'sovereign tenant offboard acme --yes',
    'sovereign tenant offboard acme --out retention/acme --reason "contract ended" --json --yes',
    'sovereign tenant offboard --due --yes',
    'sovereign tenant offboard acme --target aws --force-delete-table --yes',
  ],
  arguments: { id: arg('[id]', 'tenant id', optionalText, 'tenant') },
  options: {
    out: option('--out <dir>', 'retention folder for the data export, audit bundle and deletion certificate (default .sovereign/retention/<id>-<time>/)', optionalText),
    reason: option('--reason <text>', 'why, recorded in the certificate and the audit log', optionalText),
    due: flag('--due', 'offboard every tenant whose billing grace period is over'),
    forceDeleteTable,
  },
  // Either one tenant or every tenant that is due.
  refine: ({ id, due, ...rest }) => {
    if (due && id) throw badInput('pass a tenant id or --due, not both');
    if (due) return { due: true as const, ...rest };
    if (!id) throw badInput('a tenant id is required', 'e.g. sovereign tenant offboard acme --yes, or --due');
    return { due: false as const, id, ...rest };
  },
  async run(ctx, input) {
    const env = await lifecycleEnv(ctx);
    const target = await ctx.target().offboarding({ forceDeleteTable: input.forceDeleteTable });
    const onStep = (tenant: string) => (step: string, detail?: string) => ctx.out.event('offboard', { tenant, step, detail });
    if (input.due) {
      if (!(await ctx.confirm('offboarding exports, then deletes every tenant whose grace period is over'))) throw new UserError('offboarding cancelled; nothing was changed');
      const results = await runDueOffboardings({
        state: env.state,
        project: env.project,
        target: env.target,
        log: (line) => ctx.out.info(line),
        offboard: (tenant) => offboardTenant(env, { tenant, reason: 'billing: subscription ended and its grace period is over', target, onStep: onStep(tenant) }),
      });
      ctx.out.result({ offboarded: results }, () => (results.length === 0 ? 'No tenant is due for offboarding.' : results.map((r) => `${r.tenant}: ${r.ok ? 'offboarded' : `failed — ${r.error ?? ''}`}`).join('\n')));
      if (results.some((r) => !r.ok)) throw new UserError(`${results.filter((r) => !r.ok).length} offboarding(s) failed`, { exitCode: ExitCode.failed });
      return;
    }
    const { id } = input;
    await requireTenant(env.state, id);
    if (!(await ctx.confirm(`offboarding "${id}" exports its data and audit bundle, then deletes its state, keys, vault and data`))) {
      throw new UserError('offboarding cancelled; nothing was changed', { exitCode: ExitCode.failed });
    }
    const result = await offboardTenant(env, {
      tenant: id,
      target,
      ...(input.out === undefined ? {} : { outDir: input.out }),
      ...(input.reason === undefined ? {} : { reason: input.reason }),
      onStep: onStep(id),
    });
    ctx.out.result(result, () =>
      [
        `Offboarded tenant ${result.tenant}; kept in ${result.dir}:`,
        `  data export        ${result.dataExport.path} (${result.dataExport.items} item(s), sha256 ${result.dataExport.sha256})`,
        `  audit bundle       ${result.auditBundle.path} (sha256 ${result.auditBundle.sha256})`,
        `  certificate        ${result.certificate.path}`,
        `Check it with: sovereign tenant certificate-verify ${result.certificate.path} --key .sovereign/keys/_signing.pub`,
      ].join('\n'),
    );
  },
});
