/** The deployer of a command's target, shared by `tenant deploy` and `tenant create`. */
import type { CommandContext } from './types.js';

export type DeployOne = (id: string) => Promise<{ artifact: string }>;

/**
 * On aws a change set per tenant (IAM changes approved through the command's prompt or `--yes`),
 * locally a build recorded in the tenant's history.
 */
export async function deployerFor(ctx: CommandContext, options: { log: (tenant: string, line: string) => void; command?: string }): Promise<DeployOne> {
  if (ctx.globals.target === 'aws') {
    const [{ createAwsDeployer }, { awsSessionFor }] = await Promise.all([import('../targets/aws/fleet.js'), import('../targets/aws/command-context.js')]);
    return createAwsDeployer(ctx.state(), ctx.project(), awsSessionFor(ctx), { approve: (question) => ctx.confirm(question), log: options.log });
  }
  const { createLocalDeployer } = await import('../fleet/local.js');
  return createLocalDeployer(ctx.state(), ctx.project(), options.command ? { command: options.command } : {});
}
