/** `ctx.metrics`: CloudWatch Embedded Metric Format lines with Tenant / Extension / Route dimensions. */
import type { Metrics } from './extension.js';
import type { LineWriter } from './log.js';

/** Namespace of every metric the runtime and its extensions emit. */
export const METRICS_NAMESPACE = 'Sovereign';

export interface MetricDimensions {
  tenant: string;
  extension: string;
  route: string;
}

/** One EMF document for one metric value. */
export function formatEmfLine(
  dimensions: MetricDimensions,
  name: string,
  value: number,
  unit: 'Count' | 'Milliseconds',
  timestamp = Date.now(),
): string {
  return JSON.stringify({
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [['Tenant', 'Extension', 'Route']],
          Metrics: [{ Name: name, Unit: unit }],
        },
      ],
    },
    Tenant: dimensions.tenant,
    Extension: dimensions.extension,
    Route: dimensions.route,
    [name]: value,
  });
}

export function createMetrics(dimensions: MetricDimensions, write: LineWriter): Metrics {
  const check = (name: string, value: number) => {
    if (!/^[A-Za-z0-9_.\-]{1,255}$/.test(name)) throw new TypeError(`metric name "${name}" must match [A-Za-z0-9_.-]{1,255}`);
    if (!Number.isFinite(value)) throw new TypeError(`metric "${name}" value must be a finite number`);
  };
  return {
    count(name, value = 1) {
      check(name, value);
      write(formatEmfLine(dimensions, name, value, 'Count'));
    },
    timing(name, milliseconds) {
      check(name, milliseconds);
      write(formatEmfLine(dimensions, name, milliseconds, 'Milliseconds'));
    },
  };
}
