/**
 * The npm side of a project `sovereign init` writes: a `package.json` whose `npm test` runs the
 * extensions' tests, a strict ESM `tsconfig.json`, and the `$schema` reference of the config.
 * Pure apart from reading this package's own `package.json` and probing for an installed copy.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { packageRoot } from '../artifact/locate.js';

/** The schema file inside the installed package (exported as `<package>/schema/config.json`). */
const SCHEMA_IN_PACKAGE = 'schema/sovereign.config.schema.json';

interface OwnPackage {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

let own: OwnPackage | undefined;
function ownPackage(): OwnPackage {
  own ??= JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as OwnPackage;
  return own;
}

/** The version range this package itself declares for `name` (a dependency or devDependency). */
function ownRange(name: string): string {
  const pkg = ownPackage();
  const range = pkg.devDependencies?.[name] ?? pkg.dependencies?.[name];
  if (range === undefined) throw new Error(`${pkg.name} declares no version of ${name}`);
  return range;
}

/**
 * `package.json` of a new project. The tools are the versions this CLI is built and tested with;
 * zod too, because extensions import it and must share the CLI's copy (one `instanceof` world).
 */
export function renderPackageJson(project: string): string {
  const pkg = ownPackage();
  const manifest = {
    name: project,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: { test: 'vitest run', typecheck: 'tsc -p .' },
    devDependencies: {
      [pkg.name]: `^${pkg.version}`,
      typescript: ownRange('typescript'),
      vitest: ownRange('vitest'),
      zod: ownRange('zod'),
    },
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** `tsconfig.json` of a new project: strict ESM with Node's own module resolution. */
export function renderTsconfig(): string {
  const config = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: true,
      noEmit: true,
    },
    include: ['extensions'],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * `$schema` for a config in `dir`, relative to `dir`: the nearest installed copy of this package
 * at or above it (a workspace may hoist it), else the one `npm install` will put beside the config.
 */
export function schemaReference(dir: string): string {
  const name = ownPackage().name;
  for (let at = dir; ; at = dirname(at)) {
    const schema = join(at, 'node_modules', name, SCHEMA_IN_PACKAGE);
    if (existsSync(schema)) {
      const path = relative(dir, schema).split(sep).join('/');
      return path.startsWith('../') ? path : `./${path}`;
    }
    if (dirname(at) === at) return `./node_modules/${name}/${SCHEMA_IN_PACKAGE}`;
  }
}
