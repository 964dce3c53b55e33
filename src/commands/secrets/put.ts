import type { Command } from 'commander';
import { putSecret } from '../../secrets/service.js';
import { readSecretValue } from '../../secrets/value-input.js';
import type { CommandModule } from '../types.js';
import { refuseValuesOnArgv, secretsEnv, VALUE_OPTIONS } from './context.js';

export const examples = [
  'printf %s "$LICENSE_KEY" | sovereign secrets put ssm:/dev/tenants/acme/avalara/license_key --tenant acme --from-stdin',
  'sovereign secrets put secretsmanager:dev/tenants/acme/avalara --tenant acme --from-file avalara.json',
  'sovereign secrets put ssm:/dev/tenants/acme/cetec/api_token --tenant acme --generate 48 --json',
];

export function configure(command: Command): void {
  command
    .argument('<reference>', 'where the value goes: ssm:<parameter-name> or secretsmanager:<secret-name>')
    .requiredOption('--tenant <id>', 'the tenant whose scope the reference must lie in')
    .option(...VALUE_OPTIONS.stdin)
    .option(...VALUE_OPTIONS.file)
    .option(...VALUE_OPTIONS.generate);
  refuseValuesOnArgv(command, 1);
}

export async function run(ctx: Parameters<CommandModule['run']>[0], [reference]: string[], options: Record<string, unknown>): Promise<void> {
  const input = await readSecretValue({
    fromStdin: options.fromStdin === true,
    ...(typeof options.fromFile === 'string' ? { fromFile: options.fromFile } : {}),
    ...(options.generate !== undefined ? { generate: options.generate as string } : {}),
  });
  const env = await secretsEnv(ctx, { mutating: true });
  const result = await putSecret(env, String(options.tenant), reference!, input.value);
  ctx.out.result({ ...result, source: input.source }, () => {
    const what = result.outcome === 'created' ? 'Stored' : result.outcome === 'unchanged' ? 'Unchanged:' : 'Stored a new version of';
    const previous = result.previousVersionId && result.outcome !== 'unchanged' ? `; ${result.previousVersionId} is now AWSPREVIOUS` : '';
    return [`${what} ${result.target} (version ${result.versionId}${previous}).`, result.runtime.summary].join('\n');
  });
}
