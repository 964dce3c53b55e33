/**
 * Reads the tenant's generation marker (see `contract/generation.ts`) at most once per interval and
 * reports what changed since the last read, so every warm environment refetches rotated secrets
 * within about one interval. Checks run on the request path (a frozen Lambda has no timers).
 */
import { readFile } from 'node:fs/promises';
import type { GenerationSource } from './config.js';
import type { DocumentClientProvider } from './db.js';
import {
  changedSince, GENERATION_ITEM_KEY, generationMarkerFromItem, initialGenerationMarker, parseGenerationMarker,
  type GenerationMarker,
} from '../contract/generation.js';

export type GenerationReader = () => Promise<GenerationMarker>;

export function fileGenerationReader(path: string): GenerationReader {
  return async () => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return initialGenerationMarker(new Date(0));
      throw error;
    }
    return parseGenerationMarker(JSON.parse(text));
  };
}

export function dynamoGenerationReader(tableName: string, client: DocumentClientProvider): GenerationReader {
  return async () => {
    const [c, { GetCommand }] = await Promise.all([client(), import('@aws-sdk/lib-dynamodb')]);
    const out = await c.send(new GetCommand({ TableName: tableName, Key: { ...GENERATION_ITEM_KEY }, ConsistentRead: true }));
    return out.Item ? generationMarkerFromItem(out.Item) : initialGenerationMarker(new Date(0));
  };
}

export function generationReaderFor(source: GenerationSource, tableName: string, client: DocumentClientProvider): GenerationReader {
  return source.kind === 'file' ? fileGenerationReader(source.path) : dynamoGenerationReader(tableName, client);
}

export interface GenerationWatcherOptions {
  read: GenerationReader;
  intervalMs: number;
  /** Called with what must be invalidated when the generation moved. */
  onChange: (changed: 'all' | string[], marker: GenerationMarker) => void;
  /** Called when a read fails; the last known state is kept. */
  onError?: (error: unknown) => void;
  now?: () => number;
}

export class GenerationWatcher {
  private lastCheck = Number.NEGATIVE_INFINITY;
  private seen: number | undefined;
  private current: GenerationMarker | undefined;
  private running: Promise<void> | undefined;
  private readonly now: () => number;
  /** Marker reads so far (benchmarks). */
  reads = 0;

  constructor(private readonly options: GenerationWatcherOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The last marker read, if any. */
  get marker(): GenerationMarker | undefined {
    return this.current;
  }

  get suspended(): boolean {
    return this.current?.suspended ?? false;
  }

  /** Whether `check()` would read (or join a read). */
  due(): boolean {
    return this.running !== undefined || this.now() - this.lastCheck >= this.options.intervalMs;
  }

  /** Reads the marker if the interval has passed (concurrent callers share one read). */
  check(): Promise<void> {
    if (this.running) return this.running;
    if (this.now() - this.lastCheck < this.options.intervalMs) return Promise.resolve();
    return this.refresh();
  }

  /** Reads the marker now (the rotation webhook forces this). */
  refresh(): Promise<void> {
    if (this.running) return this.running;
    this.lastCheck = this.now();
    this.running = (async () => {
      try {
        this.reads++;
        const marker = await this.options.read();
        const previous = this.seen;
        this.current = marker;
        this.seen = marker.generation;
        if (previous !== undefined && previous !== marker.generation) {
          this.options.onChange(changedSince(marker, previous), marker);
        }
      } catch (error) {
        this.options.onError?.(error);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }
}
