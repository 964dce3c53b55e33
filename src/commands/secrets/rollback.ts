import { rollbackTenantSecret } from '../../secrets/rollback-value.js';
import { defineCommand } from '../define.js';
import { mappingArguments, secretsEnv } from './context.js';

export default defineCommand({
  examples: ['sovereign secrets rollback acme avalara.license_key', 'sovereign secrets rollback acme avalara.license_key --json'],
  arguments: mappingArguments,
  help: '\nMoves AWSCURRENT back to the AWSPREVIOUS version; the rolled-back version becomes AWSPREVIOUS.',
  async run(ctx, { tenant, mapping }) {
    const env = await secretsEnv(ctx, { mutating: true });
    const result = await rollbackTenantSecret(env, tenant, mapping);
    ctx.out.result(result, () => [
      `Rolled back ${result.mapping} of ${result.tenant}: version ${result.versionId} is AWSCURRENT again, ${result.rolledBackVersionId ?? 'none'} is AWSPREVIOUS.`,
      result.runtime.summary,
    ].join('\n'));
  },
});
