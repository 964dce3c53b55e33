import type { Command } from 'commander';
import { badInput } from '../../errors.js';
import { rotateTenantSecret } from '../../secrets/service.js';
import { readSecretValue } from '../../secrets/value-input.js';
import type { CommandModule } from '../types.js';
import { refuseValuesOnArgv, secretsEnv, VALUE_OPTIONS } from './context.js';

export const examples = [
  'sovereign secrets rotate acme avalara.license_key --from-file new-license.txt',
  'sovereign secrets rotate acme cetec.api_token --generate 48 --json',
  'sovereign secrets rotate acme avalara.license_key --resume',
];

export function configure(command: Command): void {
  command
    .argument('<tenant>', 'tenant id')
    .argument('<extension.key>', 'e.g. avalara.license_key')
    .option(...VALUE_OPTIONS.stdin)
    .option(...VALUE_OPTIONS.file)
    .option(...VALUE_OPTIONS.generate)
    .option('--rotation-id <id>', 'names this rotation: retrying with the same id and value writes nothing twice')
    .option('--resume', 'complete an interrupted rotation (its AWSPENDING version becomes current)')
    .option('--abort', 'discard an interrupted rotation (its AWSPENDING version is dropped)')
    .addHelpText('after', '\nThe new version goes in as AWSPENDING, becomes AWSCURRENT, and the old one stays as AWSPREVIOUS.\nThen the running tenant is told (signed webhook); no redeploy is needed.');
  refuseValuesOnArgv(command, 2);
}

export async function run(ctx: Parameters<CommandModule['run']>[0], [tenant, mapping]: string[], options: Record<string, unknown>): Promise<void> {
  const resume = options.resume === true;
  const abort = options.abort === true;
  const valueGiven = options.fromStdin === true || options.fromFile !== undefined || options.generate !== undefined;
  if ((resume || abort) && (valueGiven || (resume && abort))) {
    throw badInput('--resume and --abort take no value and exclude each other', 'use one of them alone, or give a new value to rotate');
  }
  let action: Parameters<typeof rotateTenantSecret>[3];
  if (resume) action = { resume: true };
  else if (abort) action = { abort: true };
  else {
    const input = await readSecretValue({
      fromStdin: options.fromStdin === true,
      ...(typeof options.fromFile === 'string' ? { fromFile: options.fromFile } : {}),
      ...(options.generate !== undefined ? { generate: options.generate as string } : {}),
    });
    action = { value: input.value, ...(typeof options.rotationId === 'string' ? { rotationId: options.rotationId } : {}) };
  }
  const env = await secretsEnv(ctx, { mutating: true });
  const result = await rotateTenantSecret(env, tenant!, mapping!, action);
  ctx.out.result(result, () => {
    const line = {
      rotated: `Rotated ${result.mapping} of ${result.tenant}: version ${result.versionId} is AWSCURRENT, ${result.previousVersionId ?? 'none'} is AWSPREVIOUS.`,
      resumed: `Completed the interrupted rotation of ${result.mapping} of ${result.tenant}: version ${result.versionId} is AWSCURRENT, ${result.previousVersionId ?? 'none'} is AWSPREVIOUS.`,
      unchanged: `${result.mapping} of ${result.tenant} already has this value (version ${result.versionId}); nothing changed.`,
      aborted: `Discarded the interrupted rotation of ${result.mapping} of ${result.tenant}; version ${result.versionId} stays AWSCURRENT.`,
    }[result.outcome];
    return [line, result.runtime.summary].join('\n');
  });
}
