/** The lifecycle environment of a command: its state, project and target, warnings to stderr. */
import type { CommandContext } from '../commands/types.js';
import type { LifecycleEnv } from './apply.js';

export function lifecycleEnv(ctx: CommandContext): LifecycleEnv {
  return { state: ctx.state(), project: ctx.project(), target: ctx.globals.target, warn: (message) => ctx.out.warn(message) };
}
