import { badInput } from '../errors.js';
import { bool, defineCommand, flag, option, optional, parsedBy, schema } from './define.js';
import { tenantId } from './fields.js';

/** `--port`: a port number, 0 for any free one (also `doctor --port`). */
export const port = parsedBy((text) => {
  if (/^\d+$/.test(text) && Number(text) <= 65535) return Number(text);
  throw badInput(`--port ${text} is not a port number`, 'pass 0–65535; 0 picks a free port');
});

/** `--idle`: `90s`, `5m`, `500ms` or plain seconds. */
const idle = parsedBy((text) => {
  const match = /^(\d+)(ms|s|m)?$/.exec(text);
  const ms = match ? Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm'] : NaN;
  if (Number.isSafeInteger(ms) && ms >= 100) return ms;
  throw badInput(`--idle ${text} is not a duration of at least 100 ms`, 'pass e.g. --idle 90s or --idle 5m (plain numbers are seconds)');
});

export default defineCommand({
  examples: [
    'sovereign dev',
    'sovereign dev --port 0 --tenant acme --tenant globex',
    'sovereign dev --demo',
    'sovereign dev --warm --idle 90s',
    'curl http://acme.localhost:4000/_sovereign/health',
  ],
  options: {
    port: option('--port <n>', 'gateway port on loopback; 0 picks a free one (default: dev.port of the config, 4000)', optional(port)),
    tenants: option('--tenant <id...>', 'serve only these tenants (repeatable)', schema((z) => z.array(tenantId(z)).optional()), { completes: 'tenant' }),
    demo: flag('--demo', 'create tenants acme and globex if missing and serve them against local fake AvaTax and Cetec servers'),
    throttle: option('--no-throttle', 'do not apply the tiers\' request rates', bool),
    idle: option('--idle <duration>', 'stop a tenant\'s execution environment after it is idle this long (default 5m)', optional(idle)),
    warm: flag('--warm', 'keep one execution environment per tenant running, started with dev (no cold start on the first request)'),
  },
  async run(ctx, input) {
    const project = ctx.project();
    ctx.target().assertServesLocally('dev');
    const port = input.port ?? project.config.dev.port;
    const { tenants } = input;

    const [{ DevServer, onParentExit }, { openDevView }, { billingGatewayRoute }, { tenantNodeNotice }] = await Promise.all([
      import('../targets/local/dev/server.js'),
      import('../targets/local/dev/view.js'),
      import('../targets/local/dev/billing-route.js'),
      import('../targets/local/dev/launch.js'),
    ]);
    let demo: import('../targets/local/dev/demo.js').DemoSetup | undefined;
    let curlLines: ((port: number) => string[]) | undefined;
    if (input.demo) {
      const { prepareDemo, demoCurlLines } = await import('../targets/local/dev/demo.js');
      demo = await prepareDemo(ctx.state(), project, ctx.globals.stage, (line) => ctx.out.info(line));
      curlLines = demoCurlLines;
    }

    // The live table opens once the result is on stdout, so the two never interleave on a terminal.
    const live = ctx.out.interactive && !ctx.out.json;
    const pending: import('../targets/local/dev/server.js').DevEvent[] = [];
    let view: import('../targets/local/dev/view.js').DevView | undefined;
    const show = (event: import('../targets/local/dev/server.js').DevEvent) => (view ? view.event(event) : pending.push(event));
    const server: import('../targets/local/dev/server.js').DevServer = new DevServer({
      project,
      port,
      tenants: tenants?.length ? tenants : undefined,
      throttle: input.throttle,
      ...(input.idle === undefined ? {} : { idleMs: input.idle }),
      warm: input.warm,
      // Stripe-compatible billing events drive suspension and offboarding, as on the control plane.
      routes: [billingGatewayRoute(project)],
      onEvent: show,
    });
    if (!live) view = await openDevView(ctx.out, () => server.gateway.statsDocument());
    // Listened for from the start: a signal while tenants still build or start stops them too.
    // The server stops at once (nothing more is built or spawned from here); the rest follows.
    const stopped = new Promise<string>((resolve) => {
      const stop = (why: string) => {
        void server.stop().catch(() => undefined);
        resolve(why);
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      onParentExit(() => stop('parent exited'));
    });
    // Children also leave on their own when this process dies (their IPC channel closes).
    process.once('exit', () => server.killAll());
    const shutDown = async (signal: string) => {
      show({ kind: 'dev stopping', fields: { signal } });
      const force = () => server.killAll();
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      // The supervisor's grace ends well before this; it is the last word on a child that hangs.
      setTimeout(force, 8000).unref();
      await server.stop();
      await demo?.close();
      if (!view) {
        view = await openDevView(ctx.out, () => undefined);
        for (const event of pending.splice(0)) view.event(event);
      }
      view.event({ kind: 'dev stopped', fields: {} });
      await view.stop();
    };
    const starting = server.start();
    starting.catch(() => undefined);
    let early: string | undefined;
    try {
      early = await Promise.race([starting.then(() => undefined), stopped]);
    } catch (error) {
      await server.stop().catch(() => undefined);
      await view?.stop();
      await demo?.close();
      throw error;
    }
    if (early !== undefined) {
      await shutDown(early);
      return;
    }
    const node = server.node!;
    const notice = tenantNodeNotice(node);
    if (notice) ctx.out.warn(notice);
    const ids = server.tenantIds();
    const { built, shared } = server.builds.counts;
    show({ kind: 'dev ready', fields: { port: server.port, tenants: ids.join(',') || '-', node: node.version, builds: built, shared_builds: shared } });
    const base = `http://localhost:${server.port}`;
    ctx.out.result(
      {
        port: server.port,
        url: base,
        pid: process.pid,
        node: { path: node.path, version: node.version, source: node.source, lambdaRuntime: node.lambdaRuntime, matches: node.matches },
        // Artifacts esbuild built, and tenants that got one already built (or in flight) instead.
        builds: { built, shared },
        // The read-only console; its token opens nothing else and ends with this run.
        console: server.console.url(),
        tenants: ids.map((id) => ({ id, url: `http://${id}.localhost:${server.port}/`, pathUrl: `${base}/t/${id}/` })) },
      () => {
        const lines = [`Serving ${ids.length} tenant(s) on ${base}  (Ctrl-C stops them all)`, `Tenant environments run on Node ${node.version} (${node.source === 'machine' ? "this machine's node" : `SOVEREIGN_DEV_NODE=${node.path}`})`];
        for (const id of ids) lines.push(`  ${id.padEnd(12)} http://${id}.localhost:${server.port}/   ${base}/t/${id}/`);
        lines.push(`Console (read-only, this run only): ${server.console.url()}`);
        if (curlLines) lines.push('Try:', ...curlLines(server.port).map((l) => `  ${l}`));
        else if (ids[0]) lines.push(`Try: curl http://${ids[0]}.localhost:${server.port}/_sovereign/health`);
        else lines.push('No tenant yet: `sovereign tenant create <id>` in another terminal starts one here (or try `sovereign dev --demo`).');
        return lines.join('\n');
      },
    );

    if (!view) {
      view = await openDevView(ctx.out, () => server.gateway.statsDocument());
      for (const event of pending.splice(0)) view.event(event);
    }
    await shutDown(await stopped);
  },
});
