import { formatTable } from '../../output/output.js';
import { defineCommand } from '../define.js';

export default defineCommand({
  examples: ['sovereign tenant list', 'sovereign tenant list --json | jq -r ".tenants[].id"'],
  async run(ctx) {
    const tenants = await ctx.state().listTenants();
    ctx.out.result({ tenants }, () => {
      if (tenants.length === 0) return 'No tenants yet. Create one with `sovereign tenant create <id>`.';
      const rows = tenants.map((t) => ({
        id: t.id,
        tier: t.tier,
        status: t.status,
        extensions: t.extensions,
        deployed: t.deploys.at(-1)?.at.slice(0, 19).replace('T', ' '),
        created: t.createdAt.slice(0, 10),
      }));
      return formatTable(rows, ['id', 'tier', 'status', 'extensions', 'deployed', 'created']);
    });
  },
});
