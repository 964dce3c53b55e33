#!/usr/bin/env node
/**
 * `npm run mutate [module…]`: Stryker on the modules listed in stryker.config.mjs, one run per
 * module, then a table of the scores. `npm run mutate -- --summary` only prints the table of the
 * reports already in reports/mutation/ (other options go to Stryker). Stryker needs Node ≥ 22; it runs on
 * the Node 24 of scripts/node24.js (installed once into .cache/node24/), whatever node runs this script.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { node24 } from './node24.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.env.SOVEREIGN_MUTATE_MODULE ??= 'reference'; // lets the config load to read its list
const { MODULES } = await import(join(root, 'stryker.config.mjs'));
const args = process.argv.slice(2);
const summaryOnly = args.includes('--summary');
const stryker = join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js');
const node = summaryOnly ? process.execPath : node24();
for (const [what, file] of summaryOnly ? [] : [['the Node 24 binary (scripts/node24.js)', node], ['Stryker (devDependency @stryker-mutator/core)', stryker]]) {
  if (!existsSync(file)) {
    console.error(`error: ${what} is not installed at ${file}; run npm ci`);
    process.exit(1);
  }
}

const extra = args.filter((a) => a.startsWith('-') && a !== '--summary');
const names = args.filter((a) => !a.startsWith('-'));
const unknown = names.filter((n) => !(n in MODULES));
if (unknown.length > 0) {
  console.error(`error: unknown module ${unknown.join(', ')}; modules: ${Object.keys(MODULES).join(', ')}`);
  process.exit(2);
}

/** Counts by status from Stryker's JSON report (mutation-testing-report-schema). */
function score(report) {
  const counts = { Killed: 0, Survived: 0, Timeout: 0, NoCoverage: 0, CompileError: 0, RuntimeError: 0, Ignored: 0 };
  for (const file of Object.values(report.files)) for (const mutant of file.mutants) counts[mutant.status] = (counts[mutant.status] ?? 0) + 1;
  const valid = counts.Killed + counts.Survived + counts.Timeout + counts.NoCoverage;
  return { ...counts, valid, score: valid === 0 ? 100 : (100 * (counts.Killed + counts.Timeout)) / valid };
}

const rows = [];
let failed = false;
for (const name of names.length > 0 ? names : Object.keys(MODULES)) {
  const reportFile = join(root, 'reports', 'mutation', `${name}.json`);
  if (!summaryOnly) {
    console.log(`\n== mutating ${name}: ${MODULES[name].mutate.join(', ')}`);
    const run = spawnSync(node, [stryker, 'run', 'stryker.config.mjs', ...extra], { cwd: root, stdio: 'inherit', env: { ...process.env, SOVEREIGN_MUTATE_MODULE: name } });
    if (run.status !== 0) {
      failed = true;
      rows.push(`| ${name} | run failed (exit ${run.status}) | | | | |`);
      continue;
    }
  }
  if (!existsSync(reportFile)) {
    failed = !summaryOnly;
    rows.push(`| ${name} | no report | | | | |`);
    continue;
  }
  const s = score(JSON.parse(readFileSync(reportFile, 'utf8')));
  rows.push(`| ${name} | ${s.Killed} | ${s.Survived} | ${s.Timeout} | ${s.NoCoverage} | ${s.score.toFixed(1)} % |`);
}
const table = ['| module | killed | survived | timeout | no coverage | score |', '| --- | ---: | ---: | ---: | ---: | ---: |', ...rows].join('\n');
if (!summaryOnly) {
  mkdirSync(join(root, 'reports', 'mutation'), { recursive: true });
  writeFileSync(join(root, 'reports', 'mutation', 'summary.md'), `${table}\n`);
}
console.log(`\n${table}\n\nscore = (killed + timeout) / (killed + survived + timeout + no coverage); reports in reports/mutation/`);
process.exit(failed ? 1 : 0);
