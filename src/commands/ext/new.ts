import type { Command } from 'commander';
import { scaffoldExtension } from '../../extensions/scaffold.js';
import type { CommandModule } from '../types.js';

export const examples = ['sovereign ext new shipping-rates', 'sovereign ext new crm-sync --json'];

export function configure(command: Command): void {
  command.argument('<name>', 'extension name: 2–40 characters of a-z, 0-9 and "-"');
}

export async function run(ctx: Parameters<CommandModule['run']>[0], [name]: string[]): Promise<void> {
  const project = ctx.project();
  const result = scaffoldExtension({ extensionsDir: project.paths.extensions, name: name!, projectDir: project.root });
  ctx.out.result({ extension: result.name, dir: result.dir, files: result.files, nextSteps: result.nextSteps }, () => result.nextSteps);
}
