import { badInput } from '../../errors.js';
import { rotateTenantSecret } from '../../secrets/rotate-value.js';
import { readSecretValue } from '../../secrets/value-input.js';
import { defineCommand, flag, option, optionalText } from '../define.js';
import { mappingArguments, refuseValuesOnArgv, secretsEnv, VALUE_OPTIONS } from './context.js';

export default defineCommand({
  examples: [
    'sovereign secrets rotate acme avalara.license_key --from-file new-license.txt',
    'sovereign secrets rotate acme cetec.api_token --generate 48 --json',
    'sovereign secrets rotate acme avalara.license_key --resume',
  ],
  arguments: mappingArguments,
  options: {
    ...VALUE_OPTIONS,
    rotationId: option('--rotation-id <id>', 'names this rotation: retrying with the same id and value writes nothing twice', optionalText),
    resume: flag('--resume', 'complete an interrupted rotation (its AWSPENDING version becomes current)'),
    abort: flag('--abort', 'discard an interrupted rotation (its AWSPENDING version is dropped)'),
  },
  help: '\nThe new version goes in as AWSPENDING, becomes AWSCURRENT, and the old one stays as AWSPREVIOUS.\nThen the running tenant is told (signed webhook); no redeploy is needed.',
  configure: (command) => refuseValuesOnArgv(command, 2),
  // A rotation takes a new value, or finishes (--resume) or discards (--abort) an interrupted one.
  refine: ({ resume, abort, fromStdin, fromFile, generate, ...rest }) => {
    const valueGiven = fromStdin || fromFile !== undefined || generate !== undefined;
    if ((resume || abort) && (valueGiven || (resume && abort))) {
      throw badInput('--resume and --abort take no value and exclude each other', 'use one of them alone, or give a new value to rotate');
    }
    const action = resume ? ('resume' as const) : abort ? ('abort' as const) : ('rotate' as const);
    return { ...rest, action, value: { fromStdin, fromFile, generate } };
  },
  async run(ctx, { tenant, mapping, action: requested, value, rotationId }) {
    let action: Parameters<typeof rotateTenantSecret>[3];
    if (requested === 'resume') action = { resume: true };
    else if (requested === 'abort') action = { abort: true };
    else {
      const input = await readSecretValue(value);
      action = { value: input.value, ...(rotationId === undefined ? {} : { rotationId }) };
    }
    const env = await secretsEnv(ctx, { mutating: true });
    const result = await rotateTenantSecret(env, tenant, mapping, action);
    ctx.out.result(result, () => {
      const line = {
        rotated: `Rotated ${result.mapping} of ${result.tenant}: version ${result.versionId} is AWSCURRENT, ${result.previousVersionId ?? 'none'} is AWSPREVIOUS.`,
        resumed: `Completed the interrupted rotation of ${result.mapping} of ${result.tenant}: version ${result.versionId} is AWSCURRENT, ${result.previousVersionId ?? 'none'} is AWSPREVIOUS.`,
        unchanged: `${result.mapping} of ${result.tenant} already has this value (version ${result.versionId}); nothing changed.`,
        aborted: `Discarded the interrupted rotation of ${result.mapping} of ${result.tenant}; version ${result.versionId} stays AWSCURRENT.`,
      }[result.outcome];
      return [line, result.runtime.summary].join('\n');
    });
  },
});
