/**
 * The real I/O behind an export: extensions loaded from the project's folder (with their code
 * hashes) and the offline isolation evaluator.
 */
import { join } from 'node:path';
import { extensionSourceFiles, loadExtension } from '../extensions/discover.js';
import type { Project } from '../project.js';
import type { IsolationInputs, IsolationMatrix } from '../isolation/matrix.js';
import type { LoadedExtension } from './evidence.js';

/** The offline isolation matrix of `sovereign verify isolation`, loaded only when an export runs. */
export async function offlineIsolationMatrix(inputs: IsolationInputs, options: { only: string }): Promise<IsolationMatrix> {
  const { isolationMatrix } = await import('../isolation/matrix.js');
  return isolationMatrix(inputs, options);
}

/** Loads the named extensions in name order; a missing or broken one is reported, not thrown. */
export async function loadProjectExtensions(project: Project, names: string[]): Promise<LoadedExtension[]> {
  const out: LoadedExtension[] = [];
  for (const name of [...new Set(names)].sort()) {
    const dir = join(project.paths.extensions, name);
    const found = await loadExtension(dir);
    let files: string[] = [];
    try {
      files = extensionSourceFiles(dir);
    } catch {
      files = [];
    }
    out.push({ name, dir, status: found.status, manifest: found.manifest, problems: found.problems, codeSha256: found.codeSha256, files });
  }
  return out;
}

