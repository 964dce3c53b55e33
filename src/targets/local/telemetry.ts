/**
 * The local target's telemetry: the running `sovereign dev` (its gateway counters at
 * `GET /_sovereign/dev/stats`, each tenant's `/_sovereign/health` through the gateway) and the
 * runtime's JSON log lines in `.sovereign/data/<tenant>/runtime.log`.
 */
import { join } from 'node:path';
import type { Project } from '../../project.js';
import { matchesLogFilter } from '../../telemetry/format.js';
import { lineTime, type LogLine, type RuntimeFigures, type TelemetrySource } from '../../telemetry/source.js';
import { devEndpointHeaders, runningDevState } from './dev/state-file.js';

export interface LocalTelemetryOptions {
  timeoutMs?: number;
}

export function localTelemetry(project: Project, options: LocalTelemetryOptions = {}): TelemetrySource {
  const timeout = options.timeoutMs ?? 3000;
  const base = () => {
    const dev = runningDevState(project.paths.devState);
    return dev ? { dev, url: `http://127.0.0.1:${dev.port}` } : undefined;
  };
  return {
    unavailableHint: 'start `sovereign dev` in this project: runtime figures come from its gateway',
    async figures(query = {}) {
      const b = base();
      if (!b) return undefined;
      try {
        const minutes = query.minutes === undefined ? '' : `?minutes=${query.minutes}`;
        const answer = await fetch(`${b.url}/_sovereign/dev/stats${minutes}`, { headers: devEndpointHeaders(b.dev), signal: AbortSignal.timeout(timeout) });
        if (!answer.ok) return undefined;
        const doc = (await answer.json()) as { port: number; startedAt: string; tenants: RuntimeFigures[] };
        return { source: `sovereign dev on port ${doc.port}`, since: doc.startedAt, tenants: doc.tenants };
      } catch {
        return undefined;
      }
    },
    async health(tenant) {
      const b = base();
      if (!b) return undefined;
      try {
        const answer = await fetch(`${b.url}/t/${tenant}/_sovereign/health`, { signal: AbortSignal.timeout(timeout) });
        if (answer.status === 404 || answer.status === 503) return undefined;
        return (await answer.json()) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    },
    async logs(tenant, query) {
      const { tailLines } = await import('./dev/gateway.js');
      const { parseLogFileLines } = await import('../../telemetry/lambda-log.js');
      const lines: LogLine[] = [];
      for (const line of parseLogFileLines(tenant, tailLines(join(project.paths.data, tenant, 'runtime.log'), 8 * 1024 * 1024))) {
        if (query.since !== undefined && !((lineTime(line) ?? 0) >= query.since)) continue;
        if (!matchesLogFilter(line, query)) continue;
        lines.push(line);
      }
      return query.limit === undefined ? lines : lines.slice(-query.limit);
    },
  };
}

