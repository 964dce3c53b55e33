import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { notFound } from './errors.js';
import { writeFileAtomic } from './fs/atomic.js';
import type { ProjectConfig } from './config.js';

export const CONFIG_FILE = 'sovereign.config.json';

/** Where a project keeps its local state; every path the CLI writes under `.sovereign/`. */
export interface ProjectPaths {
  root: string;
  config: string;
  state: string;
  tenants: string;
  keys: string;
  vault: string;
  data: string;
  artifacts: string;
  audit: string;
  auditLog: string;
  lock: string;
  journal: string;
  devState: string;
  extensions: string;
}

export interface Project {
  root: string;
  config: ProjectConfig;
  paths: ProjectPaths;
}

export function projectPaths(root: string, extensionsDir = 'extensions'): ProjectPaths {
  const state = join(root, '.sovereign');
  return {
    root,
    config: join(root, CONFIG_FILE),
    state,
    tenants: join(state, 'tenants'),
    keys: join(state, 'keys'),
    vault: join(state, 'vault'),
    data: join(state, 'data'),
    artifacts: join(state, 'artifacts'),
    audit: join(state, 'audit'),
    auditLog: join(state, 'audit', 'events.jsonl'),
    lock: join(state, 'lock'),
    journal: join(state, 'journal.json'),
    devState: join(state, 'dev.json'),
    extensions: resolve(root, extensionsDir),
  };
}

/** Finds `sovereign.config.json` in `cwd` or any parent. */
export function findProjectRoot(cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    if (existsSync(join(dir, CONFIG_FILE))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Identifies the compiled schema, so a validation cached by another build of the tool is not trusted. */
function schemaStamp(): string {
  try {
    const stat = statSync(new URL('./config.js', import.meta.url));
    return `${stat.size}:${stat.mtimeMs}`;
  } catch {
    return 'unknown';
  }
}

/**
 * Loads the project around `cwd`. The config is validated with its zod schema; the validated
 * result is cached in `.sovereign/cache/config.json` by the file's SHA-256, so commands that
 * only read state start without loading the schema library.
 */
export async function loadProject(cwd: string): Promise<Project> {
  const root = findProjectRoot(cwd);
  if (!root) {
    throw notFound(`no ${CONFIG_FILE} in ${resolve(cwd)} or any parent folder`, 'run `sovereign init` to create a project, or pass -C <dir>');
  }
  const file = join(root, CONFIG_FILE);
  const text = readFileSync(file, 'utf8');
  const key = `${createHash('sha256').update(text).digest('hex')}:${schemaStamp()}`;
  const cachePath = join(root, '.sovereign', 'cache', 'config.json');
  let config: ProjectConfig | undefined;
  try {
    const cached = JSON.parse(readFileSync(cachePath, 'utf8')) as { key: string; config: ProjectConfig };
    if (cached.key === key) config = cached.config;
  } catch {
    config = undefined;
  }
  if (!config) {
    const { parseConfig } = await import('./config.js');
    config = parseConfig(text, file);
    try {
      writeFileAtomic(cachePath, JSON.stringify({ key, config }));
    } catch {
      // a read-only project still works, only slower
    }
  }
  return { root, config, paths: projectPaths(root, config.extensionsDir) };
}
