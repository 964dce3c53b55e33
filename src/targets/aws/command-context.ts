/** What aws commands share: the session from the resolved global options, a view opened late. */
import type { CommandContext } from '../../commands/types.js';
import { openLiveView, type LiveView } from '../../output/live.js';
import type { Output } from '../../output/output.js';
import { openAwsSession, type AwsSession } from './session.js';

export function awsSessionFor(ctx: CommandContext): AwsSession {
  const { globals } = ctx;
  return openAwsSession({ project: ctx.project().config.project, stage: globals.stage, globals, out: ctx.out });
}

/**
 * A live view that opens at its first row: lines logged before that (the change summary, the
 * approval prompt) go to stderr as plain text, so a prompt never fights a redrawing view.
 */
export function deferredView(out: Output, title: string, kind: string): LiveView {
  let view: Promise<LiveView> | undefined;
  return {
    update(row) {
      view ??= openLiveView(out, title, kind);
      void view.then((v) => v.update(row));
    },
    log(line) {
      if (view === undefined) out.info(line);
      else void view.then((v) => v.log(line));
    },
    async stop() {
      if (view !== undefined) await (await view).stop();
    },
  };
}
