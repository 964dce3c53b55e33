import { Option, type Command } from 'commander';
import { createTenant } from '../../tenants/tenants.js';
import { tierSchema } from '../../config.js';
import type { CommandModule } from '../types.js';

export const examples = ['sovereign tenant create acme', 'sovereign tenant create globex --tier premium', 'sovereign tenant create initech --no-deploy --json'];

export function configure(command: Command): void {
  command
    .argument('<id>', 'tenant id: 3–28 characters of a-z, 0-9 and "-"')
    .addOption(new Option('--tier <tier>', 'service tier: API limits and concurrency').choices(tierSchema.options))
    .option('--no-deploy', 'only register the tenant; deploy later with `sovereign tenant deploy`');
}

export async function run(ctx: Parameters<CommandModule['run']>[0], [id]: string[], options: Record<string, unknown>): Promise<void> {
  const project = ctx.project();
  const tier = (options.tier as string | undefined) ?? project.config.defaults.tier;
  const record = await createTenant(ctx.state(), ctx.globals.stage, {
    id: id!,
    tier: tierSchema.parse(tier),
    extensions: project.config.defaults.extensions,
  });
  ctx.out.result({ tenant: record }, () => {
    const lines = [`Created tenant ${record.id} (tier ${record.tier}, stage ${record.stage}).`];
    lines.push(record.extensions.length ? `Extensions: ${record.extensions.join(', ')}` : 'No extensions enabled yet: `sovereign ext enable <name> --tenant ' + record.id + '`');
    return lines.join('\n');
  });
}
