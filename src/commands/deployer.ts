/** The deployer of a command's target, shared by `tenant deploy` and `tenant create`. */
import type { DeployOne } from '../targets/target.js';
import type { CommandContext } from './types.js';

export type { DeployOne };

/**
 * On aws a change set per tenant (IAM changes approved through the command's prompt or `--yes`),
 * locally a build recorded in the tenant's history.
 */
export function deployerFor(ctx: CommandContext, options: { log: (tenant: string, line: string) => void; command?: string }): Promise<DeployOne> {
  return ctx.target().deployer(options);
}
