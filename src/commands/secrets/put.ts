import { putSecret } from '../../secrets/put-value.js';
import { readSecretValue } from '../../secrets/value-input.js';
import { arg, defineCommand, option, text } from '../define.js';
import { refuseValuesOnArgv, secretsEnv, VALUE_OPTIONS } from './context.js';

export default defineCommand({
  examples: [
    'printf %s "$LICENSE_KEY" | sovereign secrets put ssm:/dev/tenants/acme/avalara/license_key --tenant acme --from-stdin',
    'sovereign secrets put secretsmanager:dev/tenants/acme/avalara --tenant acme --from-file avalara.json',
    'sovereign secrets put ssm:/dev/tenants/acme/cetec/api_token --tenant acme --generate 48 --json',
  ],
  arguments: { reference: arg('<reference>', 'where the value goes: ssm:<parameter-name> or secretsmanager:<secret-name>', text) },
  options: {
    tenant: option('--tenant <id>', 'the tenant whose scope the reference must lie in', text, { required: true, completes: 'tenant' }),
    ...VALUE_OPTIONS,
  },
  configure: (command) => refuseValuesOnArgv(command, 1),
  async run(ctx, { reference, tenant, fromStdin, fromFile, generate }) {
    const input = await readSecretValue({ fromStdin, fromFile, generate });
    const env = await secretsEnv(ctx, { mutating: true });
    const result = await putSecret(env, tenant, reference, input.value);
    ctx.out.result({ ...result, source: input.source }, () => {
      const what = result.outcome === 'created' ? 'Stored' : result.outcome === 'unchanged' ? 'Unchanged:' : 'Stored a new version of';
      const previous = result.previousVersionId && result.outcome !== 'unchanged' ? `; ${result.previousVersionId} is now AWSPREVIOUS` : '';
      return [`${what} ${result.target} (version ${result.versionId}${previous}).`, result.runtime.summary].join('\n');
    });
  },
});
