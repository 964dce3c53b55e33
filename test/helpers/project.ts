/** A project made by `sovereign init` with one extension written into it and enabled for new tenants. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject } from './cli.js';
import { write } from './wait.js';

/** `files` are paths below `extensions/<extension>/` → their text; `tier` is the new tenants' default. */
export async function makeProjectWithExtension(extension: string, files: Record<string, string>, tier = 'standard'): Promise<string> {
  const dir = await makeProject();
  const configFile = join(dir, 'sovereign.config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(configFile, JSON.stringify({ ...config, defaults: { tier, extensions: [extension] } }, null, 2));
  for (const [path, text] of Object.entries(files)) write(join(dir, 'extensions', extension, path), text);
  return dir;
}
