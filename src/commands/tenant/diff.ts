import type { Command } from 'commander';
import { ExitCode, UserError } from '../../errors.js';
import type { CommandModule } from '../types.js';

export const examples = ['sovereign tenant diff acme', 'sovereign tenant diff acme --target aws --exit-code', 'sovereign tenant diff acme --json'];

export function configure(command: Command): void {
  command.argument('<id>', 'tenant id').option('--exit-code', 'exit 6 when a deploy would change something');
}

/** Shows what `tenant deploy` would change, without changing anything. */
export async function run(ctx: Parameters<CommandModule['run']>[0], [id]: string[], options: Record<string, unknown>): Promise<void> {
  const project = ctx.project();
  const [{ requireTenant }, { buildTenant }, { formatTenantDiff }] = await Promise.all([
    import('../../tenants/tenants.js'),
    import('../../fleet/tenant-build.js'),
    import('../../targets/diff.js'),
  ]);
  const record = await requireTenant(ctx.state(), id!);
  const build = await buildTenant(project, record);
  const result = await ctx.target().diff(record, build);
  ctx.out.result(result, () => formatTenantDiff(result));
  if (options.exitCode === true && result.changed) {
    throw new UserError(`tenant "${record.id}" has changes to deploy`, { exitCode: ExitCode.changes, hint: `deploy them with \`sovereign tenant deploy ${record.id}\`` });
  }
}
