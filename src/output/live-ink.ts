import { createElement as h, type ReactElement } from 'react';
import { Box, Text, render } from 'ink';
import type { Output } from './output.js';
import type { LiveRow, LiveView } from './live.js';

const toneColour = { ok: 'green', fail: 'red', busy: 'yellow', idle: 'gray' } as const;

function Table({ title, rows, lines }: { title: string; rows: LiveRow[]; lines: string[] }): ReactElement {
  const width = Math.max(8, ...rows.map((r) => r.key.length));
  return h(
    Box,
    { flexDirection: 'column' },
    h(Text, { bold: true }, title),
    ...rows.map((r) =>
      h(
        Box,
        { key: r.key },
        h(Text, null, r.key.padEnd(width + 2)),
        h(Text, { color: toneColour[r.tone ?? 'idle'] }, r.status.padEnd(14)),
        h(Text, { dimColor: true }, r.detail ?? ''),
      ),
    ),
    ...lines.slice(-5).map((l, i) => h(Text, { key: `l${i}`, dimColor: true }, l)),
  );
}

export function renderLiveTable(out: Output, title: string): LiveView {
  const rows = new Map<string, LiveRow>();
  const lines: string[] = [];
  const frame = () => h(Table, { title, rows: [...rows.values()], lines });
  const stream = out.stderr as NodeJS.WriteStream;
  // A pseudo-terminal that reports no width would make ink wrap every character.
  if (!stream.columns) Object.defineProperty(stream, 'columns', { value: 100, configurable: true });
  const instance = render(frame(), { stdout: stream, patchConsole: false });
  return {
    update(row) {
      rows.set(row.key, row);
      instance.rerender(frame());
    },
    log(line) {
      lines.push(line);
      instance.rerender(frame());
    },
    async stop() {
      instance.unmount();
      await instance.waitUntilExit().catch(() => undefined);
    },
  };
}
