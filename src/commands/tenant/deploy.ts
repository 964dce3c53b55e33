import { Option, type Command } from 'commander';
import { badInput, ExitCode, UserError } from '../../errors.js';
import type { CommandModule } from '../types.js';
import { deployerFor } from '../deployer.js';

export const examples = [
  'sovereign tenant deploy acme',
  'sovereign tenant deploy --all --concurrency 20',
  'sovereign tenant deploy --wave acme --wave globex,initech --wave rest --max-failures 2',
  'sovereign tenant deploy --all --shard 2/4 --json > report.json',
];

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function configure(command: Command): void {
  command
    .argument('[id...]', 'tenants to deploy')
    .option('--all', 'deploy every tenant')
    .addOption(new Option('--concurrency <n>', 'tenants deployed at once').default('10'))
    .addOption(new Option('--wave <ids>', 'a wave of comma-separated tenant ids, or "rest" (repeatable, in order)').argParser(collect))
    .addOption(new Option('--shard <i/n>', 'deploy only shard i of n (stable split for parallel CI jobs)'))
    .addOption(new Option('--max-failures <n>', 'stop starting tenants once more than n have failed'));
}

function positiveInteger(flag: string, value: unknown, min: number): number {
  const text = String(value);
  if (!/^\d+$/.test(text) || Number(text) < min) throw badInput(`${flag} ${text} is not a whole number ≥ ${min}`);
  return Number(text);
}

export async function run(ctx: Parameters<CommandModule['run']>[0], ids: string[], options: Record<string, unknown>): Promise<void> {
  const concurrency = positiveInteger('--concurrency', options.concurrency ?? '10', 1);
  const maxFailures = options.maxFailures === undefined ? undefined : positiveInteger('--max-failures', options.maxFailures, 0);
  const state = ctx.state();
  const { planFleetDeploy } = await import('../../fleet/plan.js');
  const records = await state.listTenants();
  const known = records.map((t) => t.id);
  const plan = planFleetDeploy({
    known,
    ids,
    all: options.all === true,
    waves: (options.wave as string[] | undefined) ?? [],
    ...(options.shard === undefined ? {} : { shard: String(options.shard) }),
  });

  const [{ runFleet }, { openLiveView }, { summarizeFleet, showFleetEvent }] = await Promise.all([
    import('../../fleet/run.js'),
    import('../../output/live.js'),
    import('../../fleet/report.js'),
  ]);
  const target = ctx.target().name;
  const planned = new Set(plan.waves.flatMap((w) => w.tenants));
  ctx.target().checkDeployPlan(records.filter((t) => planned.has(t.id)));
  const shardText = plan.shard ? ` (shard ${plan.shard.index}/${plan.shard.count})` : '';
  ctx.out.info(`Deploying ${plan.total} tenant(s) to ${target}, stage ${ctx.globals.stage}${shardText}, ${plan.waves.length} wave(s), concurrency ${concurrency}`);
  const view = await openLiveView(ctx.out, 'tenant deploy', 'deploy');
  const deployOne = await deployerFor(ctx, { log: (tenant, line) => view.log(`${tenant}: ${line}`) });
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
}
