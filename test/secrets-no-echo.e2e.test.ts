/**
 * A value pasted where a reference belongs (or into one) is never repeated by the real CLI: not in
 * the error or hint, not in --json, not in the audit log. Each case is refused; the canary is
 * looked for in everything the command left behind.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeProject, repoRoot, runCli } from './helpers/cli.js';

const CANARY = `sk_live_${randomBytes(8).toString('hex')}`;

const PASTED = [
  CANARY,
  `ssm:${CANARY}`,
  `ssm:/dev/tenants/acme/avalara/license_key=${CANARY}`,
  `ssm:/dev/tenants/globex/avalara/${CANARY}`,
  `ssm:/${CANARY}/avalara/license_key`,
  `ssm:/dev/tenants/acme/_sovereign/${CANARY}`,
  `secretsmanager:${CANARY}`,
  `secretsmanager:dev/tenants/globex/avalara:${CANARY}`,
  `secretsmanager:dev/tenants/acme/avalara:${CANARY}`,
  `secretsmanager:dev/tenants/acme/avalara:license_key:${CANARY}`,
  `SSM:/dev/tenants/acme/${CANARY}`,
  `ssm:/dev/tenants/acme/avalara/${CANARY} `,
];

describe('a value pasted into a reference', { timeout: 180_000 }, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeProject();
    const file = join(dir, 'sovereign.config.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), extensionsDir: join(repoRoot, 'extensions') }, null, 2));
    for (const tenant of ['acme', 'globex']) expect((await runCli(['tenant', 'create', tenant, '--no-deploy'], { cwd: dir })).exitCode).toBe(0);
    const stored = await runCli(['secrets', 'put', 'secretsmanager:dev/tenants/acme/avalara', '--tenant', 'acme', '--from-stdin'], { cwd: dir, input: '{"license_key":"lk","account_id":"a"}' });
    expect(stored.exitCode, stored.stderr).toBe(0);
    const plain = await runCli(['secrets', 'put', 'secretsmanager:dev/tenants/acme/plain', '--tenant', 'acme', '--from-stdin'], { cwd: dir, input: 'not json' });
    expect(plain.exitCode, plain.stderr).toBe(0);
  }, 120_000);

  it.each([CANARY, `avalara.${CANARY}-x`, `${CANARY}.license_key`, `a.b.${CANARY}`])('a value in place of <extension>.<key> (%#) is not repeated', async (mapping) => {
    for (const args of [['secrets', 'set', 'acme', mapping, 'ssm:/dev/tenants/acme/avalara/license_key'], ['secrets', 'history', 'acme', mapping], ['secrets', 'rollback', 'acme', mapping]]) {
      const result = await runCli(args, { cwd: dir });
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr).toMatch(/^error: the secret argument is not <extension>\.<key>$/m);
      expect(result.stdout + result.stderr).not.toContain(CANARY);
    }
  });

  it('secrets put of a JSON key into a value that is not JSON refuses it without repeating the key', async () => {
    const result = await runCli(['secrets', 'put', `secretsmanager:dev/tenants/acme/plain:${CANARY}`, '--tenant', 'acme', '--from-stdin', '--json'], { cwd: dir, input: 'value' });
    expect(result.exitCode, result.stderr).toBe(4);
    expect(result.stderr).toMatch(/^error: the value of secretsmanager:dev\/tenants\/acme\/plain is not a JSON object/m);
    expect(result.stdout + result.stderr).not.toContain(CANARY);
    expect(readFileSync(join(dir, '.sovereign', 'audit', 'events.jsonl'), 'utf8')).not.toContain(CANARY);
  });

  it.each(PASTED.map((reference, index) => [index, reference]))('case %i: secrets set refuses it without repeating it', async (_index, reference) => {
    for (const json of [false, true]) {
      const result = await runCli(['secrets', 'set', 'acme', 'avalara.license_key', reference, ...(json ? ['--json'] : [])], { cwd: dir });
      expect(result.exitCode, result.stderr).not.toBe(0);
      expect(result.stderr).toMatch(/^error: /m);
      expect(result.stdout + result.stderr).not.toContain(CANARY);
    }
    expect(readFileSync(join(dir, '.sovereign', 'audit', 'events.jsonl'), 'utf8')).not.toContain(CANARY);
  });

  it.each(PASTED.filter((reference) => !reference.startsWith('secretsmanager:dev/tenants/acme/avalara:')).map((reference, index) => [index, reference]))(
    'case %i: secrets put refuses it without repeating it', async (_index, reference) => {
      const result = await runCli(['secrets', 'put', reference, '--tenant', 'acme', '--from-stdin', '--json'], { cwd: dir, input: 'value' });
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stdout + result.stderr).not.toContain(CANARY);
      expect(readFileSync(join(dir, '.sovereign', 'audit', 'events.jsonl'), 'utf8')).not.toContain(CANARY);
    });
});
