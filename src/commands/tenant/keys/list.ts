import { formatTable } from '../../../output/output.js';
import { listApiKeys } from '../../../tenants/api-keys.js';
import { defineCommand } from '../../define.js';
import { idArgument } from '../../fields.js';
import { keysEnv, timeText } from './env.js';

export default defineCommand({
  examples: ['sovereign tenant keys list acme', 'sovereign tenant keys list acme --json | jq -r \'.keys[] | select(.status == "active") | .name\''],
  arguments: { id: idArgument },
  async run(ctx, { id }) {
    const { tenant, keys } = await listApiKeys(await keysEnv(ctx), id);
    ctx.out.result({ tenant, keys }, () => {
      if (keys.length === 0) return `Tenant ${tenant} has no API keys. Create one with \`sovereign tenant keys create ${tenant} --name <name>\`.`;
      const rows = keys.map((k) => ({
        name: k.name,
        id: k.id,
        scopes: k.scopes,
        created: `${timeText(k.createdAt, '-')} by ${k.createdBy}`,
        lastUsed: timeText(k.lastUsedAt, 'never'),
        expires: timeText(k.expiresAt, 'never'),
        status: k.status,
      }));
      return formatTable(rows, ['name', 'id', 'scopes', 'created', 'lastUsed', 'expires', 'status'], { lastUsed: 'last used' });
    });
  },
});
