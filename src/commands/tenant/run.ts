import { runTenantSchedule } from '../../tenants/run-schedule.js';
import { arg, defineCommand, option, optionalText, text } from '../define.js';
import { idArgument } from '../fields.js';

export default defineCommand({
  examples: [
    'sovereign tenant run acme avalara-cetec-sync.sync',
    `sovereign tenant run acme avalara-cetec-sync.sync --payload '{"full":true}'`,
    'sovereign tenant run acme avalara-cetec-sync.sync --json',
  ],
  arguments: { id: idArgument, target: arg('<extension.schedule>', 'the schedule to run now, e.g. avalara-cetec-sync.sync', text) },
  options: { payload: option('--payload <json>', "JSON the handler receives instead of the manifest's payload", optionalText) },
  async run(ctx, { id, target, payload }) {
    const outcome = await runTenantSchedule(ctx.state(), ctx.target(), { tenant: id, target, ...(payload === undefined ? {} : { payload }) });
    const { run } = outcome;
    ctx.out.result(outcome, () => {
      if (run.status !== 'succeeded') return '';
      const result = run.result === null ? '' : `\n${JSON.stringify(run.result, null, 2)}`;
      return `${ctx.out.paint('green', '✔')} ran ${run.extension}.${run.schedule} for ${outcome.tenant} (${outcome.via}) in ${run.durationMs} ms, request ${run.requestId}${result}`;
    });
  },
});
