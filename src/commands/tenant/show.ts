import { requireTenant } from '../../tenants/tenants.js';
import { defineCommand } from '../define.js';
import { idArgument } from '../fields.js';

export default defineCommand({
  examples: ['sovereign tenant show acme', 'sovereign tenant show acme --json'],
  arguments: { id: idArgument },
  async run(ctx, { id }) {
    const t = await requireTenant(ctx.state(), id);
    ctx.out.result({ tenant: t }, () => {
      const secrets = Object.entries(t.secrets).map(([k, v]) => `  ${k} → ${v.reference} (set ${v.setAt.slice(0, 10)} by ${v.setBy})`);
      const deploys = t.deploys.slice(-5).map((d) => `  ${d.at.slice(0, 19)} ${d.outcome} ${d.target} ${d.artifact.slice(0, 12)} [${d.extensions.join(',')}]`);
      return [
        `tenant      ${t.id}`,
        `tier        ${t.tier}`,
        `status      ${t.status}`,
        `stage       ${t.stage}`,
        `created     ${t.createdAt} by ${t.createdBy}`,
        `extensions  ${t.extensions.join(', ') || '-'}`,
        `secrets${secrets.length ? `\n${secrets.join('\n')}` : '     -'}`,
        `deploys${deploys.length ? `\n${deploys.join('\n')}` : '     -'}`,
      ].join('\n');
    });
  },
});
