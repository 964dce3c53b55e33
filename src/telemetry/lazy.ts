/** A telemetry source loaded on first use (type-only imports: nothing loads until it is asked). */
import type { TelemetrySource } from './source.js';

/**
 * A source whose implementation loads on first use, so a command that opens a target without
 * reading figures or logs loads none of it (the CloudWatch clients on aws, the dev stats reader
 * locally).
 */
export function lazyTelemetrySource(unavailableHint: string, create: () => Promise<TelemetrySource>): TelemetrySource {
  let loaded: Promise<TelemetrySource> | undefined;
  const load = () => (loaded ??= create());
  return {
    unavailableHint,
    figures: async (query) => (await load()).figures(query),
    health: async (tenant) => (await load()).health(tenant),
    logs: async (tenant, query) => (await load()).logs(tenant, query),
    follow: async (tenant, query, onLine, signal) => (await load()).follow!(tenant, query, onLine, signal),
  };
}
