/**
 * Config problems as a user meets them, through the real CLI: every problem of the file listed at
 * once; an extension's settings refused at `ext enable`, `tenant deploy` and `ext validate`
 * before anything is written (else the extension would fail at its tenants' cold start); and no
 * value of a secret-bearing or extension setting repeated in any error, in any encoding.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, snapshotTree } from './helpers/cli.js';
import { makeMailerProject, writeConfig } from './helpers/config-fixture.js';

const base = { project: 'mail', target: 'local', stage: 'dev' };

/** `text` and the encodings an error or log could carry it in. */
function encodings(text: string): string[] {
  const bytes = Buffer.from(text);
  return [text, JSON.stringify(text).slice(1, -1), bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex'), encodeURIComponent(text)];
}

describe('a config with several problems', () => {
  it('names the first problem\'s path on the error line and lists every other one, with a hint', async () => {
    const project = await makeMailerProject();
    writeConfig(project, { ...base, stage: 'Prod', dev: { port: '4000' }, billing: { suspendAfterFailures: 0, plans: { price_gold: 'gold' } }, colour: 'blue' });
    const before = snapshotTree(project);
    const result = await runCli(['tenant', 'list'], { cwd: project });
    expect(result.exitCode).toBe(2);
    const lines = result.stderr.split('\n');
    expect(lines[0]).toMatch(/^error: .*sovereign\.config\.json: \(top level\): unknown key "colour"$|^error: .*sovereign\.config\.json: stage: /);
    const all = ['stage:', 'dev.port:', 'billing.suspendAfterFailures:', 'billing.plans.price_gold:', 'unknown key "colour"'];
    for (const problem of all) expect(result.stderr).toContain(problem);
    expect(lines.filter((line) => line.startsWith('  also '))).toHaveLength(all.length - 1);
    expect(lines.at(-1)).toMatch(/^hint: /);
    expect(result.stderr).not.toMatch(/more problem/);
    expect(snapshotTree(project)).toEqual(before);
  }, 60_000);
});

describe('values the config must not echo', () => {
  const pasted = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

  it('a signing secret pasted into billing.webhookSecret appears in no error, --json or otherwise', async () => {
    const project = await makeMailerProject();
    writeConfig(project, { ...base, billing: { webhookSecret: pasted } });
    for (const args of [['tenant', 'list'], ['tenant', 'list', '--json'], ['ext', 'validate', '--json']]) {
      const result = await runCli(args, { cwd: project });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain('billing.webhookSecret: not a secret reference');
      for (const form of encodings(pasted)) expect(`${result.stdout}\n${result.stderr}`).not.toContain(form);
    }
  }, 60_000);

  it('an extension setting holding a credential is described by its kind, never shown', async () => {
    const project = await makeMailerProject();
    const key = 'sk_live_51Hx9QpL2eZvKYlo2C8xW3nQ';
    writeConfig(project, { ...base, tenantConfig: { mailer: { from: key, batchSize: 9999 } } });
    const result = await runCli(['ext', 'validate'], { cwd: project });
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toContain('tenantConfig.mailer.from: ');
    expect(result.stdout).toContain(`(found a string of ${key.length} characters)`);
    for (const form of encodings(key)) expect(`${result.stdout}\n${result.stderr}`).not.toContain(form);
  }, 60_000);
});

describe("each tenant's extension settings", () => {
  let project: string;
  const good = { from: 'ops@example.com', provider: 'ses' };

  beforeAll(async () => {
    project = await makeMailerProject();
    writeConfig(project, { ...base, tenantConfig: { mailer: { provider: 'ses' } } });
    const created = await runCli(['tenant', 'create', 'acme', '--no-deploy'], { cwd: project });
    expect(created.stderr).toBe('');
  }, 60_000);

  it('ext enable refuses settings the extension refuses (a required one missing), and writes nothing', async () => {
    const before = snapshotTree(join(project, '.sovereign', 'tenants'));
    const auditBefore = readFileSync(join(project, '.sovereign', 'audit', 'events.jsonl'), 'utf8');
    const refused = await runCli(['ext', 'enable', 'mailer', '--tenant', 'acme'], { cwd: project });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/^error: .*sovereign\.config\.json: tenant "acme": tenantConfig\.mailer\.from: .*\(found nothing\)\nhint: /);
    expect(snapshotTree(join(project, '.sovereign', 'tenants'))).toEqual(before);
    expect(readFileSync(join(project, '.sovereign', 'audit', 'events.jsonl'), 'utf8')).toBe(auditBefore);

    writeConfig(project, { ...base, tenantConfig: { mailer: good } });
    const enabled = await runCli(['ext', 'enable', 'mailer', '--tenant', 'acme'], { cwd: project });
    expect(enabled.stderr).toBe('');
    expect(enabled.stdout).toContain('Enabled mailer for acme.');
  }, 60_000);

  it('tenant deploy refuses a tenant whose settings no longer fit, before deploying anything', async () => {
    writeConfig(project, { ...base, tenantConfig: { mailer: { ...good, batchSize: 0, smtp: { host: 'mail.example.com' } } } });
    const before = snapshotTree(join(project, '.sovereign'));
    const refused = await runCli(['tenant', 'deploy', 'acme'], { cwd: project });
    expect(refused.exitCode).toBe(2);
    const lines = refused.stderr.split('\n');
    expect(lines[0]).toMatch(/^error: .*sovereign\.config\.json: tenantConfig\.mailer\.batchSize: /);
    expect(refused.stderr).toContain('  also tenantConfig.mailer.smtp.port: ');
    expect(refused.stderr).toContain('  also tenant "acme": tenantConfig.mailer.batchSize: ');
    expect(lines.at(-1)).toMatch(/^hint: /);
    const after = snapshotTree(join(project, '.sovereign'));
    delete after['cache/config.json'];
    delete before['cache/config.json'];
    expect(after).toEqual(before);
  }, 60_000);

  it('tenant deploy and ext enable refuse settings for an extension the project does not have (a misspelt name)', async () => {
    writeConfig(project, { ...base, tenantConfig: { mailer: good, mailr: { batchSize: 10 } } });
    for (const args of [['tenant', 'deploy', 'acme'], ['ext', 'enable', 'mailer', '--tenant', 'acme']]) {
      const refused = await runCli(args, { cwd: project });
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toMatch(/^error: .*sovereign\.config\.json: tenantConfig\.mailr: there is no extension "mailr" in this project, so these settings would be ignored \(its extensions: mailer\)\nhint: /);
    }
  }, 60_000);

  it('tenant create refuses a tenant whose default extensions refuse its settings, and registers nothing', async () => {
    writeConfig(project, { ...base, defaults: { tier: 'basic', extensions: ['mailer'] }, tenantConfig: { mailer: { provider: 'ses' } } });
    const before = snapshotTree(join(project, '.sovereign', 'tenants'));
    const refused = await runCli(['tenant', 'create', 'globex', '--no-deploy'], { cwd: project });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/^error: .*sovereign\.config\.json: tenant "globex": tenantConfig\.mailer\.from: .*\(found nothing\)\nhint: /);
    expect(snapshotTree(join(project, '.sovereign', 'tenants'))).toEqual(before);
    expect((await runCli(['tenant', 'show', 'globex'], { cwd: project })).exitCode).toBe(3);
  }, 60_000);

  it('ext validate names the tenant whose settings lack what the extension requires', async () => {
    writeConfig(project, { ...base, tenantConfig: { mailer: { provider: 'smtp' } } });
    const result = await runCli(['ext', 'validate', 'mailer'], { cwd: project });
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toMatch(/✖ mailer 1\.0\.0\n\s+tenant "acme": tenantConfig\.mailer\.from: .*\(found nothing\)/);
    expect(result.stderr).toMatch(/^error: 1 extension failed validation: mailer; the first problem: mailer: tenant "acme": tenantConfig\.mailer\.from: /);

    writeConfig(project, { ...base, tenantConfig: { mailer: good } });
    const fixed = await runCli(['ext', 'validate', 'mailer'], { cwd: project });
    expect(fixed.exitCode).toBe(0);
  }, 60_000);
});
