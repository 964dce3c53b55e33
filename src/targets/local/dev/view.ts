/**
 * What `sovereign dev` shows: a live ink table on a TTY (tenants, status, req/s, errors, p99,
 * secret-cache hit rate), or append-only event lines on stderr without one.
 */
import type { Output } from '../../../output/output.js';
import type { GatewayStatsDocument } from './gateway.js';
import type { DevEvent } from './server.js';

export interface DevView {
  event(event: DevEvent): void;
  stop(): Promise<void>;
}

function formatValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return /\s/.test(text) ? JSON.stringify(text) : text;
}

/**
 * One event as a line: `dev ready port=4000 tenants=acme,globex`, `tenant acme started pid=4242`,
 * `tenant acme crashed code=1 restarting in 500ms`.
 */
export function formatDevEvent(event: DevEvent): string {
  const fields = { ...event.fields };
  let head = event.kind;
  const tenantVerb = /^tenant (.+)$/.exec(event.kind);
  if (tenantVerb && typeof fields.tenant === 'string') {
    head = `tenant ${fields.tenant} ${tenantVerb[1]}`;
    delete fields.tenant;
  }
  let tail = '';
  if (typeof fields.restarting_in === 'string') {
    tail = ` restarting in ${fields.restarting_in}`;
    delete fields.restarting_in;
  }
  const rest = Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join(' ');
  return `${head}${rest ? ` ${rest}` : ''}${tail}`;
}

class LineView implements DevView {
  constructor(private readonly out: Output) {}
  event(event: DevEvent): void {
    const time = new Date().toISOString().slice(11, 19);
    this.out.stderr.write(`${this.out.paint('gray', time)} ${formatDevEvent(event)}\n`);
  }
  async stop(): Promise<void> {}
}

/** Rows of the live table, from the gateway's stats document. Pure. */
export function viewRows(stats: GatewayStatsDocument): Array<Record<string, string>> {
  const ms = (v: number | null) => (v === null ? '-' : v < 10 ? `${v.toFixed(1)}ms` : `${Math.round(v)}ms`);
  return stats.tenants.map((t) => ({
    tenant: t.tenant,
    status: t.status,
    pid: t.pid === null ? '-' : String(t.pid),
    environments: String(t.environments ?? (t.pid === null ? 0 : 1)),
    rps: t.ratePerSecond.toFixed(1),
    requests: String(t.requests),
    errors: String(t.errors),
    throttled: String(t.throttled),
    p99: ms(t.latencyMs.recentP99 ?? t.latencyMs.p99),
    cache: t.secretCache?.hitRate === null || t.secretCache === null ? '-' : `${Math.round(t.secretCache.hitRate * 100)}%`,
    restarts: String(t.restarts),
  }));
}

/**
 * Opens the view: ink on an interactive terminal (not with --json), event lines otherwise.
 * `stats` is read once a second for the live table.
 */
export async function openDevView(out: Output, stats: () => GatewayStatsDocument | undefined): Promise<DevView> {
  if (!out.interactive || out.json) return new LineView(out);
  const { renderDevView } = await import('./view-ink.js');
  return renderDevView(out, stats);
}
