/** The live ink dashboard of `sovereign top` (loaded only on an interactive terminal). */
import { createElement as h, type ReactElement } from 'react';
import { Box, Text, render } from 'ink';
import type { Output } from '../output/output.js';
import { TOP_COLUMNS, topCells } from './format.js';
import type { TopSnapshot } from './top.js';

const stateColour: Record<string, string> = { active: 'green', suspended: 'yellow', offboarding: 'magenta', failed: 'red', provisioning: 'cyan' };

function Dashboard({ snapshot }: { snapshot: TopSnapshot | undefined }): ReactElement {
  const cells = (snapshot?.tenants ?? []).map((row) => ({ row, cells: topCells(row) }));
  const widths = TOP_COLUMNS.map(([key, title]) => Math.max(title.length, ...cells.map((c) => c.cells[key]!.length)) + 2);
  const header = snapshot?.source ? `sovereign top  ${snapshot.source}  since ${snapshot.since ?? '-'}` : 'sovereign top';
  return h(
    Box,
    { flexDirection: 'column' },
    h(Text, { bold: true }, `${header}  (q or Ctrl-C quits)`),
    h(Box, null, ...TOP_COLUMNS.map(([key, title], i) => h(Text, { key, dimColor: true }, title.padEnd(widths[i]!)))),
    ...cells.map(({ row, cells: c }) =>
      h(
        Box,
        { key: row.tenant },
        ...TOP_COLUMNS.map(([key], i) =>
          h(Text, { key, color: key === 'state' ? stateColour[row.state] : key === 'errors' && (row.errors ?? 0) > 0 ? 'red' : undefined }, c[key]!.padEnd(widths[i]!)),
        ),
      ),
    ),
    snapshot?.message ? h(Text, { color: 'yellow' }, snapshot.message) : null,
  );
}

/** Renders snapshots every `intervalMs` until the user quits; resolves then. */
export async function runTopDashboard(out: Output, next: () => Promise<TopSnapshot>, intervalMs = 1000): Promise<void> {
  let snapshot = await next();
  const instance = render(h(Dashboard, { snapshot }), { stdout: out.stderr as NodeJS.WriteStream, patchConsole: false, exitOnCtrlC: true });
  const stdin = process.stdin;
  const onKey = (data: Buffer) => {
    // Keys typed quickly (or relayed by a pseudo-terminal) can arrive together in one chunk.
    if (/[qQ]/.test(data.toString())) instance.unmount();
  };
  if (stdin.isTTY) {
    stdin.setRawMode?.(true);
    stdin.on('data', onKey);
  }
  const timer = setInterval(() => {
    void next().then((s) => {
      snapshot = s;
      instance.rerender(h(Dashboard, { snapshot }));
    }, () => undefined);
  }, intervalMs);
  try {
    await instance.waitUntilExit();
  } finally {
    clearInterval(timer);
    if (stdin.isTTY) {
      stdin.off('data', onKey);
      stdin.setRawMode?.(false);
      stdin.pause();
    }
  }
}
