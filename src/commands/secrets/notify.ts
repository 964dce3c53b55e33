import { ExitCode, UserError } from '../../errors.js';
import { parseReferenceForInput } from '../../secrets/shared.js';
import { requireTenant } from '../../tenants/tenants.js';
import { defineCommand, option, schema } from '../define.js';
import { secretsEnv, tenantArgument } from './context.js';

export default defineCommand({
  examples: [
    'sovereign secrets notify acme',
    'sovereign secrets notify acme --reference ssm:/dev/tenants/acme/avalara/account_id',
    'sovereign secrets notify acme --json',
  ],
  arguments: { tenant: tenantArgument },
  options: {
    references: option('--reference <ref>', 'a reference whose cached value the runtime drops (repeatable; default: every reference of the tenant)', schema((z) => z.array(z.string()).default([])), { repeatable: true }),
  },
  // A malformed reference is a usage error, found before anything is read or sent.
  refine: (input) => {
    for (const reference of input.references) parseReferenceForInput(reference);
    return input;
  },
  help: '\nSends the running tenant a rotation notice signed with its webhook secret (Standard Webhooks),\nfor a value changed outside sovereign. Nothing is written; the secret is never printed.',
  async run(ctx, { tenant, references }) {
    const env = await secretsEnv(ctx, { mutating: false });
    const record = await requireTenant(env.state, tenant);
    const targets = references.length > 0 ? references : Object.values(record.secrets ?? {}).map((s) => s.reference).sort();
    const runtime = await env.notifyRuntime(record, targets, null);
    const result = { tenant: record.id, references: targets, webhook: runtime.webhook, summary: runtime.summary };
    ctx.out.result(result, () => runtime.summary);
    if (!runtime.webhook?.acknowledged) {
      throw new UserError(`the rotation notice to ${record.id} was not acknowledged`, {
        exitCode: ExitCode.failed,
        hint: 'the tenant must be served by `sovereign dev`; elsewhere sign the notice with any Standard Webhooks library and the tenant\'s webhook secret',
      });
    }
  },
});
