import type { Command } from 'commander';
import { badInput } from '../../errors.js';
import type { CommandModule } from '../types.js';

export const examples = ['sovereign ext disable avalara --tenant acme'];

export function configure(command: Command): void {
  command.argument('<name>', 'the extension to disable').option('--tenant <id>', 'the tenant that loses it (required)');
}

export async function run(ctx: Parameters<CommandModule['run']>[0], [name]: string[], options: Record<string, unknown>): Promise<void> {
  const tenant = options.tenant as string | undefined;
  if (!tenant) throw badInput('ext disable needs --tenant <id>', `e.g. sovereign ext disable ${name} --tenant acme`);
  const { disableExtension } = await import('../../extensions/enablement.js');
  const result = await disableExtension(ctx.state(), { name: name!, tenant });
  ctx.out.result(result, () =>
    result.changed
      ? `Disabled ${name} for ${tenant}; its secret references are kept.\nDeploy to apply: sovereign tenant deploy ${tenant}`
      : `${name} was not enabled for ${tenant}; nothing changed.`,
  );
}
