/**
 * What checking the config costs, against work of the same kind in the same run (medians):
 * - parsing a config that sets billing and each extension's settings, against the smallest config
 *   (what every command pays once the cache misses: after each edit of the file);
 * - `tenant deploy`'s check of each tenant's extension settings (loading the manifests of the
 *   three example extensions), against the whole `sovereign tenant deploy` of one local tenant
 *   enabling them, through the real CLI.
 *
 * Run alone: `npm run build && node bench/config-validation.js` (prints the Markdown section).
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const load = (path) => import(pathToFileURL(join(repo, 'dist', path)).href);
const { parseConfig } = await load('config.js');
const { assertEnabledSettings } = await load('extensions/tenant-config.js');
const { loadProject } = await load('project.js');

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;

function perParse(text, iterations) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i += 1) parseConfig(text, 'sovereign.config.json');
  return (ms(start) * 1000) / iterations;
}

export async function runConfigValidationBench() {
  const small = JSON.stringify({ project: 'bench' });
  const full = JSON.stringify({
    project: 'bench',
    stage: 'prod',
    billing: { suspendAfterFailures: 3, offboardGracePeriod: '30d', plans: { price_basic: 'basic', price_pro: 'standard' }, webhookSecret: 'ssm:/prod/_sovereign/billing/webhook_secret' },
    tenantConfig: { avalara: { companyCode: 'ACME', _schedules: {} }, 'avalara-cetec-sync': { _schedules: { sync: false } } },
    auth: { jwt: { issuer: 'https://login.example.com', audience: 'app' } },
  });
  const rounds = 9;
  const parse = { small: [], full: [] };
  for (let round = 0; round < rounds; round += 1) {
    parse.small.push(perParse(small, 2000));
    parse.full.push(perParse(full, 2000));
  }

  // A project beside the repository's node_modules, with its three example extensions and one tenant enabling them.
  const dir = join(repo, 'bench', '.tmp', `config-validation-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const cli = (...args) => execFileSync(process.execPath, [join(repo, 'bin', 'sovereign.js'), ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1', SOVEREIGN_ACTOR: 'bench@host' }, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    cli('init', '.', '--name', 'bench');
    cpSync(join(repo, 'extensions'), join(dir, 'extensions'), { recursive: true });
    writeFileSync(join(dir, 'sovereign.config.json'), JSON.stringify({ project: 'bench', defaults: { tier: 'standard', extensions: ['avalara', 'cetec', 'avalara-cetec-sync'] } }));
    cli('tenant', 'create', 'acme', '--no-deploy');
    const project = await loadProject(dir);
    const record = { id: 'acme', stage: 'dev', extensions: ['avalara', 'avalara-cetec-sync', 'cetec'], secrets: {}, config: {} };
    const check = [];
    const deploy = [];
    for (let round = 0; round < 5; round += 1) {
      let start = process.hrtime.bigint();
      await assertEnabledSettings(project, [record]);
      check.push(ms(start));
      start = process.hrtime.bigint();
      cli('tenant', 'deploy', 'acme');
      deploy.push(ms(start));
    }
    const rows = [
      `| parse the smallest config | ${median(parse.small).toFixed(1)} µs | 1.00 |`,
      `| parse a config with billing, extension settings and auth | ${median(parse.full).toFixed(1)} µs | ${(median(parse.full) / median(parse.small)).toFixed(2)} |`,
    ];
    const deployRows = [
      `| \`sovereign tenant deploy acme\` (real CLI, 3 extensions, check included) | ${median(deploy).toFixed(0)} ms | 1.00 |`,
      `| the settings check alone, in process (loads the 3 manifests) | ${median(check).toFixed(0)} ms | ${(median(check) / median(deploy)).toFixed(2)} |`,
    ];
    return [
      `## Config validation: billing and extension settings (${new Date().toISOString().slice(0, 10)})`,
      '',
      `\`node bench/config-validation.js\` on ${availableParallelism()} cores, Node ${process.version}; medians of ${rounds} rounds of 2,000 parses, and of 5 deploys.`,
      '',
      '| config load | per parse | ratio |',
      '|---|---|---|',
      ...rows,
      '',
      'The CLI caches the validated config by the file\'s hash, so a command pays this once after each edit.',
      '',
      '| tenant deploy | median | share |',
      '|---|---|---|',
      ...deployRows,
      '',
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${await runConfigValidationBench()}\n`);
}
