/**
 * The values a completion offers from the project the words are about (`-C <dir>` or the
 * current folder): its tenant ids on the target the words, the environment or the config choose,
 * and its extensions' names. Anything that cannot be read (no project, a broken config) offers
 * nothing: a TAB never prints an error.
 *
 * Both come from file and folder names, which whoever can write the project folder chooses, and
 * a candidate lands on the user's command line as typed: a name such as `$(curl … | sh)` would run
 * when the line is entered. Only names that are valid tenant ids or extension names (a-z, 0-9 and
 * "-") are offered.
 */
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { extensionNameProblem, tenantIdProblem } from '../names.js';
import { loadProject, type Project } from '../project.js';
import { completableTenantIds } from '../targets/index.js';
import { TARGET_NAMES, type TargetName } from '../targets/names.js';
import { GLOBAL_ENV } from '../commands/types.js';
import type { ValueSource } from './candidates.js';

/** The value the words give a global option (`--target aws`, `--target=aws`), if any. */
function givenValue(words: string[], flags: string[]): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < words.length; i += 1) {
    const word = words[i]!;
    if (flags.includes(word) && i + 1 < words.length) value = words[i + 1];
    for (const flag of flags) if (word.startsWith(`${flag}=`)) value = word.slice(flag.length + 1);
  }
  return value;
}

/** Folders of the extensions folder named as an extension may be. */
function extensionNames(project: Project): string[] {
  try {
    return readdirSync(project.paths.extensions, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && extensionNameProblem(entry.name) === undefined)
      .map((entry) => entry.name)
      .sort();
  } catch {
    return [];
  }
}

export function projectValues(words: string[], env: Record<string, string | undefined> = process.env): ValueSource {
  let project: Promise<Project | undefined> | undefined;
  const cwd = resolve(givenValue(words, ['-C', '--cwd']) ?? env[GLOBAL_ENV.cwd] ?? process.cwd());
  const projectOf = () => (project ??= loadProject(cwd).catch(() => undefined));
  return async (kind) => {
    const found = await projectOf();
    if (!found) return [];
    if (kind === 'extension') return extensionNames(found);
    const named = givenValue(words, ['--target']) ?? env[GLOBAL_ENV.target] ?? found.config.target;
    if (!(TARGET_NAMES as readonly string[]).includes(named)) return [];
    try {
      return (await completableTenantIds(named as TargetName, found)).filter((id) => tenantIdProblem(id) === undefined);
    } catch {
      return [];
    }
  };
}
