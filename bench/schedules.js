/**
 * Schedules: what dispatching a scheduled event costs next to a route request through the same
 * warm runtime (the scheduled path adds a context and two log lines), what the marker check costs
 * every HTTP request (a property read: measured as the route request itself, against a bare
 * handler in the same run), and how long dev's scheduler takes to find the next fire time of a
 * rate, a daily cron and the rarest cron (29 February: a four-year scan).
 *
 * Run alone: `npx tsc -p tsconfig.build.json && node bench/schedules.js` (prints its section).
 * Medians of batches; ratios against baselines measured in the same run.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpus } from 'node:os';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const load = (path, dist = join(repo, 'dist')) => import(pathToFileURL(join(dist, path)).href);
/** A build of the commit before schedules (`BENCH_SCHEDULES_BASELINE=<its dist>`): the route request without the check. */
const baselineDist = process.env.BENCH_SCHEDULES_BASELINE;

/** Median ns per call of `fn` over `batches` batches of `size` calls (awaited when it returns a promise). */
async function medianNs(fn, { batches = 25, size = 2000 } = {}) {
  for (let i = 0; i < size; i++) await fn();
  const samples = [];
  for (let b = 0; b < batches; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < size; i++) await fn();
    samples.push(Number(process.hrtime.bigint() - start) / size);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

/** A warm runtime of `dist` serving one public route and one schedule. */
async function warmHandler(dist) {
  const [{ createLambdaHandler }, { runtimeEnvironment }, { createMemorySecretFetcher }] = await Promise.all([
    load('runtime/index.js', dist), load('contract/runtime-environment.js', dist), load('runtime/secrets/memory.js', dist),
  ]);
  const manifest = {
    name: 'bench', version: '1.0.0', description: 'bench',
    routes: [{ method: 'GET', path: '/ping', handler: 'work', auth: 'public' }],
    schedules: [{ name: 'tick', expression: 'rate(15 minutes)', handler: 'work#tick' }],
  };
  const handlers = { work: { handler: async () => ({ ok: true }), tick: async () => ({ ok: true }) } };
  const webhookSecret = 'ssm:/bench/tenants/acme/_sovereign/webhook_secret';
  const handler = createLambdaHandler([{ name: 'bench', load: async () => ({ manifest, handlers }) }], {
    env: runtimeEnvironment({
      tenant: 'acme', stage: 'bench', tier: 'standard', table: 'sovereign-bench-acme', artifact: 'bench',
      tenantConfig: { extensions: ['bench'], secrets: {}, config: {}, webhookSecret },
      secretsBackend: { kind: 'aws' }, generationSource: { kind: 'dynamodb' },
      tuning: { SOVEREIGN_GENERATION_INTERVAL_MS: '3600000', SOVEREIGN_LOG_LEVEL: 'info' },
    }),
    secretBackend: createMemorySecretFetcher({ [webhookSecret]: 'x' }),
    generationReader: async () => ({ generation: 0, suspended: false, references: {}, updatedAt: new Date(0).toISOString() }),
    write: () => undefined,
  });
  await handler.runtime;
  return handler;
}

export async function runSchedulesBench() {
  const [{ scheduledEvent }, expressions] = await Promise.all([load('contract/schedules.js'), load('contract/schedule-expression.js')]);
  const handler = await warmHandler(join(repo, 'dist'));
  const baseline = baselineDist ? await warmHandler(baselineDist) : undefined;
  const http = { version: '2.0', routeKey: '$default', rawPath: '/bench/ping', rawQueryString: '', headers: { host: 'x' }, requestContext: { requestId: 'r', http: { method: 'GET', path: '/bench/ping', sourceIp: '127.0.0.1' } }, isBase64Encoded: false };
  const scheduled = scheduledEvent('bench', 'tick');
  const ok = await handler(scheduled, { awsRequestId: 'b' });
  if (ok.status !== 'succeeded') throw new Error(`the scheduled run did not succeed: ${JSON.stringify(ok)}`);
  const answer = await handler(http, {});
  if (answer.statusCode !== 200) throw new Error(`the route answered ${answer.statusCode}`);
  const bare = async () => ({ statusCode: 200, body: '{"ok":true}' });

  const bareNs = await medianNs(() => bare(http));
  const routeNs = await medianNs(() => handler(http, {}));
  const baseRouteNs = baseline ? await medianNs(() => baseline(http, {})) : undefined;
  const scheduleNs = await medianNs(() => handler(scheduled, { awsRequestId: 'b' }));

  const after = Date.parse('2026-12-07T12:00:00Z');
  const rate = expressions.parseScheduleExpression('rate(15 minutes)').expression;
  const daily = expressions.parseScheduleExpression('cron(0 2 * * ? *)').expression;
  const leap = expressions.parseScheduleExpression('cron(0 0 29 FEB ? *)').expression;
  const rateNs = await medianNs(() => expressions.nextFireTime(rate, after, after - 3_600_000), { size: 20_000 });
  const dailyNs = await medianNs(() => expressions.nextFireTime(daily, after), { size: 2000 });
  const leapNs = await medianNs(() => expressions.nextFireTime(leap, after), { batches: 9, size: 50 });

  const us = (ns) => (ns / 1000).toFixed(2);
  return [
    `## Schedules: dispatch and next fire times (${new Date().toISOString().slice(0, 10)})`,
    '',
    `\`node bench/schedules.js\` on ${cpus().length} cores, Node ${process.version}; medians of 25 batches, one warm runtime, logs discarded.`,
    '',
    '| what | median per call | ratio |',
    '|---|---|---|',
    `| bare async handler (baseline) | ${us(bareNs)} µs | 1.00× |`,
    `| route request through the runtime (includes the scheduled-event check) | ${us(routeNs)} µs | ${(routeNs / bareNs).toFixed(2)}× bare |`,
    ...(baseRouteNs === undefined ? [] : [`| the same route request, runtime before schedules (no check) | ${us(baseRouteNs)} µs | this branch: ${(routeNs / baseRouteNs).toFixed(2)}× it |`]),
    `| scheduled event through the runtime (context, start and finish log lines) | ${us(scheduleNs)} µs | ${(scheduleNs / routeNs).toFixed(2)}× the route request |`,
    `| next fire of \`rate(15 minutes)\` | ${us(rateNs)} µs | 1.00× |`,
    `| next fire of \`cron(0 2 * * ? *)\` | ${us(dailyNs)} µs | ${(dailyNs / rateNs).toFixed(0)}× the rate |`,
    `| next fire of \`cron(0 0 29 FEB ? *)\` (scans to 2028-02-29) | ${us(leapNs)} µs | ${(leapNs / rateNs).toFixed(0)}× the rate |`,
    '',
    `The check that keeps HTTP events off the scheduled path is one property read of the event's top level; it is inside the route figure${baseRouteNs === undefined ? '' : ', and the runtime of the commit before schedules (BENCH_SCHEDULES_BASELINE, loaded in the same process) serves the same request at the ratio shown'}. Dev's scheduler computes a next fire time once per fire, so even the four-year scan is paid once per four years of that schedule.`,
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(`${await runSchedulesBench()}\n`);
