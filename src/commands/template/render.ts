import { defineCommand } from '../define.js';
import { idArgument } from '../fields.js';

/** Prints the tenant's CloudFormation template, built from its current record and extensions. */
export default defineCommand({
  examples: [
    'sovereign template render acme',
    'sovereign template render acme | jq ".Resources.RuntimeRole.Properties.Policies"',
    'sovereign template render acme --stage prod > acme.template.json',
  ],
  arguments: { id: idArgument },
  async run(ctx, { id }) {
    const project = ctx.project();
    const { requireTenant } = await import('../../tenants/tenants.js');
    const record = await requireTenant(ctx.state(), id);
    const { buildTenant } = await import('../../fleet/tenant-build.js');
    const build = await buildTenant(project, record);
    ctx.out.debug(`artifact ${build.artifact.sha256} (${build.artifact.size} bytes)`);
    ctx.out.result(build.template, () => JSON.stringify(build.template, null, 2));
  },
});
