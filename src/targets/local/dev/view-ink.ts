/** The live ink table of `sovereign dev` (loaded only on an interactive terminal). */
import { createElement as h, type ReactElement } from 'react';
import { Box, Text, render } from 'ink';
import type { Output } from '../../../output/output.js';
import type { GatewayStatsDocument } from './gateway.js';
import type { DevEvent } from './server.js';
import { formatDevEvent, viewRows, type DevView } from './view.js';

const COLUMNS: Array<[key: string, title: string]> = [
  ['tenant', 'TENANT'],
  ['status', 'STATUS'],
  ['environments', 'ENVS'],
  ['pid', 'PID'],
  ['rps', 'REQ/S'],
  ['requests', 'REQUESTS'],
  ['errors', 'ERRORS'],
  ['throttled', '429'],
  ['p99', 'P99'],
  ['cache', 'SECRET CACHE'],
  ['restarts', 'RESTARTS'],
];

const statusColour: Record<string, string> = { running: 'green', idle: 'gray', crashed: 'red', failed: 'red', starting: 'yellow', building: 'yellow', stopping: 'gray', stopped: 'gray' };

function Table({ stats, lines }: { stats: GatewayStatsDocument | undefined; lines: string[] }): ReactElement {
  const rows = stats ? viewRows(stats) : [];
  const widths = COLUMNS.map(([key, title]) => Math.max(title.length, ...rows.map((r) => (r[key] ?? '').length)) + 2);
  const port = stats?.port;
  return h(
    Box,
    { flexDirection: 'column' },
    h(Text, { bold: true }, `sovereign dev  http://localhost:${port ?? '…'}  (Ctrl-C stops every tenant)`),
    h(Box, null, ...COLUMNS.map(([key, title], i) => h(Text, { key, dimColor: true }, title.padEnd(widths[i]!)))),
    ...rows.map((row) =>
      h(
        Box,
        { key: row.tenant },
        ...COLUMNS.map(([key], i) =>
          h(Text, { key, color: key === 'status' ? statusColour[row.status!] : key === 'errors' && row.errors !== '0' ? 'red' : undefined }, (row[key] ?? '').padEnd(widths[i]!)),
        ),
      ),
    ),
    rows.length > 0 && port ? h(Text, { dimColor: true }, `curl http://${rows[0]!.tenant}.localhost:${port}/_sovereign/health`) : null,
    ...lines.slice(-6).map((line, i) => h(Text, { key: `l${i}`, dimColor: true }, line)),
  );
}

export function renderDevView(out: Output, stats: () => GatewayStatsDocument | undefined): DevView {
  const lines: string[] = [];
  const frame = () => h(Table, { stats: stats(), lines });
  const instance = render(frame(), { stdout: out.stderr as NodeJS.WriteStream, patchConsole: false, exitOnCtrlC: false });
  const timer = setInterval(() => instance.rerender(frame()), 1000);
  timer.unref();
  return {
    event(event: DevEvent) {
      lines.push(`${new Date().toISOString().slice(11, 19)} ${formatDevEvent(event)}`);
      if (lines.length > 50) lines.splice(0, lines.length - 50);
      instance.rerender(frame());
    },
    async stop() {
      clearInterval(timer);
      instance.rerender(frame());
      instance.unmount();
      await instance.waitUntilExit().catch(() => undefined);
    },
  };
}
