/**
 * The checks of `sovereign doctor` that hold whatever the target: the Node that runs the CLI
 * against the one tenants deploy on, the project and its config, and the modes of the secret
 * files in `.sovereign/`. The target adds its own (`Target.doctor`). All of them only read.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { UserError } from '../errors.js';
import { findProjectRoot, projectPaths, type Project } from '../project.js';
import { esbuildTargetOf, type LambdaRuntime } from '../templates/lambda-runtime.js';
import { ok, problem, type DoctorCheck } from './check.js';

/** Node's major releases before this one are past their end of life (Node 20: 2026-04-30). */
const OLDEST_MAINTAINED_MAJOR = 22;

function versionParts(version: string): number[] {
  return version.replace(/^[^\d]*/, '').split('.').map((part) => Number.parseInt(part, 10) || 0);
}

function below(version: number[], minimum: number[]): boolean {
  for (let i = 0; i < minimum.length; i += 1) {
    const a = version[i] ?? 0;
    const b = minimum[i] ?? 0;
    if (a !== b) return a < b;
  }
  return false;
}

/** The Node this package's `engines` asks for (`>=20.15` → `20.15`). */
export function enginesMinimum(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines?: { node?: string } };
  return /(\d+(?:\.\d+)*)/.exec(pkg.engines?.node ?? '')?.[1] ?? '0';
}

export function nodeCheck(version: string, runtime: LambdaRuntime, minimum: string = enginesMinimum()): DoctorCheck {
  const deployed = esbuildTargetOf(runtime).replace(/^node/, '');
  const runs = `Node ${version} runs sovereign (${process.execPath}); tenants deploy on ${runtime} (Node ${deployed})`;
  const parts = versionParts(version);
  if (below(parts, versionParts(minimum))) {
    return problem('node', 'fail', `${runs}, and sovereign needs Node ${minimum} or newer`, `install Node ${deployed} (or at least ${minimum}) and run sovereign with it`, 'node');
  }
  if ((parts[0] ?? 0) < OLDEST_MAINTAINED_MAJOR) {
    return problem('node', 'warn', `${runs}; Node ${parts[0]} is past its end of life`, `install Node ${deployed}; for dev's tenant processes alone, SOVEREIGN_DEV_NODE=/path/to/node${deployed} runs them on Lambda's Node`, 'node');
  }
  return ok('node', runs);
}

/** The project's config, loaded by the command's context, or the error that stopped it. */
export function configCheck(project: Project | undefined, error: unknown): DoctorCheck {
  if (project) return ok('config', `${relative(process.cwd(), project.paths.config) || project.paths.config} is valid (project ${project.config.project}, target ${project.config.target})`);
  if (error instanceof UserError) return problem('config', 'fail', error.message, error.hint ?? 'fix sovereign.config.json', 'config');
  throw error;
}

/** Files that hold a key or secret material; their public halves (`*.pub`) are meant to be read. */
function secretFiles(root: string): string[] {
  const paths = projectPaths(root);
  const files = (dir: string, keep: (name: string) => boolean) => {
    try {
      return readdirSync(dir).filter(keep).map((name) => join(dir, name));
    } catch {
      return [];
    }
  };
  return [...files(paths.keys, (name) => !name.endsWith('.pub')), ...files(paths.vault, () => true), ...files(paths.state, (name) => name === 'dev.json')];
}

/**
 * Key files, vaults and dev's state file are written 0600 and the keys folder 0700: anyone else
 * on the machine who can read them reads every tenant's secrets. A copy that lost its modes (a
 * `cp` without `-p`, an archive, a sync tool) fails here.
 */
export function keyModesCheck(cwd: string): DoctorCheck {
  const root = findProjectRoot(cwd);
  if (!root) return ok('key-modes', 'no project, no key files');
  const paths = projectPaths(root);
  const open: string[] = [];
  const modeOf = (path: string) => {
    try {
      const stat = lstatSync(path);
      return stat.isSymbolicLink() ? undefined : stat.mode & 0o777;
    } catch {
      return undefined;
    }
  };
  const files = secretFiles(root);
  for (const file of files) {
    const mode = modeOf(file);
    if (mode !== undefined && (mode & 0o077) !== 0) open.push(`${relative(root, file)} (${mode.toString(8).padStart(4, '0')})`);
  }
  const keysMode = modeOf(paths.keys);
  const openFolder = keysMode !== undefined && (keysMode & 0o077) !== 0;
  if (open.length === 0 && !openFolder) return ok('key-modes', `${files.length} key and vault file(s) under .sovereign/ are readable by their owner only`);
  const what = [...(openFolder ? [`the folder .sovereign/keys (${keysMode!.toString(8).padStart(4, '0')})`] : []), ...open];
  const chmod = [...(openFolder ? ['chmod 700 .sovereign/keys'] : []), ...(open.length > 0 ? [`chmod 600 ${open.map((f) => f.replace(/ \(\d+\)$/, '')).join(' ')}`] : [])];
  return problem('key-modes', 'fail', `group or others may read or write ${what.join(', ')}`, `${chmod.join(' && ')} (in ${root})`, 'keyModes');
}
