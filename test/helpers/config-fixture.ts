/**
 * A project with one extension whose settings have every shape a config schema can take: a
 * required e-mail, an enum with a default, a bounded integer, a strict nested object, and a
 * schedule its tenants can switch off. The config tests write sovereign.config.json around it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject } from './cli.js';

const MANIFEST = `import { z } from 'zod';
import { defineExtension } from 'sovereign-cli/runtime';

export default defineExtension({
  name: 'mailer',
  version: '1.0.0',
  description: 'Sends the daily digest',
  routes: [{ method: 'GET', path: '/ping', handler: 'ping' }],
  schedules: [{ name: 'digest', expression: 'rate(1 day)', handler: 'digest' }],
  config: z
    .object({
      from: z.string().email(),
      provider: z.enum(['ses', 'smtp']).default('ses'),
      batchSize: z.number().int().min(1).max(500).default(50),
      smtp: z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535) }).strict().optional(),
    })
    .strict(),
});
`;

/** Writes the `mailer` extension into `project`'s extensions folder. */
export function writeMailerExtension(project: string): void {
  const dir = join(project, 'extensions', 'mailer');
  mkdirSync(join(dir, 'handlers'), { recursive: true });
  writeFileSync(join(dir, 'extension.ts'), MANIFEST);
  writeFileSync(join(dir, 'handlers', 'ping.ts'), 'export async function handler() {\n  return { ok: true };\n}\n');
  writeFileSync(join(dir, 'handlers', 'digest.ts'), 'export async function handler() {}\n');
}

/** A fresh project (made by `sovereign init`) with the `mailer` extension. */
export async function makeMailerProject(): Promise<string> {
  const project = await makeProject('mail');
  writeMailerExtension(project);
  return project;
}

/** Writes `config` as the project's sovereign.config.json. */
export function writeConfig(project: string, config: unknown): void {
  writeFileSync(join(project, 'sovereign.config.json'), `${JSON.stringify(config, null, 2)}\n`);
}
