/** `tenant suspend` and `tenant resume`: one lifecycle transition of one tenant, with an optional reason. */
import { lifecycleEnv } from '../../lifecycle/env.js';
import type { resumeTenant } from '../../lifecycle/apply.js';
import { defineCommand } from '../define.js';
import { idArgument, transitionReason } from '../fields.js';

type Transition = typeof resumeTenant;

/** The command that applies `transition` and says what it changed (`done`, from the transition's result). */
export function transitionCommand(verb: 'suspend' | 'resume', transition: Transition, done: (result: Awaited<ReturnType<Transition>>) => string) {
  return defineCommand({
    examples: [`sovereign tenant ${verb} acme`, `sovereign tenant ${verb} acme --reason "billing dispute" --json`],
    arguments: { id: idArgument },
    options: { reason: transitionReason },
    async run(ctx, { id, reason }) {
      const result = await transition(await lifecycleEnv(ctx), id, reason ? { reason } : {});
      ctx.out.result({ tenant: result.record.id, from: result.from, status: result.to, generation: result.generation }, () => done(result));
    },
  });
}
