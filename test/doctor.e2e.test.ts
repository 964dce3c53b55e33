/**
 * `sovereign doctor` through the real CLI: each check in a healthy project (ok) and in a broken
 * one — a 0644 key file, a stale lock of a dead pid, a leftover journal, a journal planted to
 * reach outside `.sovereign/`, a port held by a server this test starts, a bad config, no region,
 * no credentials — with the status, the fix and the exit code a user gets. The aws checks run
 * the real SDK client against a real STS endpoint on loopback (`--endpoint-url`,
 * `AWS_ENDPOINT_URL`). Doctor only reads: a broken project is the same after it ran.
 */
import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SECTIONS } from '../src/doctor/check.js';
import { makeProject, repoRoot, runCli, snapshotTree } from './helpers/cli.js';
import { devTenantPids, killDev, startDevCli } from './helpers/dev.js';

interface Check {
  id: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
  docs?: string;
}
interface Report {
  ok: boolean;
  counts: { ok: number; warn: number; fail: number };
  checks: Check[];
  skipped: string | null;
}

const nowhere = join(mkdtempSync(join(tmpdir(), 'sovereign-aws-home-')), 'none');
/** No AWS settings from this machine: each aws test says what it has. */
const noAws = { AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined, AWS_PROFILE: undefined, AWS_ENDPOINT_URL: undefined, AWS_ENDPOINT_URL_STS: undefined, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SESSION_TOKEN: undefined, AWS_CONFIG_FILE: nowhere, AWS_SHARED_CREDENTIALS_FILE: nowhere, AWS_EC2_METADATA_DISABLED: 'true' };

async function doctor(dir: string, args: string[] = [], env: Record<string, string | undefined> = {}): Promise<{ exitCode: number; report: Report; stderr: string }> {
  const result = await runCli(['doctor', '--json', ...args], { cwd: dir, env });
  return { exitCode: result.exitCode, report: JSON.parse(result.stdout) as Report, stderr: result.stderr };
}

function check(report: Report, id: string): Check {
  const found = report.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no check ${id} in ${JSON.stringify(report.checks.map((c) => c.id))}`);
  return found;
}

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/** The pid of a process that has exited (and so is gone). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((done) => child.once('exit', done));
  return child.pid!;
}

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

let healthy: string;
beforeAll(async () => {
  healthy = await makeProject('doctor');
  expect((await runCli(['tenant', 'create', 'acme', '--no-deploy'], { cwd: healthy })).exitCode).toBe(0);
}, 120_000);

/** A project of its own (with one tenant) for a test that breaks it. */
async function brokenProject(): Promise<string> {
  const dir = await makeProject('broken');
  expect((await runCli(['tenant', 'create', 'acme', '--no-deploy'], { cwd: dir })).exitCode).toBe(0);
  return dir;
}

describe('sovereign doctor', () => {
  it('a healthy project: every check ok (Node and *.localhost as this machine has them), exit 0', async () => {
    const port = await freePort();
    const { exitCode, report } = await doctor(healthy, ['--port', String(port)]);
    expect(report.checks.map((c) => c.id)).toEqual(['node', 'config', 'key-modes', 'lock', 'journal', 'localhost', 'port']);
    for (const id of ['config', 'key-modes', 'lock', 'journal', 'port']) expect(check(report, id), id).toMatchObject({ status: 'ok' });
    expect(check(report, 'key-modes').detail).toBe('3 key and vault file(s) under .sovereign/ are readable by their owner only');
    expect(check(report, 'port').detail).toBe(`port ${port} on 127.0.0.1 is free for sovereign dev`);
    // Node: which one runs, against the deployed nodejs24.x; below 22 (past its end of life) a warning.
    const node = check(report, 'node');
    expect(node.detail).toContain(`Node ${process.version} runs sovereign`);
    expect(node.detail).toContain('tenants deploy on nodejs24.x');
    expect(node.status).toBe(Number(process.versions.node.split('.')[0]) < 22 ? 'warn' : 'ok');
    // *.localhost: what this machine's resolver answers, asked here the same way.
    const loopback = await lookup('x.localhost', { all: true }).then((all) => all.length > 0 && all.every((a) => /^127\.|^::1$/.test(a.address)), () => false);
    expect(check(report, 'localhost').status).toBe(loopback ? 'ok' : 'warn');
    expect(exitCode).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.counts.fail).toBe(0);
    expect(report.skipped).toBeNull();
  });

  it('prints one line per check and a fix line under each that is not ok', async () => {
    const dir = await brokenProject();
    chmodSync(join(dir, '.sovereign', 'keys', 'acme.key'), 0o644);
    const result = await runCli(['doctor', '--port', String(await freePort())], { cwd: dir });
    expect(result.exitCode).toBe(1);
    const lines = result.stdout.split('\n');
    expect(lines).toContain('ok    config     sovereign.config.json is valid (project broken, target local)');
    expect(lines).toContain('fail  key-modes  group or others may read or write .sovereign/keys/acme.key (0644)');
    expect(lines).toContain(`                 fix: chmod 600 .sovereign/keys/acme.key (in ${dir}) (see docs/troubleshooting.md#${SECTIONS.keyModes})`);
    expect(lines.at(-1)).toMatch(/^\d ok, \d warning\(s\), 1 failed$/);
    expect(result.stderr).toBe('');
  });

  it('a key file or the keys folder open to group or others: fail naming the chmod, exit 1', async () => {
    const dir = await brokenProject();
    chmodSync(join(dir, '.sovereign', 'keys', 'acme.key'), 0o644);
    chmodSync(join(dir, '.sovereign', 'vault', 'acme.vault'), 0o604);
    const { exitCode, report } = await doctor(dir);
    expect(exitCode).toBe(1);
    expect(check(report, 'key-modes')).toEqual({
      id: 'key-modes',
      status: 'fail',
      detail: 'group or others may read or write .sovereign/keys/acme.key (0644), .sovereign/vault/acme.vault (0604)',
      fix: `chmod 600 .sovereign/keys/acme.key .sovereign/vault/acme.vault (in ${dir})`,
      docs: `docs/troubleshooting.md#${SECTIONS.keyModes}`,
    });
    chmodSync(join(dir, '.sovereign', 'keys', 'acme.key'), 0o600);
    chmodSync(join(dir, '.sovereign', 'vault', 'acme.vault'), 0o600);
    chmodSync(join(dir, '.sovereign', 'keys'), 0o755);
    const folder = check((await doctor(dir)).report, 'key-modes');
    expect(folder).toMatchObject({ status: 'fail', detail: 'group or others may read or write the folder .sovereign/keys (0755)', fix: `chmod 700 .sovereign/keys (in ${dir})` });
    // The public half of the signing key is meant to be read.
    chmodSync(join(dir, '.sovereign', 'keys'), 0o700);
    expect(existsSync(join(dir, '.sovereign', 'keys', '_signing.pub'))).toBe(true);
    expect(check((await doctor(dir)).report, 'key-modes').status).toBe('ok');
  });

  it('a stale lock of a dead pid: warn with the fix, exit 0, and the lock left for the next command to recover', async () => {
    const dir = await brokenProject();
    const pid = await deadPid();
    const lock = join(dir, '.sovereign', 'lock');
    writeFileSync(lock, JSON.stringify({ pid, host: hostname(), command: 'tenant deploy', startedAt: '2026-12-08T01:00:00.000Z' }));
    const before = snapshotTree(dir);
    const { exitCode, report } = await doctor(dir, ['--port', String(await freePort())]);
    expect(check(report, 'lock')).toEqual({
      id: 'lock',
      status: 'warn',
      detail: `the lock was left by \`tenant deploy\` (pid ${pid}, since 2026-12-08T01:00:00.000Z), which is no longer running`,
      fix: 'nothing to delete: the next command that changes state recovers it',
      docs: `docs/troubleshooting.md#${SECTIONS.lock}`,
    });
    expect(exitCode).toBe(0);
    expect(snapshotTree(dir)).toEqual(before);
    // As the fix says: the next command that changes state recovers it.
    expect((await runCli(['tenant', 'create', 'globex', '--no-deploy'], { cwd: dir })).exitCode).toBe(0);
    expect(check((await doctor(dir)).report, 'lock')).toMatchObject({ status: 'ok', detail: 'no command holds the project lock' });
  });

  it('a lock held by a running command is ok, and names it', async () => {
    const dir = await brokenProject();
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    cleanups.push(() => void holder.kill());
    writeFileSync(join(dir, '.sovereign', 'lock'), JSON.stringify({ pid: holder.pid, host: hostname(), command: 'tenant deploy', startedAt: '2026-12-08T01:00:00.000Z' }));
    expect(check((await doctor(dir)).report, 'lock')).toEqual({ id: 'lock', status: 'ok', detail: `held by \`tenant deploy\` (pid ${holder.pid}, running since 2026-12-08T01:00:00.000Z)` });
  });

  it('a journal left by a crash: warn with the fix, exit 0, nothing applied', async () => {
    const dir = await brokenProject();
    const state = join(dir, '.sovereign');
    writeFileSync(join(state, 'journal.json'), JSON.stringify({ seq: 42, steps: [{ kind: 'remove', path: join(state, 'tenants', 'acme.json') }] }));
    const before = snapshotTree(dir);
    const { exitCode, report } = await doctor(dir, ['--port', String(await freePort())]);
    expect(check(report, 'journal')).toEqual({
      id: 'journal',
      status: 'warn',
      detail: 'a commit journal was left by an interrupted command (audit seq 42, 1 file change(s))',
      fix: 'nothing to delete: the next command that changes state finishes it if its audit event was written, and rolls it back if not',
      docs: `docs/troubleshooting.md#${SECTIONS.journal}`,
    });
    expect(exitCode).toBe(0);
    expect(snapshotTree(dir)).toEqual(before);
  });

  it('a journal planted to reach outside .sovereign/: fail, and doctor does not touch what it names', async () => {
    // Whoever can write the project folder plants a journal removing a file elsewhere.
    const dir = await brokenProject();
    const victim = join(mkdtempSync(join(tmpdir(), 'sovereign-victim-')), 'precious.txt');
    writeFileSync(victim, 'keep me');
    writeFileSync(join(dir, '.sovereign', 'journal.json'), JSON.stringify({ seq: 1, steps: [{ kind: 'remove', path: victim }] }));
    const { exitCode, report } = await doctor(dir);
    const journal = check(report, 'journal');
    expect(journal.status).toBe('fail');
    expect(journal.detail).toContain(`names "${victim}", outside the project's state folder; it was not applied`);
    expect(journal.fix).toContain('inspect the journal, then remove it if it is not yours');
    expect(exitCode).toBe(1);
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
  });

  it('the dev port held by another server: fail naming --port, exit 1', async () => {
    const dir = await brokenProject();
    const server: Server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    cleanups.push(() => new Promise<void>((done) => server.close(() => done())));
    const { port } = server.address() as { port: number };
    const { exitCode, report } = await doctor(dir, ['--port', String(port)]);
    const check_ = check(report, 'port');
    expect(check_).toMatchObject({ status: 'fail', detail: `port ${port} on 127.0.0.1 is already in use by another process`, docs: `docs/troubleshooting.md#${SECTIONS.port}` });
    expect(check_.fix).toContain('--port <n>');
    expect(exitCode).toBe(1);
    // The config's dev.port is the default.
    writeFileSync(join(dir, 'sovereign.config.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(dir, 'sovereign.config.json'), 'utf8')), dev: { port } }));
    expect(check((await doctor(dir)).report, 'port').status).toBe('fail');
  });

  it('the port held by this project\'s own running sovereign dev is ok, and names its pid', async () => {
    const dir = await brokenProject();
    const dev = await startDevCli(dir, { NO_COLOR: '1' });
    cleanups.push(() => killDev(dev, devTenantPids(dir)));
    const { exitCode, report } = await doctor(dir, ['--port', String(dev.port)]);
    expect(check(report, 'port')).toEqual({ id: 'port', status: 'ok', detail: `port ${dev.port} is this project's running sovereign dev (pid ${dev.pid})` });
    expect(exitCode).toBe(0);
    // Another project's doctor sees a port taken by another process.
    expect(check((await doctor(healthy, ['--port', String(dev.port)])).report, 'port').status).toBe('fail');
  }, 120_000);

  it('a bad config: fail with the config\'s own error and hint, exit 1, the other checks still run', async () => {
    const dir = await brokenProject();
    const config = join(dir, 'sovereign.config.json');
    writeFileSync(config, '{ "project": "broken", ');
    const syntax = await doctor(dir);
    expect(syntax.exitCode).toBe(1);
    expect(check(syntax.report, 'config')).toMatchObject({ status: 'fail', docs: `docs/troubleshooting.md#${SECTIONS.config}` });
    expect(check(syntax.report, 'config').detail).toContain('sovereign.config.json is not valid JSON');
    expect(syntax.report.checks.map((c) => c.id)).toEqual(['node', 'config', 'key-modes']);
    expect(syntax.report.skipped).toBe("the target's own checks, which need a config that loads");
    writeFileSync(config, JSON.stringify({ project: 'broken', target: 'gcp' }));
    const invalid = await doctor(dir);
    expect(invalid.exitCode).toBe(1);
    expect(check(invalid.report, 'config').status).toBe('fail');
    expect(check(invalid.report, 'config').detail).toContain('target');
  });

  it('no project: fail naming sovereign init, exit 1', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'sovereign-empty-'));
    const { exitCode, report } = await doctor(empty);
    expect(exitCode).toBe(1);
    expect(check(report, 'config')).toMatchObject({ status: 'fail', detail: `no sovereign.config.json in ${empty} or any parent folder` });
    expect(check(report, 'config').fix).toContain('sovereign init');
  });

  it('refuses a --port that is not a port, exit 2', async () => {
    const result = await runCli(['doctor', '--port', 'http'], { cwd: healthy });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe('error: --port http is not a port number\nhint: pass 0–65535; 0 picks a free port');
  });

  it('links every fix to a section docs/troubleshooting.md has', () => {
    const page = readFileSync(join(repoRoot, 'docs', 'troubleshooting.md'), 'utf8');
    // GitHub's anchors: the heading's text, lower case, without punctuation, spaces as "-".
    const anchors = new Set([...page.matchAll(/^#{2,3} (.+)$/gm)].map((m) => m[1]!.replace(/\\`/g, '`').replace(/`/g, '').toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/ /g, '-')));
    for (const [name, anchor] of Object.entries(SECTIONS)) expect(anchors.has(anchor), `${name}: #${anchor}`).toBe(true);
  });
});

describe('sovereign doctor on aws (a real STS endpoint on loopback)', () => {
  let sts: HttpServer;
  let endpoint: string;
  const seen: Array<{ body: string; authorization: string }> = [];
  let awsProject: string;

  beforeAll(async () => {
    sts = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push({ body, authorization: String(req.headers.authorization ?? '') });
        if (String(req.headers.authorization).includes('Credential=AKIAREVOKED/')) {
          res.writeHead(403, { 'content-type': 'text/xml' });
          res.end('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>r-2</RequestId></ErrorResponse>');
          return;
        }
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end('<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::210987654321:user/doctor</Arn><UserId>AIDADOCTOR</UserId><Account>210987654321</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>');
      });
    });
    await new Promise<void>((done) => sts.listen(0, '127.0.0.1', done));
    endpoint = `http://127.0.0.1:${(sts.address() as { port: number }).port}`;
    awsProject = await makeProject('doctor-aws');
    const config = join(awsProject, 'sovereign.config.json');
    writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), target: 'aws' }));
  }, 60_000);

  afterEach(() => void seen.splice(0));

  const credentials = { AWS_ACCESS_KEY_ID: 'AKIADOCTORTEST', AWS_SECRET_ACCESS_KEY: 'doctor-secret' };

  it('ok: region and account from STS at --endpoint-url, asked with the configured region', async () => {
    const { exitCode, report } = await doctor(awsProject, ['--region', 'eu-central-1', '--endpoint-url', endpoint], { ...noAws, ...credentials });
    expect(report.checks.map((c) => c.id)).toEqual(['node', 'config', 'key-modes', 'aws-region', 'aws-credentials']);
    expect(check(report, 'aws-region')).toEqual({ id: 'aws-region', status: 'ok', detail: `region eu-central-1 (endpoint ${endpoint})` });
    expect(check(report, 'aws-credentials')).toEqual({ id: 'aws-credentials', status: 'ok', detail: 'account 210987654321 as arn:aws:iam::210987654321:user/doctor, stage dev' });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.body).toContain('Action=GetCallerIdentity');
    expect(seen[0]!.authorization).toContain('Credential=AKIADOCTORTEST/');
    expect(seen[0]!.authorization).toContain('/eu-central-1/sts/aws4_request');
    expect(exitCode).toBe(0);
  });

  it('honours AWS_ENDPOINT_URL and AWS_REGION as every command does', async () => {
    const { report } = await doctor(awsProject, [], { ...noAws, ...credentials, AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-west-2' });
    expect(check(report, 'aws-region').detail).toBe(`region us-west-2 (endpoint ${endpoint})`);
    expect(check(report, 'aws-credentials').status).toBe('ok');
    expect(seen[0]!.authorization).toContain('/us-west-2/sts/aws4_request');
  });

  it('no region: fail naming --region and AWS_REGION, exit 1, nothing sent', async () => {
    const { exitCode, report } = await doctor(awsProject, ['--endpoint-url', endpoint], { ...noAws, ...credentials });
    const region = check(report, 'aws-region');
    expect(region).toMatchObject({ status: 'fail', detail: 'no AWS region is set', docs: `docs/troubleshooting.md#${SECTIONS.aws}` });
    expect(region.fix).toContain('--region');
    expect(region.fix).toContain('AWS_REGION');
    expect(exitCode).toBe(1);
    expect(seen).toHaveLength(0);
  });

  it('no credentials: fail naming --profile, exit 1', async () => {
    const { exitCode, report } = await doctor(awsProject, ['--region', 'eu-central-1', '--endpoint-url', endpoint], noAws);
    const creds = check(report, 'aws-credentials');
    expect(creds.status).toBe('fail');
    expect(creds.detail).toContain('no usable AWS credentials');
    expect(creds.fix).toContain('--profile');
    expect(exitCode).toBe(1);
    expect(seen).toHaveLength(0);
  });

  it('credentials STS refuses: fail with its answer, naming --profile, and never the secret key', async () => {
    const revoked = { AWS_ACCESS_KEY_ID: 'AKIAREVOKED', AWS_SECRET_ACCESS_KEY: 'revoked-secret-value' };
    const { exitCode, report } = await doctor(awsProject, ['--region', 'eu-central-1', '--endpoint-url', endpoint], { ...noAws, ...revoked });
    const creds = check(report, 'aws-credentials');
    expect(creds).toMatchObject({ status: 'fail', detail: 'no usable AWS credentials while finding out who you are (sts:GetCallerIdentity): The security token included in the request is invalid.' });
    expect(creds.fix).toContain('--profile');
    expect(exitCode).toBe(1);
    expect(seen).toHaveLength(1);
    for (const args of [['--json'], ['--verbose']]) {
      const result = await runCli(['doctor', '--region', 'eu-central-1', '--endpoint-url', endpoint, ...args], { cwd: awsProject, env: { ...noAws, ...revoked } });
      expect(`${result.stdout}${result.stderr}`).not.toContain('revoked-secret-value');
    }
  });
});
