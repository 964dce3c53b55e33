import { formatTopTable } from '../telemetry/format.js';
import { topSnapshot } from '../telemetry/top.js';
import { badInput } from '../errors.js';
import { defineCommand, option, parsedBy } from './define.js';
import { windowMinutes } from './fields.js';

const interval = parsedBy((text) => {
  const seconds = Number(text);
  if (Number.isFinite(seconds) && seconds >= 0.2) return seconds;
  throw badInput(`--interval ${text} is not a number of seconds ≥ 0.2`);
});

export default defineCommand({
  examples: ['sovereign top', 'sovereign top --minutes 5', 'sovereign top --json', 'sovereign top | grep suspended'],
  options: {
    seconds: option('--interval <seconds>', 'refresh interval of the live dashboard (at least 0.2)', interval, { default: '1' }),
    minutes: windowMinutes,
  },
  async run(ctx, { seconds, minutes }) {
    const state = ctx.state();
    const source = ctx.target().telemetry();
    const next = () => topSnapshot(state, source, new Date(), { minutes });
    if (ctx.out.interactive && !ctx.globals.json) {
      const { runTopDashboard } = await import('../telemetry/top-ink.js');
      await runTopDashboard(ctx.out, next, seconds * 1000);
      return;
    }
    const snapshot = await next();
    if (snapshot.message && !ctx.globals.json) ctx.out.warn(snapshot.message);
    ctx.out.result(snapshot, () => formatTopTable(snapshot.tenants));
  },
});
