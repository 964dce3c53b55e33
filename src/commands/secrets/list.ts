import { formatTable } from '../../output/output.js';
import { listTenantSecrets } from '../../secrets/list.js';
import { defineCommand } from '../define.js';
import { secretsEnv, tenantArgument } from './context.js';

export default defineCommand({
  examples: ['sovereign secrets list acme', 'sovereign secrets list acme --json | jq ".secrets[].reference"'],
  arguments: { tenant: tenantArgument },
  async run(ctx, { tenant }) {
    const env = await secretsEnv(ctx, { mutating: false });
    const result = await listTenantSecrets(env, tenant);
    if (!ctx.out.json) for (const s of result.secrets) if (s.detail) ctx.out.warn(`${s.mapping}: ${s.detail}`);
    ctx.out.result(result, () => {
      if (result.secrets.length === 0) return `Tenant ${result.tenant} has no secrets yet. Map one with \`sovereign secrets set ${result.tenant} <extension>.<key> <reference>\`.`;
      const rows = result.secrets.map((s) => ({
        secret: s.mapping,
        reference: s.reference,
        version: s.versionId ? s.versionId.slice(0, 13) : s.status,
        rotated: s.lastRotatedAt ? s.lastRotatedAt.slice(0, 19).replace('T', ' ') : null,
        by: s.lastRotatedBy,
      }));
      return formatTable(rows, ['secret', 'reference', 'version', 'rotated', 'by'], { rotated: 'last rotated' });
    });
  },
});
