import { ExitCode, UserError } from '../../errors.js';
import { defineCommand, option, optional } from '../define.js';
import { tenantId } from '../fields.js';

/**
 * Proves that no tenant's runtime policy reaches another tenant's parameters, secrets, table or
 * logs: offline on local, with IAM's policy simulator on aws.
 */
export default defineCommand({
  examples: ['sovereign verify isolation', 'sovereign verify isolation --tenant acme', 'sovereign verify isolation --target aws --json'],
  options: { only: option('--tenant <id>', 'only the checks involving this tenant (its policy, and others against its resources)', optional(tenantId), { completes: 'tenant' }) },
  async run(ctx, { only }) {
    const { formatIsolationMatrix } = await import('../../isolation/matrix.js');
    const records = (await ctx.state().listTenants()).filter((r) => r.status !== 'deleted');
    if (only !== undefined && !records.some((r) => r.id === only)) {
      throw new UserError(`tenant "${only}" does not exist`, { exitCode: ExitCode.notFound, hint: 'list tenants with `sovereign tenant list`' });
    }
    const matrix = await ctx.target().isolation(records, only ? { only } : {});
    ctx.out.result(matrix, () => {
      const head = `${matrix.checked} requests evaluated (${matrix.evaluator}) over ${matrix.tenants.length} tenant(s)`;
      return `${formatIsolationMatrix(matrix)}\n\n${head}${matrix.crossTenantAllows === 0 ? ': every cross-tenant request is denied.' : ''}`;
    });
    for (const own of matrix.ownDenied.slice(0, 5)) ctx.out.warn(`tenant ${own.tenant}'s own policy denies ${own.action} on ${own.resource}`);
    if (matrix.crossTenantAllows > 0) {
      throw new UserError(`isolation broken: ${matrix.crossTenantAllows} cross-tenant request(s) are allowed`, {
        exitCode: ExitCode.failed,
        hint: 'narrow the extension permissions or secret scopes named above; `sovereign template render <id>` shows the policy',
      });
    }
  },
});
