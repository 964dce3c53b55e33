import { formatTable } from '../../output/output.js';
import { secretHistory } from '../../secrets/history.js';
import { defineCommand } from '../define.js';
import { mappingArguments, secretsEnv } from './context.js';

export default defineCommand({
  examples: ['sovereign secrets history acme avalara.license_key', 'sovereign secrets history acme avalara.license_key --json'],
  arguments: mappingArguments,
  async run(ctx, { tenant, mapping }) {
    const env = await secretsEnv(ctx, { mutating: false });
    const result = await secretHistory(env, tenant, mapping);
    ctx.out.result(result, () => {
      const rows = result.versions.map((v) => ({ version: v.versionId, created: v.createdAt?.slice(0, 19).replace('T', ' '), by: v.createdBy, labels: v.labels }));
      return [`${result.mapping} of ${result.tenant} → ${result.reference}`, formatTable(rows, ['version', 'created', 'by', 'labels'])].join('\n');
    });
  },
});
