/**
 * Telling a tenant's runtime that secrets changed: the generation marker (read by every warm
 * environment about once a second) and, when `sovereign dev` runs the tenant, a signed rotation
 * webhook that invalidates the cached references at once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Project } from '../../project.js';
import { nextGeneration, parseGenerationMarker, serializeGenerationMarker, type GenerationMarker } from '../../contract/generation.js';
import type { WebhookDelivery } from '../target.js';
import { runningDevState } from './dev/state-file.js';
import { ROTATION_WEBHOOK_PATH } from '../../contract/rotation-webhook.js';

export { DEFAULT_PICKUP_MS } from '../target.js';

/** Where the local generation marker of a tenant lives (read by its runtime process). */
export function generationPath(project: Project, tenant: string): string {
  return join(project.paths.data, tenant, 'generation.json');
}

/** The marker in a local marker file, or undefined when there is none yet. */
export function readGenerationFile(path: string): GenerationMarker | undefined {
  return existsSync(path) ? parseGenerationMarker(JSON.parse(readFileSync(path, 'utf8'))) : undefined;
}

/** The marker after recording `references` as changed, from the current file (absent: a fresh marker). */
export function bumpGenerationFile(path: string, references: string[], now = new Date()): { marker: GenerationMarker; text: string } {
  const marker = nextGeneration(readGenerationFile(path), { references, now });
  return { marker, text: serializeGenerationMarker(marker) };
}

/** The dev gateway's port when `sovereign dev` runs (its pid alive) and serves `tenant`. */
export function runningDevPort(devStatePath: string, tenant: string): number | undefined {
  const state = runningDevState(devStatePath);
  if (state === undefined || (state.tenants && !(tenant in state.tenants))) return undefined;
  return state.port;
}

export interface NotifyOptions {
  tenant: string;
  references: string[];
  generation: number;
  /** The vault generation the registry recorded with the change: the runtime refuses an older vault from then on. */
  vaultGeneration?: number;
  /** The webhook signing secret (never logged). */
  secret: string;
  /** `http://127.0.0.1:<port>/t/<tenant>` (the dev gateway's route to the tenant). */
  baseUrl: string;
  timeoutMs?: number;
  now?: () => number;
}

/** What happened to the webhook; `secrets rotate` reports it. */
export type NotifyResult = WebhookDelivery;

/** POSTs the signed rotation notice to the tenant's runtime. Never throws. */
export async function sendRotationWebhook(options: NotifyOptions): Promise<NotifyResult> {
  const now = options.now ?? Date.now;
  const body = JSON.stringify({
    tenant: options.tenant, references: options.references, generation: options.generation,
    ...(options.vaultGeneration === undefined ? {} : { vaultGeneration: options.vaultGeneration }),
  });
  // The signing code and node:http load with the first notice, not with every command that reads markers.
  const [{ webhookHeaders }, { request }] = await Promise.all([import('../../runtime/webhook.js'), import('node:http')]);
  const id = `msg_${globalThis.crypto.randomUUID().replace(/-/g, '')}`;
  const headers = webhookHeaders(options.secret, id, body, now());
  const url = new URL(`${options.baseUrl.replace(/\/$/, '')}${ROTATION_WEBHOOK_PATH}`);
  const started = now();
  return new Promise<NotifyResult>((resolve) => {
    const req = request(url, { method: 'POST', agent: false, headers: { ...headers, 'content-length': Buffer.byteLength(body) }, timeout: options.timeoutMs ?? 3000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (text.length < 4096) text += chunk;
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const propagationMs = now() - started;
        if (status >= 200 && status < 300) {
          let invalidated: number | undefined;
          try {
            const parsed = JSON.parse(text) as { invalidated?: unknown };
            if (typeof parsed.invalidated === 'number') invalidated = parsed.invalidated;
          } catch {
            // An answer without a body still acknowledges.
          }
          resolve({ delivered: true, acknowledged: true, status, propagationMs, ...(invalidated !== undefined ? { invalidated } : {}) });
        } else {
          let reason = `HTTP ${status}`;
          try {
            const parsed = JSON.parse(text) as { type?: unknown; title?: unknown };
            if (typeof parsed.type === 'string') reason += ` ${parsed.type.split('/').pop()}`;
          } catch {
            // Not problem+json.
          }
          resolve({ delivered: true, acknowledged: false, status, propagationMs, reason });
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ delivered: false, acknowledged: false, reason: error.code ?? error.message }));
    req.end(body);
  });
}

/** The local generation marker of a tenant (the file its runtime process reads). */
export function readGenerationMarker(project: Project, tenant: string): GenerationMarker | undefined {
  return readGenerationFile(generationPath(project, tenant));
}
