import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeProject, runCli, snapshotTree } from './helpers/cli.js';

let project: string;

beforeAll(async () => {
  project = await makeProject();
  const created = await runCli(['tenant', 'create', 'acme', '--no-deploy'], { cwd: project });
  expect(created.exitCode, created.stderr).toBe(0);
});

describe('tenant lifecycle on the local target', () => {
  it('creates, lists, shows and destroys a tenant, keeping its history in the audit log', async () => {
    const dir = await makeProject();
    const create = await runCli(['tenant', 'create', 'globex', '--tier', 'premium', '--json', '--no-deploy'], { cwd: dir });
    expect(create.exitCode, create.stderr).toBe(0);
    const created = JSON.parse(create.stdout) as { tenant: { id: string; tier: string; createdBy: string } };
    expect(created.tenant).toMatchObject({ id: 'globex', tier: 'premium', createdBy: 'test@host' });

    const key = join(dir, '.sovereign', 'keys', 'globex.key');
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, '.sovereign', 'keys')).mode & 0o777).toBe(0o700);
    expect(readFileSync(key).length).toBe(32);

    const list = await runCli(['tenant', 'list', '--json'], { cwd: dir });
    expect((JSON.parse(list.stdout) as { tenants: Array<{ id: string }> }).tenants.map((t) => t.id)).toEqual(['globex']);
    const human = await runCli(['tenant', 'list'], { cwd: dir });
    expect(human.stdout).toMatch(/^ID\s+TIER\s+STATUS/);
    // Registered without a deploy: provisioning until its first deploy.
    expect(human.stdout).toMatch(/globex\s+premium\s+provisioning/);

    const show = await runCli(['tenant', 'show', 'globex'], { cwd: dir });
    expect(show.stdout).toContain('tier        premium');

    const destroy = await runCli(['tenant', 'destroy', 'globex', '--yes'], { cwd: dir });
    expect(destroy.exitCode, destroy.stderr).toBe(0);
    expect(existsSync(key)).toBe(false);
    expect(existsSync(join(dir, '.sovereign', 'tenants', 'globex.json'))).toBe(false);

    const log = await runCli(['audit', 'log', '--tenant', 'globex', '--json'], { cwd: dir });
    const actions = (JSON.parse(log.stdout) as { events: Array<{ action: string; outcome: string }> }).events.map((e) => `${e.action}:${e.outcome}`);
    expect(actions).toEqual(['tenant.create:success', 'tenant.destroy:success']);
    const verify = await runCli(['audit', 'log', '--verify'], { cwd: dir });
    expect(verify.exitCode, verify.stderr).toBe(0);
  });

  it('deploys a new tenant unless --no-deploy: its artifact is built and the deploy recorded', async () => {
    const dir = await makeProject();
    const create = await runCli(['tenant', 'create', 'hooli', '--json'], { cwd: dir });
    expect(create.exitCode, create.stderr).toBe(0);
    const result = JSON.parse(create.stdout) as { deployed: boolean; artifact: string };
    expect(result.deployed).toBe(true);
    // The first deploy activated the new tenant.
    expect((JSON.parse(create.stdout) as { tenant: { status: string; transitions: Array<{ to: string }> } }).tenant).toMatchObject({ status: 'active', transitions: [{ to: 'provisioning' }, { to: 'active' }] });
    expect(existsSync(join(dir, '.sovereign', 'artifacts', `${result.artifact}.zip`))).toBe(true);
    const show = JSON.parse((await runCli(['tenant', 'show', 'hooli', '--json'], { cwd: dir })).stdout) as { tenant: { deploys: Array<{ artifact: string; outcome: string }> } };
    expect(show.tenant.deploys).toEqual([expect.objectContaining({ artifact: result.artifact, outcome: 'success' })]);

    const later = JSON.parse((await runCli(['tenant', 'create', 'pied-piper', '--no-deploy', '--json'], { cwd: dir })).stdout) as { deployed: boolean; tenant: { status: string } };
    expect(later).toMatchObject({ deployed: false, tenant: { status: 'provisioning' } });
    // Its first `tenant deploy` activates it.
    expect((await runCli(['tenant', 'deploy', 'pied-piper'], { cwd: dir })).exitCode).toBe(0);
    expect((JSON.parse((await runCli(['tenant', 'show', 'pied-piper', '--json'], { cwd: dir })).stdout) as { tenant: { status: string } }).tenant.status).toBe('active');
  });

  it('records a failed mutation in the audit log with its error', async () => {
    const dir = await makeProject();
    await runCli(['tenant', 'create', 'initech', '--no-deploy'], { cwd: dir });
    const again = await runCli(['tenant', 'create', 'initech', '--no-deploy'], { cwd: dir });
    expect(again.exitCode).toBe(4);
    const log = await runCli(['audit', 'log', '--json'], { cwd: dir });
    const events = (JSON.parse(log.stdout) as { events: Array<{ outcome: string; error?: string }> }).events;
    expect(events.at(-1)).toMatchObject({ outcome: 'failure', error: 'tenant "initech" already exists' });
  });

  it('refuses to destroy without --yes when there is no terminal, naming the flag', async () => {
    const result = await runCli(['tenant', 'destroy', 'acme'], { cwd: project });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^error: destroying tenant "acme" deletes its state, keys, secrets vault and data: this needs confirmation, and there is no terminal to ask$/m);
    expect(result.stderr).toMatch(/--yes/);
    expect(existsSync(join(project, '.sovereign', 'tenants', 'acme.json'))).toBe(true);
  });

  it('refuses to init over an existing project', async () => {
    const before = snapshotTree(project);
    const result = await runCli(['init', project]);
    expect(result.exitCode).toBe(4);
    expect(snapshotTree(project)).toEqual(before);
  });

  it('finds the project from a subfolder and from -C', async () => {
    const sub = join(project, 'extensions');
    expect((await runCli(['tenant', 'list', '--json'], { cwd: sub })).exitCode).toBe(0);
    const fromElsewhere = await runCli(['-C', project, 'tenant', 'show', 'acme', '--json']);
    expect(fromElsewhere.exitCode, fromElsewhere.stderr).toBe(0);
  });

  it('writes a JSON Schema reference into the config so editors autocomplete', async () => {
    const config = JSON.parse(readFileSync(join(project, 'sovereign.config.json'), 'utf8')) as { $schema: string };
    expect(config.$schema).toMatch(/sovereign\.config\.schema\.json$/);
    expect(readFileSync(join(project, '.gitignore'), 'utf8')).toContain('.sovereign/keys/');
  });
});

describe('output conventions', () => {
  it('prints one JSON error document on stdout with --json, and the error line on stderr', async () => {
    const result = await runCli(['tenant', 'show', 'nosuch', '--json'], { cwd: project });
    expect(result.exitCode).toBe(3);
    expect(JSON.parse(result.stdout)).toEqual({ error: { message: 'tenant "nosuch" does not exist', hint: 'list tenants with `sovereign tenant list`', exitCode: 3 } });
    expect(result.stderr).toMatch(/^error: tenant "nosuch" does not exist\nhint: /);
  });

  it('shows a stack trace only with --verbose', async () => {
    const quiet = await runCli(['tenant', 'show', 'nosuch'], { cwd: project });
    expect(quiet.stderr).not.toMatch(/\n\s+at /);
    const verbose = await runCli(['tenant', 'show', 'nosuch', '--verbose'], { cwd: project });
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });

  it('uses colour only when forced, and never with NO_COLOR or --no-color', async () => {
    const forced = await runCli(['tenant', 'show', 'nosuch'], { cwd: project, env: { NO_COLOR: undefined, FORCE_COLOR: '1' } });
    expect(forced.stderr).toContain('\u001b[31merror:');
    const noColour = await runCli(['tenant', 'show', 'nosuch', '--no-color'], { cwd: project, env: { NO_COLOR: undefined, FORCE_COLOR: '1' } });
    expect(noColour.stderr).not.toContain('\u001b[');
  });

  it('takes global options from the environment, and flags win over it', async () => {
    const env = await runCli(['tenant', 'create', 'stagey', '--json', '--no-deploy'], { cwd: await makeProject(), env: { SOVEREIGN_STAGE: 'qa' } });
    expect((JSON.parse(env.stdout) as { tenant: { stage: string } }).tenant.stage).toBe('qa');
    const flag = await runCli(['tenant', 'create', 'stagey', '--json', '--stage', 'prod', '--no-deploy'], { cwd: await makeProject(), env: { SOVEREIGN_STAGE: 'qa' } });
    expect((JSON.parse(flag.stdout) as { tenant: { stage: string } }).tenant.stage).toBe('prod');
  });

  it('suggests the command meant by a typo and exits 2', async () => {
    const result = await runCli(['tenant', 'craete', 'acme'], { cwd: project });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^error: unknown command 'craete'\nhint: Did you mean create\?/);
  });

  it('gives every command help with examples', async () => {
    const { COMMANDS } = await import('../src/commands/registry.js');
    for (const entry of COMMANDS) {
      const help = await runCli([...entry.path, '--help']);
      expect(help.exitCode, entry.path.join(' ')).toBe(0);
      expect(help.stdout, entry.path.join(' ')).toMatch(/Examples:\n\s+\$ .*sovereign /);
      expect(help.stdout, entry.path.join(' ')).toContain('--json');
    }
  }, 120_000);
});

/** Bad input: each exits with its code and message, and writes nothing. */
const badInputs: Array<{ name: string; args: string[]; config?: string; code: number; message: RegExp }> = [
  { name: 'id too short', args: ['tenant', 'create', 'ab'], code: 2, message: /too short \(2 characters, at least 3\)/ },
  { name: 'id too long', args: ['tenant', 'create', 'a'.repeat(29), '--no-deploy'], code: 2, message: /too long \(29 characters, at most 28\)/ },
  { name: 'upper case id', args: ['tenant', 'create', 'Acme', '--no-deploy'], code: 2, message: /upper-case letters/ },
  { name: 'id starting with a digit', args: ['tenant', 'create', '1acme', '--no-deploy'], code: 2, message: /must start with a letter/ },
  { name: 'underscore in id', args: ['tenant', 'create', 'acme_eu', '--no-deploy'], code: 2, message: /has "_" at position 5/ },
  { name: 'dot in id', args: ['tenant', 'create', 'acme.eu', '--no-deploy'], code: 2, message: /has "\." at position 5/ },
  { name: 'space in id', args: ['tenant', 'create', 'ac me', '--no-deploy'], code: 2, message: /has " " at position 3/ },
  { name: 'non-ASCII id', args: ['tenant', 'create', 'acmé', '--no-deploy'], code: 2, message: /has "é" at position 4/ },
  { name: 'trailing hyphen', args: ['tenant', 'create', 'acme-', '--no-deploy'], code: 2, message: /must not end with "-"/ },
  { name: 'doubled hyphen', args: ['tenant', 'create', 'ac--me', '--no-deploy'], code: 2, message: /must not contain "--"/ },
  { name: 'reserved id admin', args: ['tenant', 'create', 'admin', '--no-deploy'], code: 2, message: /"admin" is reserved/ },
  { name: 'reserved id control-plane', args: ['tenant', 'create', 'control-plane', '--no-deploy'], code: 2, message: /"control-plane" is reserved/ },
  { name: 'reserved id aws', args: ['tenant', 'create', 'aws', '--no-deploy'], code: 2, message: /"aws" is reserved/ },
  { name: 'missing id', args: ['tenant', 'create'], code: 2, message: /missing required argument 'id'/ },
  { name: 'extra argument', args: ['tenant', 'create', 'acme2', 'extra'], code: 2, message: /too many arguments/ },
  { name: 'unknown tier', args: ['tenant', 'create', 'acme2', '--tier', 'gold'], code: 2, message: /argument 'gold' is invalid.*basic, standard, premium/ },
  { name: 'unknown option', args: ['tenant', 'create', 'acme2', '--frobnicate'], code: 2, message: /unknown option '--frobnicate'/ },
  { name: 'unknown target', args: ['tenant', 'create', 'acme2', '--target', 'gcp'], code: 2, message: /argument 'gcp' is invalid/ },
  { name: 'bad stage', args: ['tenant', 'create', 'acme2', '--stage', 'Prod'], code: 2, message: /stage "Prod" is not valid/ },
  { name: 'stage reserved by AWS', args: ['tenant', 'create', 'acme2', '--stage', 'awsprod'], code: 2, message: /stage "awsprod" starts with "aws", which AWS reserves/ },
  { name: 'stage too long', args: ['tenant', 'create', 'acme2', '--stage', 'abcdefghijklm'], code: 2, message: /stage "abcdefghijklm" is not valid/ },
  { name: 'unknown command', args: ['tenant', 'frobnicate'], code: 2, message: /unknown command 'frobnicate'/ },
  { name: 'unknown top-level command', args: ['tenat', 'list'], code: 2, message: /unknown command 'tenat'/ },
  { name: 'bad id for show', args: ['tenant', 'show', 'XYZ!'], code: 2, message: /upper-case letters/ },
  { name: 'audit log bad limit', args: ['audit', 'log', '--limit', '0'], code: 2, message: /--limit "0" is not a positive whole number/ },
  { name: 'audit log bad tenant', args: ['audit', 'log', '--tenant', 'a'], code: 2, message: /too short/ },
  { name: 'destroy without --yes', args: ['tenant', 'destroy', 'acme'], code: 2, message: /pass --yes/ },
  { name: 'config not JSON', config: '{ "project": ', args: ['tenant', 'create', 'acme2'], code: 2, message: /sovereign\.config\.json is not valid JSON/ },
  { name: 'config unknown key', config: '{ "project": "p1", "colour": "blue" }', args: ['tenant', 'create', 'acme2'], code: 2, message: /sovereign\.config\.json: \(top level\): unknown key "colour"/ },
  { name: 'config bad target', config: '{ "project": "p1", "target": "gcp" }', args: ['tenant', 'create', 'acme2'], code: 2, message: /sovereign\.config\.json: target: .*found "gcp"/ },
  { name: 'config bad stage', config: '{ "project": "p1", "stage": "PROD" }', args: ['tenant', 'create', 'acme2'], code: 2, message: /sovereign\.config\.json: stage: .*found "PROD"/ },
  { name: 'config missing project', config: '{ "target": "local" }', args: ['tenant', 'create', 'acme2'], code: 2, message: /sovereign\.config\.json: project: .*found nothing/ },
  { name: 'config bad project name', config: '{ "project": "My Project" }', args: ['tenant', 'create', 'acme2'], code: 2, message: /sovereign\.config\.json: project: .*found "My Project"/ },
  { name: 'config port out of range', config: '{ "project": "p1", "dev": { "port": 70000 } }', args: ['tenant', 'create', 'acme2'], code: 2, message: /sovereign\.config\.json: dev\.port: .*found 70000/ },
  { name: 'config bad default tier', config: '{ "project": "p1", "defaults": { "tier": "gold" } }', args: ['tenant', 'create', 'acme2'], code: 2, message: /sovereign\.config\.json: defaults\.tier: .*found "gold"/ },
  { name: 'config bad endpoint', config: '{ "project": "p1", "endpointUrl": "not a url" }', args: ['tenant', 'create', 'acme2'], code: 2, message: /sovereign\.config\.json: endpointUrl: .*found "not a url"/ },
  { name: 'config bad region', config: '{ "project": "p1", "region": "mars" }', args: ['tenant', 'create', 'acme2'], code: 2, message: /sovereign\.config\.json: region: .*found "mars"/ },
  { name: 'config is an array', config: '[]', args: ['tenant', 'list'], code: 2, message: /sovereign\.config\.json: \(top level\)/ },
];

describe('bad input', () => {
  it.each(badInputs)('$name → exit $code, nothing written', async ({ args, config, code, message }) => {
    const dir = await makeProject();
    await runCli(['tenant', 'create', 'acme', '--no-deploy'], { cwd: dir });
    if (config !== undefined) writeFileSync(join(dir, 'sovereign.config.json'), config);
    const before = snapshotTree(dir);
    const result = await runCli(args, { cwd: dir });
    expect(result.exitCode, result.stderr).toBe(code);
    const [first, second] = result.stderr.split('\n');
    expect(first).toMatch(/^error: /);
    expect(result.stderr).toMatch(message);
    expect(second).toMatch(/^hint: /);
    expect(result.stdout).toBe('');
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('covers at least 30 cases', () => {
    expect(badInputs.length).toBeGreaterThanOrEqual(30);
  });
});

describe('no project', () => {
  it('exits 3 naming init when there is no sovereign.config.json', async () => {
    const dir = join(await makeProject(), '..');
    const result = await runCli(['tenant', 'list'], { cwd: dir });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/no sovereign\.config\.json in .* or any parent folder\nhint: run `sovereign init`/);
    expect(readdirSync(dir)).toEqual(['proj']);
  });
});
