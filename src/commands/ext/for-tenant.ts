/** `ext enable` and `ext disable`: an extension and the tenant that gains or loses it. */
import { badInput } from '../../errors.js';
import type { CommandContext } from '../types.js';
import { arg, defineCommand, option, optionalText, text } from '../define.js';

/** The declared `ext <verb> <name> --tenant <id>`; `--tenant` is required, with the command's own example as the hint. */
export function extensionForTenant(
  verb: 'enable' | 'disable',
  spec: { examples: string[]; name: string; tenant: string; run(ctx: CommandContext, input: { name: string; tenant: string }): Promise<void> },
) {
  return defineCommand({
    examples: spec.examples,
    arguments: { name: arg('<name>', spec.name, text, 'extension') },
    options: { tenant: option('--tenant <id>', spec.tenant, optionalText, { completes: 'tenant' }) },
    refine: ({ name, tenant }) => {
      if (!tenant) throw badInput(`ext ${verb} needs --tenant <id>`, `e.g. sovereign ext ${verb} ${name} --tenant acme`);
      return { name, tenant };
    },
    run: spec.run,
  });
}
