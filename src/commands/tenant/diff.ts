import { ExitCode } from '../../errors.js';
import { defineCommand, flag } from '../define.js';
import { idArgument } from '../fields.js';

/** Shows what `tenant deploy` would change, without changing anything. */
export default defineCommand({
  examples: ['sovereign tenant diff acme', 'sovereign tenant diff acme --target aws --exit-code', 'sovereign tenant diff acme --json'],
  arguments: { id: idArgument },
  options: { exitCode: flag('--exit-code', 'exit 6 when a deploy would change something') },
  async run(ctx, { id, exitCode }) {
    const project = ctx.project();
    const [{ requireTenant }, { buildTenant }, { formatTenantDiff }] = await Promise.all([
      import('../../tenants/tenants.js'),
      import('../../fleet/tenant-build.js'),
      import('../../targets/diff.js'),
    ]);
    const record = await requireTenant(ctx.state(), id);
    const build = await buildTenant(project, record);
    const result = await ctx.target().diff(record, build);
    ctx.out.result(result, () => formatTenantDiff(result));
    // Changes found are a result (exit 6, as `git diff --exit-code`), not an error.
    if (exitCode && result.changed) return ExitCode.changes;
  },
});
