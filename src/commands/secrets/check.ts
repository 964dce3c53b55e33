import { ExitCode, UserError } from '../../errors.js';
import { formatTable } from '../../output/output.js';
import { checkTenantSecrets } from '../../secrets/check.js';
import { defineCommand } from '../define.js';
import { secretsEnv, tenantArgument } from './context.js';

export default defineCommand({
  examples: ['sovereign secrets check acme', 'sovereign secrets check acme --json'],
  arguments: { tenant: tenantArgument },
  help: '\nResolves every reference of the tenant (version stage and JSON key included) without printing\nvalues: ok / missing / denied / key-missing / unset. A vault older than the generation recorded\nin the registry or the audit log is reported as a rollback. Exits 1 when any is not ok.',
  async run(ctx, { tenant }) {
    const env = await secretsEnv(ctx, { mutating: false });
    const result = await checkTenantSecrets(env, tenant);
    ctx.out.result(result, () => {
      const problems = result.problems.map((problem) => `${problem.code}: ${problem.detail}`);
      if (result.secrets.length === 0) return [...problems, `Tenant ${result.tenant} has no secrets to check.`].join('\n');
      return [...problems, ...(problems.length > 0 ? [''] : [])].join('\n') + formatTable(result.secrets.map((s) => ({ secret: s.mapping, status: s.status, reference: s.reference, detail: s.status === 'ok' ? null : s.detail })),
        ['secret', 'status', 'reference', 'detail']);
    });
    const [problem] = result.problems;
    if (problem) {
      throw new UserError(`the vault of ${result.tenant} is rolled back: generation ${problem.generation}, recorded ${problem.recorded} (${problem.recordedIn.join(', ')})`, {
        hint: 'restore the newest copy of the vault; nothing was read from or written to it',
        exitCode: ExitCode.failed,
      });
    }
    if (!result.ok) {
      const failing = result.secrets.filter((s) => s.status !== 'ok').length;
      // The table (or JSON) is already on stdout; the error line names the count only.
      throw new UserError(`${failing} secret${failing === 1 ? '' : 's'} of ${result.tenant} did not resolve`, { exitCode: ExitCode.failed });
    }
  },
});
