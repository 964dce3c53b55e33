import type { CommandModule } from './types.js';

/** A command of the table: found by its path, loaded only when it runs. */
export interface CommandEntry {
  path: [string] | [string, string];
  summary: string;
  load: () => Promise<CommandModule>;
}

/** Groups of verbs and what they are about. */
export const GROUPS: Record<string, string> = {
  tenant: 'Create, deploy, inspect and destroy tenants',
  audit: 'The hash-chained audit log and signed evidence bundles',
};

/**
 * Every command. Each entry's module is imported only when that command runs, so `--help` and
 * quick commands load almost nothing.
 */
export const COMMANDS: CommandEntry[] = [
  { path: ['init'], summary: 'Create a sovereign project in a folder', load: () => import('./init.js') },
  { path: ['tenant', 'create'], summary: 'Provision a tenant', load: () => import('./tenant/create.js') },
  { path: ['tenant', 'list'], summary: 'List tenants', load: () => import('./tenant/list.js') },
  { path: ['tenant', 'show'], summary: 'Show one tenant\'s record', load: () => import('./tenant/show.js') },
  { path: ['tenant', 'destroy'], summary: 'Destroy a tenant and its state', load: () => import('./tenant/destroy.js') },
  { path: ['audit', 'log'], summary: 'Read or verify the audit log', load: () => import('./audit/log.js') },
];
