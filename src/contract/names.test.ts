import { describe, expect, it } from 'vitest';
import { loadRuntimeConfig } from '../runtime/config.js';
import {
  extensionNameProblem, isExtensionName, isSecretKey, isStage, isTenantId, secretKeyProblem, segmentedNameProblem,
  stageProblem, tenantIdProblem,
} from './names.js';

/** What the runtime says about a tenant id / stage, through its own reader of the environment. */
function runtimeRefuses(variable: 'SOVEREIGN_TENANT' | 'SOVEREIGN_STAGE', value: string): boolean {
  const env = {
    SOVEREIGN_TENANT: 'acme',
    SOVEREIGN_STAGE: 'dev',
    SOVEREIGN_TABLE: 'sovereign-dev-acme',
    SOVEREIGN_TENANT_CONFIG: JSON.stringify({ extensions: [], secrets: {}, config: {}, webhookSecret: 'ssm:/dev/tenants/acme/_sovereign/webhook_secret' }),
    [variable]: value,
  };
  try {
    loadRuntimeConfig(env);
    return false;
  } catch {
    return true;
  }
}

describe('tenant ids', () => {
  it('are 3–28 characters of a-z, 0-9 and single "-", starting with a letter, not reserved', () => {
    for (const id of ['acme', 'acme-eu', 'a1b', 't099', 'a'.repeat(28)]) expect(tenantIdProblem(id)).toBeUndefined();
    expect(tenantIdProblem('')).toBe('tenant id is empty');
    expect(tenantIdProblem('ab')).toMatch(/too short/);
    expect(tenantIdProblem('a'.repeat(29))).toMatch(/too long/);
    expect(tenantIdProblem('Acme')).toMatch(/upper-case/);
    expect(tenantIdProblem('1acme')).toMatch(/start with a letter/);
    expect(tenantIdProblem('ac_me')).toBe('tenant id "ac_me" has "_" at position 3; only a-z, 0-9 and "-" are allowed');
    expect(tenantIdProblem('acme-')).toMatch(/end with "-"/);
    expect(tenantIdProblem('ac--me')).toMatch(/contain "--"/);
    expect(tenantIdProblem('admin')).toBe('tenant id "admin" is reserved');
  });

  // The runtime used to check only the pattern: it took ids the CLI never creates.
  it('are refused by the runtime exactly where the CLI refuses them', () => {
    for (const id of ['acme', 'ab', 'a'.repeat(29), 'admin', 'local', 'acme-eu', 'ac--me']) {
      expect({ id, refused: runtimeRefuses('SOVEREIGN_TENANT', id) }).toEqual({ id, refused: !isTenantId(id) });
    }
  });
});

describe('extension names', () => {
  it('are 2–40 characters of the same shape as tenant ids, and may be reserved words', () => {
    for (const name of ['ab', 'avalara', 'avalara-cetec-sync', 'admin', 'a'.repeat(40)]) expect(isExtensionName(name)).toBe(true);
    for (const name of ['a', 'a'.repeat(41), 'ava.lara', 'ava_lara', '-ava', 'Ava']) expect(isExtensionName(name)).toBe(false);
    expect(extensionNameProblem('ava.lara')).toBe('extension name "ava.lara" has "." at position 4; only a-z, 0-9 and "-" are allowed');
  });

  it('names the kind of thing in the problem', () => {
    expect(segmentedNameProblem('project name', 'My', 2, 40)).toBe('project name "My" has upper-case letters; use lower case');
  });
});

describe('secret keys', () => {
  it('are a-z, 0-9 and "_", starting with a letter: never "." nor "-"', () => {
    for (const key of ['license_key', 'a', 'api_key_2']) expect(isSecretKey(key)).toBe(true);
    for (const key of ['', '_a', '1a', 'license-key', 'license.key', 'Key']) expect(isSecretKey(key)).toBe(false);
    expect(secretKeyProblem('license.key')).toBe('secret key "license.key" is not valid');
  });
});

describe('stages', () => {
  it('are 1–12 letters and digits starting with a letter, not starting with aws or ssm', () => {
    for (const stage of ['dev', 'prod', 'qa', 'a', 'stage2', 'abcdefghijkl']) expect(isStage(stage)).toBe(true);
    for (const stage of ['', 'Dev', '2dev', 'dev-eu', 'abcdefghijklm', 'awsdev', 'ssm']) expect(isStage(stage)).toBe(false);
    expect(stageProblem('ssmdev')).toMatch(/AWS reserves/);
  });

  // The runtime used to accept a stage starting with aws/ssm, which the CLI refuses.
  it('are refused by the runtime exactly where the CLI refuses them', () => {
    for (const stage of ['dev', 'awsdev', 'ssm1', 'qa', 'Dev']) {
      expect({ stage, refused: runtimeRefuses('SOVEREIGN_STAGE', stage) }).toEqual({ stage, refused: !isStage(stage) });
    }
  });
});
