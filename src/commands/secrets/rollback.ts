import type { Command } from 'commander';
import { rollbackTenantSecret } from '../../secrets/service.js';
import type { CommandModule } from '../types.js';
import { secretsEnv } from './context.js';

export const examples = ['sovereign secrets rollback acme avalara.license_key', 'sovereign secrets rollback acme avalara.license_key --json'];

export function configure(command: Command): void {
  command
    .argument('<tenant>', 'tenant id')
    .argument('<extension.key>', 'e.g. avalara.license_key')
    .addHelpText('after', '\nMoves AWSCURRENT back to the AWSPREVIOUS version; the rolled-back version becomes AWSPREVIOUS.');
}

export async function run(ctx: Parameters<CommandModule['run']>[0], [tenant, mapping]: string[]): Promise<void> {
  const env = await secretsEnv(ctx, { mutating: true });
  const result = await rollbackTenantSecret(env, tenant!, mapping!);
  ctx.out.result(result, () => [
    `Rolled back ${result.mapping} of ${result.tenant}: version ${result.versionId} is AWSCURRENT again, ${result.rolledBackVersionId ?? 'none'} is AWSPREVIOUS.`,
    result.runtime.summary,
  ].join('\n'));
}
