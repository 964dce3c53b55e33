import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { EXTENSION_NAME_LENGTH, segmentedNameProblem } from '../contract/names.js';
import { conflict, badInput } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { CONFIG_FILE } from '../config.js';
import { findProjectRoot } from '../project.js';
import { arg, defineCommand, option, optionalText } from './define.js';
import { renderPackageJson, renderTsconfig, schemaReference } from './init-files.js';

/** npm files init writes only where none exists: an existing one is the user's and stays as it is. */
const NPM_FILES = ['package.json', 'tsconfig.json'] as const;

function projectNameFrom(dir: string): string {
  return basename(dir).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^[^a-z]+/, '').replace(/-+$/, '').slice(0, 40) || 'sovereign-project';
}

export default defineCommand({
  examples: ['sovereign init', 'sovereign init my-saas', 'sovereign init my-saas --name billing-platform'],
  arguments: { dir: arg('[dir]', 'folder for the new project (default: the current folder)', optionalText) },
  options: { name: option('--name <name>', 'project name (default: the folder name)', optionalText) },
  async run(ctx, input) {
    const { dir } = input;
    const target = resolve(ctx.globals.cwd, dir ?? '.');
    // The name is checked here, not in the schema: a name derived from the folder obeys the same rule.
    const name = input.name ?? projectNameFrom(target);
    const nameProblem = segmentedNameProblem('project name', name, EXTENSION_NAME_LENGTH.min, EXTENSION_NAME_LENGTH.max);
    if (nameProblem) {
      throw badInput(nameProblem, 'pass --name with 2–40 characters of a-z, 0-9 and single "-"');
    }
    if (existsSync(join(target, CONFIG_FILE))) throw conflict(`${join(target, CONFIG_FILE)} already exists`, 'this folder is already a sovereign project; nothing was changed');
    const enclosing = findProjectRoot(target);
    if (enclosing) ctx.out.warn(`creating a project inside another project (${enclosing})`);
    if (existsSync(target) && readdirSync(target).some((f) => f === 'extensions' || f === '.sovereign')) {
      throw conflict(`${target} already has an extensions/ or .sovereign/ folder`, 'init refuses to overwrite; pick an empty folder');
    }
    // Build everything in a sibling temp folder first so a failure leaves nothing half-made.
    const staging = `${target}.sovereign-init-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(join(staging, 'extensions'), { recursive: true });
    const config = {
      $schema: schemaReference(target),
      project: name,
      target: 'local',
      stage: 'dev',
      extensionsDir: 'extensions',
      defaults: { tier: 'basic', extensions: [] },
      dev: { port: 4000 },
    };
    writeFileAtomic(join(staging, CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
    writeFileAtomic(join(staging, '.gitignore'), '# tenant keys and local state never go into git\n.sovereign/keys/\n.sovereign/\nnode_modules/\n');
    writeFileAtomic(join(staging, 'extensions', '.gitkeep'), '');
    const kept = NPM_FILES.filter((file) => existsSync(join(target, file)));
    const npmFiles: Record<(typeof NPM_FILES)[number], () => string> = { 'package.json': () => renderPackageJson(name), 'tsconfig.json': renderTsconfig };
    for (const file of NPM_FILES) if (!kept.includes(file)) writeFileAtomic(join(staging, file), npmFiles[file]());
    mkdirSync(target, { recursive: true });
    for (const entry of readdirSync(staging)) {
      if (existsSync(join(target, entry))) {
        rmSync(staging, { recursive: true, force: true });
        throw conflict(`${join(target, entry)} already exists`, 'init refuses to overwrite; pick an empty folder');
      }
    }
    for (const entry of readdirSync(staging)) renameSync(join(staging, entry), join(target, entry));
    rmSync(staging, { recursive: true, force: true });
    ctx.out.result({ project: name, dir: target, config: join(target, CONFIG_FILE), kept }, () =>
      [
        `Created sovereign project "${name}" in ${target}`,
        ...kept.map((file) => `Kept the existing ${file} as it is${file === 'package.json' ? '; for `npm test`, give it devDependencies sovereign-cli, vitest and typescript and the script "test": "vitest run"' : ''}.`),
        '',
        'Next steps:',
        `  cd ${dir ?? '.'}`,
        '  npm install                        # sovereign-cli, vitest and typescript',
        '  npx sovereign ext new hello        # scaffold an extension with a passing test',
        '  npm test                           # run the extensions\' tests',
        '  npx sovereign tenant create acme   # provision a tenant',
        '  npx sovereign dev                  # run every tenant locally',
      ].join('\n'),
    );
  },
});
