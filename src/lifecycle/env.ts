/** The lifecycle environment of a command: its target's state, the project, warnings to stderr. */
import type { CommandContext } from '../commands/types.js';
import type { LifecycleEnv } from './apply.js';

export function lifecycleEnv(ctx: CommandContext): LifecycleEnv {
  const target = ctx.target();
  return { state: target.state(), project: ctx.project(), target: target.name, secretMetadata: target.secretMetadata(), warn: (message) => ctx.out.warn(message) };
}
