/**
 * Tenant artifacts under `sovereign dev`, built once per distinct input. Two tenants with the same
 * enabled extensions, the same extension sources and the same Lambda runtime get the same
 * content-addressed artifact, so the second one never starts esbuild: the build is keyed by those
 * inputs (read without esbuild: file names and bytes, see `extensionCodeHash`) and an artifact in
 * flight is shared by every tenant that asks for it meanwhile.
 *
 * esbuild's service process holds on the order of 100 MiB per build at once, so at most
 * `concurrency` builds run together (the rest wait their turn), and the service is stopped once no
 * build has run for `idleMs` (the next build starts it again).
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { extensionCodeHash } from '../../../extensions/discover.js';
import type { LambdaRuntime } from '../../../templates/lambda-runtime.js';

/** How many artifacts build at once, and how long esbuild's service may sit idle. */
export const BUILD_CONCURRENCY = 2;
export const ESBUILD_IDLE_MS = 1000;
/** Keys remembered; an edit makes a new key, so older ones are dropped past this count. */
const REMEMBERED = 64;

export interface BuildKeyInputs {
  extensionsDir: string;
  extensions: string[];
  lambdaRuntime: LambdaRuntime;
  /** The runtime entry the bundle resolves `sovereign-cli/runtime` to. */
  runtimeEntry: string;
}

/**
 * What a tenant's artifact is made of, as one hash: each enabled extension's name and code hash
 * (a folder that is missing hashes as empty, so the build reports it), the Lambda runtime, and the
 * runtime entry with its size and mtime (a rebuilt package is a new key).
 */
export function artifactBuildKey(inputs: BuildKeyInputs): string {
  const extensions = [...new Set(inputs.extensions)].sort().map((name) => {
    let code = '';
    try {
      code = extensionCodeHash(join(inputs.extensionsDir, name));
    } catch {
      // not a readable folder: the build itself says what is wrong
    }
    return [name, code];
  });
  let runtime = inputs.runtimeEntry;
  try {
    const stat = statSync(inputs.runtimeEntry);
    runtime += `:${stat.size}:${stat.mtimeMs}`;
  } catch {
    // the build reports a missing runtime
  }
  return createHash('sha256').update(JSON.stringify({ extensions, lambdaRuntime: inputs.lambdaRuntime, runtime })).digest('hex');
}

/** Raised to the tenants still waiting for a build when the builder closes. */
export class BuildsClosedError extends Error {
  constructor() {
    super('sovereign dev is stopping');
    this.name = 'BuildsClosedError';
  }
}

export interface ArtifactBuildsOptions {
  concurrency?: number;
  idleMs?: number;
  /** Stops esbuild's service (default: esbuild's own `stop`). */
  stopService?: () => Promise<void>;
}

/** Counters, for tests and the bench. */
export interface BuildCounts {
  /** Builds actually run. */
  built: number;
  /** Requests answered by a build already done or in flight. */
  shared: number;
  /** Most builds running at once. */
  peakRunning: number;
  /** Times esbuild's service was stopped for being idle. */
  serviceStops: number;
}

export class ArtifactBuilds<T> {
  private readonly results = new Map<string, Promise<T>>();
  private readonly waiting: Array<{ start: () => void; refuse: (error: Error) => void }> = [];
  private running = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private serviceUsed = false;
  private closed = false;
  readonly counts: BuildCounts = { built: 0, shared: 0, peakRunning: 0, serviceStops: 0 };
  private readonly concurrency: number;
  private readonly idleMs: number;
  private readonly stopService: () => Promise<void>;

  constructor(options: ArtifactBuildsOptions = {}) {
    this.concurrency = Math.max(1, options.concurrency ?? BUILD_CONCURRENCY);
    this.idleMs = options.idleMs ?? ESBUILD_IDLE_MS;
    this.stopService = options.stopService ?? (async () => (await import('esbuild')).stop());
  }

  /**
   * The artifact for `key`: the one built or being built for it, else `build()` once a slot is
   * free. A failed build is forgotten, so the next request tries again.
   */
  get(key: string, build: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new BuildsClosedError());
    const known = this.results.get(key);
    if (known) {
      this.counts.shared += 1;
      // Most recently used last, so the oldest key is the one dropped.
      this.results.delete(key);
      this.results.set(key, known);
      return known;
    }
    const result = this.inTurn(build);
    this.results.set(key, result);
    result.catch(() => {
      if (this.results.get(key) === result) this.results.delete(key);
    });
    while (this.results.size > REMEMBERED) this.results.delete(this.results.keys().next().value!);
    return result;
  }

  private async inTurn(build: () => Promise<T>): Promise<T> {
    // A finishing build hands its slot straight to the next in line, so none is taken in between.
    if (this.running >= this.concurrency) await new Promise<void>((start, refuse) => this.waiting.push({ start, refuse }));
    else this.running += 1;
    try {
      if (this.closed) throw new BuildsClosedError();
      this.counts.peakRunning = Math.max(this.counts.peakRunning, this.running);
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
      this.serviceUsed = true;
      this.counts.built += 1;
      return await build();
    } finally {
      const next = this.waiting.shift();
      if (next) next.start();
      else {
        this.running -= 1;
        if (this.running === 0 && !this.closed) this.scheduleServiceStop();
      }
    }
  }

  private scheduleServiceStop(): void {
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.running > 0 || !this.serviceUsed) return;
      this.serviceUsed = false;
      this.counts.serviceStops += 1;
      this.stopService().catch(() => undefined);
    }, this.idleMs);
    this.idleTimer.unref();
  }

  /** Refuses every waiting and later request and stops esbuild's service (builds running end with it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    for (const waiter of this.waiting.splice(0)) waiter.refuse(new BuildsClosedError());
    await this.stopService().catch(() => undefined);
  }
}
