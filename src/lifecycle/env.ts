/** The lifecycle environment of a command: its target's state, the project, warnings to stderr. */
import type { CommandContext } from '../commands/types.js';
import type { LifecycleEnv } from './apply.js';

export async function lifecycleEnv(ctx: CommandContext): Promise<LifecycleEnv> {
  const target = ctx.target();
  return { state: target.state(), project: ctx.project(), target: target.name, auditEvidence: target.auditEvidence, secretMetadata: await target.secretMetadata(), apiKeys: await target.apiKeys(), warn: (message) => ctx.out.warn(message) };
}
