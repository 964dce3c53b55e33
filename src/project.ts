import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { notFound } from './errors.js';
import { CONFIG_FILE, readConfig, type ProjectConfig } from './config.js';

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

export function loadProject(cwd: string): Project {
  const root = findProjectRoot(cwd);
  if (!root) {
    throw notFound(`no ${CONFIG_FILE} in ${resolve(cwd)} or any parent folder`, 'run `sovereign init` to create a project, or pass -C <dir>');
  }
  const config = readConfig(join(root, CONFIG_FILE));
  return { root, config, paths: projectPaths(root, config.extensionsDir) };
}
