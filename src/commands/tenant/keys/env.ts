/** What every `tenant keys` command works with: the state, the project and the target's key store. */
import type { KeysEnv } from '../../../tenants/api-keys.js';
import type { CommandContext } from '../../types.js';

export async function keysEnv(ctx: CommandContext): Promise<KeysEnv> {
  return { state: ctx.state(), project: ctx.project(), store: await ctx.target().apiKeys() };
}

/** `never` for a key without a time (no expiry, no recorded use). */
export function timeText(iso: string | null, none: string): string {
  return iso === null ? none : iso.slice(0, 19).replace('T', ' ');
}
