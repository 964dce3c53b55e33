import { createTenant } from '../../tenants/tenants.js';
import type { Tier } from '../../config.js';
import { resolveTenantAuth } from '../../contract/auth.js';
import { TENANT_TIERS } from '../../contract/runtime-environment.js';
import { badInput, ExitCode, UserError } from '../../errors.js';
import type { CommandContext } from '../types.js';
import { arg, bool, defineCommand, oneOf, option, optional, optionalText, text } from '../define.js';

/** HTTP APIs of a tenant's stack: a tenant taking API keys has a second (its machine API, templates/tenant-api.ts). */
function httpApisOf(ctx: CommandContext, tenant: string): number {
  return resolveTenantAuth(ctx.project().config.auth, tenant).apiKeys ? 2 : 1;
}

/** Warns before this tenant pushes the fleet past a regional AWS quota. */
async function warnAboutScale(ctx: CommandContext, id: string, tier: Tier): Promise<void> {
  const tenants = (await ctx.state().listTenants()).filter((t) => t.id !== id);
  const tiers = [...tenants.map((t) => t.tier), tier] as Tier[];
  const httpApis = [...tenants.map((t) => t.id), id].reduce((sum, tenant) => sum + httpApisOf(ctx, tenant), 0);
  for (const w of await ctx.target().scaleWarnings({ tiers, httpApis })) ctx.out.warn(w.message);
}

async function deployNew(ctx: CommandContext, id: string): Promise<{ artifact: string }> {
  const deploy = await ctx.target().deployer({ log: (_tenant, line) => ctx.out.info(line), command: 'tenant create' });
  return deploy(id);
}

export default defineCommand({
  examples: [
    'sovereign tenant create acme',
    'sovereign tenant create globex --tier premium',
    'sovereign tenant create initech --no-deploy --json',
    'sovereign tenant create acme --target aws --stage prod --yes',
    'sovereign tenant create hanse --target aws --residency eu --yes',
    'sovereign tenant create umbrella --target aws --cell us-east-2 --no-deploy',
  ],
  arguments: {
    id: arg('<id>', 'tenant id: 3–28 characters of a-z, 0-9 and "-"', text),
  },
  options: {
    tier: option('--tier <tier>', 'service tier: API limits and concurrency', optional(oneOf(TENANT_TIERS))),
    cell: option('--cell <name>', 'place the tenant in this cell (aws, a cell of "cells" in the config)', optionalText),
    residency: option('--residency <label>', 'place the tenant only in a cell with this residency (aws: eu, us, …)', optionalText),
    deploy: option('--no-deploy', 'only register the tenant (provisioning); its first `sovereign tenant deploy` activates it', bool),
  },
  async run(ctx, input) {
    const project = ctx.project();
    const tier = input.tier ?? project.config.defaults.tier;
    // A first deploy that must ask, and cannot: refused before the tenant is registered.
    const asks = input.deploy ? ctx.target().firstDeployAsks : undefined;
    if (asks !== undefined && !ctx.canConfirm()) {
      throw badInput(`the first deploy of tenant "${input.id}" creates ${asks}: this needs confirmation, and there is no terminal to ask`, `pass --yes to confirm it, or create the tenant with --no-deploy and deploy it later with \`sovereign tenant deploy ${input.id} --yes\``);
    }
    const state = ctx.state();
    const record = await createTenant(state, ctx.globals.stage, {
      id: input.id,
      tier,
      extensions: project.config.defaults.extensions,
      place: () => ctx.target().placement({ tenant: input.id, tier, httpApis: httpApisOf(ctx, input.id), cell: input.cell, residency: input.residency }),
      // A configured secret-name pattern must keep every tenant's scope apart, this one's included.
      extend: async (_tx, record) => {
        // Settings its default extensions refuse would fail the tenant's cold start: refused before it is registered.
        await (await import('../../extensions/tenant-config.js')).assertEnabledSettings(project, [record]);
        if (!project.config.secrets) return;
        const { assertSecretsPatternUnambiguous } = await import('../../secrets/shared.js');
        assertSecretsPatternUnambiguous(project);
      },
    });
    // Placement checked the cell's own quotas; in the home account and region its quotas are warned about.
    const cell = record.cell;
    if (cell === undefined) await warnAboutScale(ctx, input.id, tier);
    let artifact: string | undefined;
    if (input.deploy) {
      ctx.out.info(`Deploying ${record.id} to ${ctx.globals.target}…`);
      try {
        artifact = (await deployNew(ctx, record.id)).artifact;
      } catch (error) {
        throw new UserError(`tenant "${record.id}" was created, but its first deploy failed (the tenant is marked failed): ${error instanceof Error ? error.message : String(error)}`, {
          hint: `fix the cause, then run \`sovereign tenant deploy ${record.id}\`: a successful deploy activates it`,
          exitCode: ExitCode.failed,
          cause: error,
        });
      }
    }
    // The first successful deploy moved the tenant from provisioning to active.
    const created = artifact === undefined ? record : ((await state.getTenant(record.id)) ?? record);
    ctx.out.result({ tenant: created, deployed: artifact !== undefined, artifact: artifact ?? null }, () => {
      const lines = [`Created tenant ${record.id} (tier ${record.tier}, stage ${record.stage}, ${created.status}${cell ? `, cell ${cell.name}: account ${cell.account}, region ${cell.region}` : ''}).`];
      lines.push(record.extensions.length ? `Extensions: ${record.extensions.join(', ')}` : `No extensions enabled yet: \`sovereign ext enable <name> --tenant ${record.id}\``);
      lines.push(artifact ? `Deployed artifact ${artifact.slice(0, 12)} to ${ctx.globals.target}.` : `Not deployed: \`sovereign tenant deploy ${record.id}\``);
      return lines.join('\n');
    });
  },
});
