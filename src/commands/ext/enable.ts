import type { Command } from 'commander';
import { badInput } from '../../errors.js';
import type { CommandModule } from '../types.js';

export const examples = ['sovereign ext enable avalara --tenant acme', 'sovereign ext enable avalara-cetec-sync --tenant acme --json'];

export function configure(command: Command): void {
  command.argument('<name>', 'the extension to enable').option('--tenant <id>', 'the tenant that gets it (required)');
}

export async function run(ctx: Parameters<CommandModule['run']>[0], [name]: string[], options: Record<string, unknown>): Promise<void> {
  const tenant = options.tenant as string | undefined;
  if (!tenant) throw badInput('ext enable needs --tenant <id>', `e.g. sovereign ext enable ${name} --tenant acme`);
  const project = ctx.project();
  const { enableExtension } = await import('../../extensions/enablement.js');
  const result = await enableExtension(ctx.state(), { extensionsDir: project.paths.extensions, name: name!, tenant, secretsConfig: project.config.secrets });
  ctx.out.result(result, () => {
    const lines = [result.changed ? `Enabled ${name} for ${tenant}.` : `${name} was already enabled for ${tenant}.`];
    if (result.missingSecrets.length > 0) {
      lines.push('', `It needs ${result.missingSecrets.length === 1 ? 'a secret' : 'secrets'} the tenant has not set yet:`, '');
      for (const missing of result.missingSecrets) lines.push(`  ${missing.command}`);
      lines.push('', `Then deploy: sovereign tenant deploy ${tenant}`);
    } else if (result.changed) {
      lines.push(`Deploy to apply: sovereign tenant deploy ${tenant}`);
    }
    return lines.join('\n');
  });
}
