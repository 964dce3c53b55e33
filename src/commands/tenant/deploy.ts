import { ExitCode, UserError } from '../../errors.js';
import { arg, defineCommand, flag, option, optional, optionalText, schema } from '../define.js';
import { wholeNumber } from '../fields.js';

export default defineCommand({
  examples: [
    'sovereign tenant deploy acme',
    'sovereign tenant deploy --all --concurrency 20',
    'sovereign tenant deploy --wave acme --wave globex,initech --wave rest --max-failures 2',
    'sovereign tenant deploy --all --shard 2/4 --json > report.json',
  ],
  arguments: {
    ids: arg('[id...]', 'tenants to deploy', schema((z) => z.array(z.string())), 'tenant'),
  },
  options: {
    all: flag('--all', 'deploy every tenant'),
    concurrency: option('--concurrency <n>', 'tenants deployed at once', wholeNumber('--concurrency', 1), { default: '10' }),
    waves: option('--wave <ids>', 'a wave of comma-separated tenant ids, or "rest" (repeatable, in order)', schema((z) => z.array(z.string()).default([])), { repeatable: true }),
    shard: option('--shard <i/n>', 'deploy only shard i of n (stable split for parallel CI jobs)', optionalText),
    maxFailures: option('--max-failures <n>', 'stop starting tenants once more than n have failed', optional(wholeNumber('--max-failures', 0))),
  },
  async run(ctx, { ids, all, concurrency, waves, shard, maxFailures }) {
    const state = ctx.state();
    // The deployed IAM policy grants the pattern's names: it must keep every tenant's apart.
    const project = ctx.project();
    if (project.config.secrets) (await import('../../secrets/shared.js')).assertSecretsPatternUnambiguous(project);
    const { planFleetDeploy } = await import('../../fleet/plan.js');
    const records = await state.listTenants();
    const known = records.map((t) => t.id);
    const plan = planFleetDeploy({
      known,
      ids,
      all,
      waves,
      ...(shard === undefined ? {} : { shard }),
    });

    const [{ runFleet }, { openLiveView }, { summarizeFleet, showFleetEvent }] = await Promise.all([
      import('../../fleet/run.js'),
      import('../../output/live.js'),
      import('../../fleet/report.js'),
    ]);
    const target = ctx.target().name;
    const planned = new Set(plan.waves.flatMap((w) => w.tenants));
    ctx.target().checkDeployPlan(records.filter((t) => planned.has(t.id)));
    // Settings an extension refuses would fail its cold start: refused here, before any tenant is touched.
    await (await import('../../extensions/tenant-config.js')).assertEnabledSettings(project, records.filter((t) => planned.has(t.id)));
    const shardText = plan.shard ? ` (shard ${plan.shard.index}/${plan.shard.count})` : '';
    ctx.out.info(`Deploying ${plan.total} tenant(s) to ${target}, stage ${ctx.globals.stage}${shardText}, ${plan.waves.length} wave(s), concurrency ${concurrency}`);
    const view = await openLiveView(ctx.out, 'tenant deploy', 'deploy');
    const deployOne = await ctx.target().deployer({ log: (tenant, line) => view.log(`${tenant}: ${line}`) });
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    let report;
    try {
      report = await runFleet({
        plan,
        concurrency,
        ...(maxFailures === undefined ? {} : { maxFailures }),
        signal: abort.signal,
        deployOne,
        onEvent: (event) => showFleetEvent(view, event, plan.waves.length),
      });
    } finally {
      process.removeListener('SIGINT', onSignal);
      await view.stop();
    }
    const summary = summarizeFleet(report, { target, stage: ctx.globals.stage, plan });
    ctx.out.result(summary.json, () => summary.text);
    if (report.failed > 0 || report.skipped > 0) {
      throw new UserError(`${report.failed} tenant(s) failed and ${report.skipped} were skipped of ${report.total}`, {
        hint: report.failed > 0 ? `see \`sovereign tenant show <id>\` for each failed tenant's last deploy` : undefined,
        exitCode: ExitCode.failed,
      });
    }
  },
});
