import { setSecret } from '../../secrets/set-reference.js';
import { arg, defineCommand, text } from '../define.js';
import { secretsEnv, tenantArgument } from './context.js';

export default defineCommand({
  examples: [
    'sovereign secrets set acme avalara.license_key secretsmanager:dev/tenants/acme/avalara:license_key',
    'sovereign secrets set acme avalara.account_id ssm:/dev/tenants/acme/avalara/account_id --json',
  ],
  arguments: {
    tenant: tenantArgument,
    mapping: arg('<extension.key>', 'the extension and the secret key it declares, e.g. avalara.license_key', text),
    reference: arg('<reference>', 'ssm:<parameter-name> or secretsmanager:<secret-name>[:<json-key>[:<stage>]]', text),
  },
  help: '\nChecks, in order: the syntax, the tenant\'s scope, that the extension declares the key, that the\ntarget exists (and holds the JSON key). Nothing is stored unless all pass.',
  async run(ctx, { tenant, mapping, reference }) {
    const env = await secretsEnv(ctx, { mutating: true });
    const result = await setSecret(env, tenant, mapping, reference);
    ctx.out.result(result, () => {
      const replaced = result.previousReference && result.previousReference !== result.reference ? ` (was ${result.previousReference})` : '';
      return `Set ${result.mapping} of ${result.tenant} → ${result.reference}${replaced}.`;
    });
  },
});
