import type { Output } from './output.js';

export interface LiveRow {
  key: string;
  status: string;
  detail?: string;
  /** ok | fail | busy | idle: drives the colour. */
  tone?: 'ok' | 'fail' | 'busy' | 'idle';
}

/** A view of long work: a live table on a TTY, append-only event lines otherwise. */
export interface LiveView {
  update(row: LiveRow): void;
  log(line: string): void;
  /** Stops the live view; the last frame stays on screen. */
  stop(): Promise<void>;
}

/** Event lines: one per change, nothing redrawn; what CI logs and pipes get. */
class EventLineView implements LiveView {
  constructor(private readonly out: Output, private readonly kind: string) {}
  update(row: LiveRow): void {
    this.out.event(this.kind, { id: row.key, status: row.status, detail: row.detail });
  }
  log(line: string): void {
    this.out.info(line);
  }
  async stop(): Promise<void> {}
}

/**
 * Opens a live view. On an interactive terminal it renders with ink (loaded only then); without
 * one, or with --json, it writes event lines.
 */
export async function openLiveView(out: Output, title: string, kind: string): Promise<LiveView> {
  if (!out.interactive || out.json) return new EventLineView(out, kind);
  const { renderLiveTable } = await import('./live-ink.js');
  return renderLiveTable(out, title);
}
