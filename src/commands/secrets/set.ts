import type { Command } from 'commander';
import { setSecret } from '../../secrets/service.js';
import type { CommandModule } from '../types.js';
import { secretsEnv } from './context.js';

export const examples = [
  'sovereign secrets set acme avalara.license_key secretsmanager:dev/tenants/acme/avalara:license_key',
  'sovereign secrets set acme avalara.account_id ssm:/dev/tenants/acme/avalara/account_id --json',
];

export function configure(command: Command): void {
  command
    .argument('<tenant>', 'tenant id')
    .argument('<extension.key>', 'the extension and the secret key it declares, e.g. avalara.license_key')
    .argument('<reference>', 'ssm:<parameter-name> or secretsmanager:<secret-name>[:<json-key>[:<stage>]]')
    .addHelpText('after', '\nChecks, in order: the syntax, the tenant\'s scope, that the extension declares the key, that the\ntarget exists (and holds the JSON key). Nothing is stored unless all pass.');
}

export async function run(ctx: Parameters<CommandModule['run']>[0], [tenant, mapping, reference]: string[]): Promise<void> {
  const env = await secretsEnv(ctx, { mutating: true });
  const result = await setSecret(env, tenant!, mapping!, reference!);
  ctx.out.result(result, () => {
    const replaced = result.previousReference && result.previousReference !== result.reference ? ` (was ${result.previousReference})` : '';
    return `Set ${result.mapping} of ${result.tenant} → ${result.reference}${replaced}.`;
  });
}
