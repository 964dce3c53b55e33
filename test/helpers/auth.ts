/**
 * Credentials for e2e requests through `sovereign dev`: a token of the dev issuer (what
 * `sovereign auth token` mints) for a tenant of the project in `dir`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadOrCreateDevIssuerKey, mintDevToken, type DevTokenOptions } from '../../src/auth/dev-issuer.js';

/** `Authorization: Bearer <dev token>` for `tenant` of the project in `dir` (stage from its config unless given). */
export async function devAuth(dir: string, tenant: string, options: Partial<DevTokenOptions> = {}): Promise<{ authorization: string }> {
  const config = JSON.parse(readFileSync(join(dir, 'sovereign.config.json'), 'utf8')) as { project: string; stage?: string };
  const key = loadOrCreateDevIssuerKey(join(dir, '.sovereign', 'keys'));
  const token = await mintDevToken(key, { project: config.project, stage: config.stage ?? 'dev', tenant, ...options });
  return { authorization: `Bearer ${token}` };
}
