/** Where the local target keeps a tenant's own key and vault in `.sovereign/`. */
import { join } from 'node:path';
import type { Project } from '../../project.js';

export function tenantKeyPath(project: Project, id: string): string {
  return join(project.paths.keys, `${id}.key`);
}

export function tenantVaultPath(project: Project, id: string): string {
  return join(project.paths.vault, `${id}.vault`);
}
