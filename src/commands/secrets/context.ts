/** What every `secrets` command shares: the service environment of the command's target. */
import { Option, type Command } from 'commander';
import { badInput } from '../../errors.js';
import { arg, flag, option, optionalText, text } from '../define.js';
import type { SecretsEnv } from '../../secrets/shared.js';
import type { CommandContext } from '../types.js';

/** The service environment of the command's target; `mutating` prints where it writes first (aws). */
export async function secretsEnv(ctx: CommandContext, options: { mutating: boolean }): Promise<SecretsEnv> {
  const target = ctx.target();
  const plumbing = await target.secrets(options);
  return {
    project: ctx.project(),
    state: target.state(),
    backendFor: (tenant) => plumbing.storeFor(tenant),
    notifyRuntime: (tenant, targets, generation) => plumbing.notifyRuntime(tenant, targets, generation),
    warn: (message) => ctx.out.warn(message),
  };
}

/** `<tenant>`: the tenant whose secrets a command reads or writes. */
export const tenantArgument = arg('<tenant>', 'tenant id', text, 'tenant');

/** `<tenant> <extension.key>`: one secret of one tenant (`history`, `rotate`, `rollback`). */
export const mappingArguments = { tenant: tenantArgument, mapping: arg('<extension.key>', 'e.g. avalara.license_key', text) };

/** Value-source options shared by `put` and `rotate`; `readSecretValue` checks that exactly one is given. */
export const VALUE_OPTIONS = {
  fromStdin: flag('--from-stdin', 'read the value from standard input (one trailing newline is dropped)'),
  fromFile: option('--from-file <file>', 'read the value from a file (one trailing newline is dropped)', optionalText),
  generate: option('--generate <length>', 'generate a random value of this many characters (A-Z a-z 0-9)', optionalText),
};

/**
 * Refuses secret values on the command line (shell history, `ps`): extra positional arguments and
 * unknown options are refused without repeating them; only option names are shown.
 */
export function refuseValuesOnArgv(command: Command, positional: number): void {
  command
    .allowExcessArguments(true)
    .allowUnknownOption(true)
    .addOption(new Option('--value <value>', 'refused: values never travel on argv').hideHelp())
    .hook('preAction', (_parent, action) => {
      const extra = action.args.slice(positional);
      const named = action.opts<{ value?: unknown }>().value !== undefined;
      if (extra.length === 0 && !named) return;
      const options = extra.filter((arg) => arg.startsWith('-')).map((arg) => arg.split('=')[0]!);
      const unknown = options.filter((name) => name !== '--value');
      throw badInput(
        named || unknown.length < extra.length
          ? 'a secret value on the command line is refused: it would stay in shell history and process listings'
          : `unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`,
        'pass the value with --from-stdin, --from-file <file> or --generate <length>',
      );
    });
}
