import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  openVault, parseVaultKey, readVaultKey, SecretLookupError, STAGE_CURRENT, STAGE_PENDING, STAGE_PREVIOUS,
  VaultOpenError, vaultKeyId,
} from '../../runtime/secrets/vault.js';
import { MAX_VERSIONS_PER_SECRET, openWritableVault, VaultConflictError } from './vault-writer.js';

const CANARY = 'canary-7c1e0b5f-value';
const CANARY_JSON = JSON.stringify({ license_key: `${CANARY}-lk`, account_id: 42, nested: { a: 1 } });
const SM = 'secretsmanager:dev/tenants/acme/avalara';
const SSM = 'ssm:/dev/tenants/acme/avalara/account_id';

let dir: string;
let path: string;
let key: Buffer;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vault-'));
  path = join(dir, 'vault', 'acme.vault');
  key = randomBytes(32);
});

function expectOpenError(fn: () => unknown, reason: string): VaultOpenError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(VaultOpenError);
    expect((error as VaultOpenError).reason).toBe(reason);
    return error as VaultOpenError;
  }
  throw new Error(`expected a VaultOpenError (${reason})`);
}

describe('vault: storing and reading', () => {
  it('round-trips values, encrypts them on disk and writes mode 0600', () => {
    const vault = openWritableVault(path, key, 'acme');
    expect(vault.generation).toBe(0);
    vault.putVersion(SM, CANARY_JSON, { by: 'alice' });
    vault.putVersion(SSM, CANARY, { by: 'alice' });
    expect(vault.readSecret(SSM)).toBe(CANARY);
    expect(vault.readSecret(SM)).toBe(CANARY_JSON);
    expect(vault.readSecret(`${SM}:license_key`)).toBe(`${CANARY}-lk`);
    expect(vault.readSecret(`${SM}:account_id`)).toBe('42');
    expect(vault.readSecret(`${SM}:nested`)).toBe('{"a":1}');
    const onDisk = readFileSync(path, 'utf8');
    expect(onDisk).not.toContain('canary');
    expect(onDisk).not.toContain(Buffer.from(CANARY).toString('base64').slice(0, 12));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(onDisk)).toMatchObject({ format: 'sovereign-vault', version: 1, tenant: 'acme', keyId: vaultKeyId(key), generation: 2 });

    const reopened = openWritableVault(path, key, 'acme');
    expect(reopened.readSecret(`${SM}:license_key`)).toBe(`${CANARY}-lk`);
    expect(reopened.listNames()).toEqual([SM, SSM]);
    expect(reopened.generation).toBe(2);
  });

  it('draws a fresh IV for every write', () => {
    const vault = openWritableVault(path, key, 'acme');
    vault.putVersion(SSM, CANARY, { by: 'a', versionId: 'v1' });
    const first = JSON.parse(readFileSync(path, 'utf8')).iv;
    vault.putVersion(SSM, `${CANARY}2`, { by: 'a', versionId: 'v2' });
    expect(JSON.parse(readFileSync(path, 'utf8')).iv).not.toBe(first);
  });

  it('reports missing secrets, stages, versions and JSON keys without revealing the value', () => {
    const vault = openWritableVault(path, key, 'acme');
    vault.putVersion(SSM, CANARY, { by: 'a' });
    vault.putVersion(SM, CANARY_JSON, { by: 'a' });
    const reasons: string[] = [];
    for (const [ref, options] of [
      ['ssm:/dev/tenants/acme/other', {}],
      [`${SM}::AWSPREVIOUS`, {}],
      [SM, { versionId: 'nope' }],
      [`${SM}:missing_key`, {}],
      ['secretsmanager:dev/tenants/acme/plain', {}],
    ] as const) {
      try {
        vault.readSecret(ref, options);
        throw new Error('expected a lookup error');
      } catch (error) {
        expect(error).toBeInstanceOf(SecretLookupError);
        expect(String((error as Error).message)).not.toContain('canary');
        reasons.push((error as SecretLookupError).reason);
      }
    }
    expect(reasons).toEqual(['not-found', 'stage-not-found', 'version-not-found', 'json-key-not-found', 'not-found']);
    vault.putVersion('secretsmanager:dev/tenants/acme/plain', `not json ${CANARY}`, { by: 'a' });
    const error = (() => {
      try {
        vault.readSecret('secretsmanager:dev/tenants/acme/plain:key');
      } catch (caught) {
        return caught as SecretLookupError;
      }
      return undefined;
    })();
    expect(error?.reason).toBe('not-json');
    expect(error?.message).not.toContain('canary');
    expect(JSON.stringify(error)).not.toContain('canary');
  });
});

describe('vault: versions and staging labels', () => {
  it('keeps AWSPREVIOUS on the version that was current when AWSCURRENT moves', () => {
    const vault = openWritableVault(path, key, 'acme');
    const one = vault.putVersion(SM, 'v-one', { by: 'alice', versionId: 'one', now: new Date('2026-01-01T00:00:00Z') });
    expect(one.labels).toEqual([STAGE_CURRENT]);
    vault.putVersion(SM, 'v-two', { by: 'bob', versionId: 'two', labels: [STAGE_PENDING] });
    expect(vault.readSecret(SM)).toBe('v-one');
    expect(vault.readSecret(`${SM}::AWSPENDING`)).toBe('v-two');
    vault.moveLabel(SM, STAGE_CURRENT, 'two', { fromVersionId: 'one' });
    vault.removeLabel(SM, STAGE_PENDING, 'two');
    expect(vault.readSecret(SM)).toBe('v-two');
    expect(vault.readSecret(`${SM}::AWSPREVIOUS`)).toBe('v-one');
    expect(vault.history(SM)).toEqual([
      { versionId: 'two', createdAt: expect.any(String), createdBy: 'bob', labels: [STAGE_CURRENT] },
      { versionId: 'one', createdAt: '2026-01-01T00:00:00.000Z', createdBy: 'alice', labels: [STAGE_PREVIOUS] },
    ]);
    expect(JSON.stringify(vault.history(SM))).not.toContain('v-one');

    // A third promotion moves AWSPREVIOUS along: only one version carries each label.
    vault.putVersion(SM, 'v-three', { by: 'carol', versionId: 'three' });
    expect(vault.describe(SM)?.labels).toEqual({ two: [STAGE_PREVIOUS], three: [STAGE_CURRENT] });
    // Rollback: AWSPREVIOUS back to AWSCURRENT.
    vault.moveLabel(SM, STAGE_CURRENT, 'two');
    expect(vault.readSecret(SM)).toBe('v-two');
    expect(vault.readSecret(`${SM}::AWSPREVIOUS`)).toBe('v-three');
  });

  it('treats a retried putVersion with the same version id and value as a no-op', () => {
    const vault = openWritableVault(path, key, 'acme');
    vault.putVersion(SSM, 'first', { by: 'a', versionId: 'rot-1' });
    const generation = vault.generation;
    vault.putVersion(SSM, 'first', { by: 'a', versionId: 'rot-1' });
    expect(vault.generation).toBe(generation);
    expect(vault.history(SSM)).toHaveLength(1);
    expect(() => vault.putVersion(SSM, 'other', { by: 'a', versionId: 'rot-1' })).toThrow(VaultConflictError);
  });

  it('refuses to move a label that is not where the caller expects, and to remove AWSCURRENT', () => {
    const vault = openWritableVault(path, key, 'acme');
    vault.putVersion(SSM, 'a', { by: 'x', versionId: 'a' });
    vault.putVersion(SSM, 'b', { by: 'x', versionId: 'b', labels: [STAGE_PENDING] });
    expect(() => vault.moveLabel(SSM, STAGE_CURRENT, 'b', { fromVersionId: 'b-wrong' })).toThrow(VaultConflictError);
    expect(() => vault.removeLabel(SSM, STAGE_CURRENT, 'a')).toThrow(VaultConflictError);
    expect(() => vault.moveLabel(SSM, STAGE_CURRENT, 'missing')).toThrow(SecretLookupError);
    expect(vault.readSecret(SSM)).toBe('a');
  });

  it('drops the oldest unlabelled versions beyond the limit', () => {
    const vault = openWritableVault(path, key, 'acme');
    for (let i = 0; i < MAX_VERSIONS_PER_SECRET + 5; i++) vault.putVersion(SSM, `value-${i}`, { by: 'x', versionId: `v${i}` });
    const history = vault.history(SSM);
    expect(history).toHaveLength(MAX_VERSIONS_PER_SECRET);
    expect(history[0]?.versionId).toBe(`v${MAX_VERSIONS_PER_SECRET + 4}`);
    expect(history.some((version) => version.versionId === 'v0')).toBe(false);
  });

  it('picks up writes of another handle on refresh', () => {
    const reader = openWritableVault(path, key, 'acme');
    const writer = openWritableVault(path, key, 'acme');
    writer.putVersion(SSM, 'one', { by: 'x' });
    expect(reader.has(SSM)).toBe(false);
    expect(reader.refresh()).toBe(true);
    expect(reader.readSecret(SSM)).toBe('one');
    expect(reader.refresh()).toBe(false);
    // A write through a stale handle does not lose the other handle's data.
    writer.putVersion(SM, 'two', { by: 'x' });
    reader.putVersion('ssm:/dev/tenants/acme/third', 'three', { by: 'x' });
    expect(openVault(path, key, 'acme').listNames()).toHaveLength(3);
  });

  it('takes over a stale lock', () => {
    const vault = openWritableVault(path, key, 'acme');
    vault.putVersion(SSM, 'one', { by: 'x' });
    writeFileSync(`${path}.lock`, '99999');
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${path}.lock`, old, old);
    vault.putVersion(SSM, 'two', { by: 'x' });
    expect(vault.readSecret(SSM)).toBe('two');
    expect(existsSync(`${path}.lock`)).toBe(false);
  });
});

describe('vault: a wrong key, another tenant or a damaged file is refused and left untouched', () => {
  function writtenVault(): Buffer {
    openWritableVault(path, key, 'acme').putVersion(SSM, CANARY, { by: 'x' });
    return readFileSync(path);
  }

  it('a wrong key', () => {
    const before = writtenVault();
    const error = expectOpenError(() => openWritableVault(path, randomBytes(32), 'acme'), 'wrong-key');
    expect(error.message).toMatch(/encrypted under another key/);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('another tenant, also with the header edited to match', () => {
    const before = writtenVault();
    expectOpenError(() => openWritableVault(path, key, 'globex'), 'wrong-tenant');
    const header = JSON.parse(before.toString('utf8'));
    writeFileSync(path, JSON.stringify({ ...header, tenant: 'globex' }));
    expectOpenError(() => openWritableVault(path, key, 'globex'), 'corrupted');
  });

  it.each([
    ['a flipped ciphertext byte', (text: string) => {
      const header = JSON.parse(text);
      const data = Buffer.from(header.data, 'base64');
      data[0] = (data[0] ?? 0) ^ 1;
      return JSON.stringify({ ...header, data: data.toString('base64') });
    }],
    ['an edited generation', (text: string) => JSON.stringify({ ...JSON.parse(text), generation: 7 })],
    ['a truncated file', (text: string) => text.slice(0, text.length / 2)],
    ['an empty file', () => ''],
    ['another format', (text: string) => JSON.stringify({ ...JSON.parse(text), format: 'x' })],
    ['a malformed tag', (text: string) => JSON.stringify({ ...JSON.parse(text), tag: 'AAAA' })],
  ])('%s', (_name, damage) => {
    const vault = openWritableVault(path, key, 'acme');
    vault.putVersion(SSM, CANARY, { by: 'x' });
    const damaged = damage(readFileSync(path, 'utf8'));
    writeFileSync(path, damaged);
    expectOpenError(() => openWritableVault(path, key, 'acme'), 'corrupted');
    // The handle opened before the damage must not write over it either.
    expectOpenError(() => vault.putVersion(SSM, 'new', { by: 'x' }), 'corrupted');
    expect(readFileSync(path, 'utf8')).toBe(damaged);
  });

  it('a newer format version', () => {
    writtenVault();
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), version: 2 }));
    expectOpenError(() => openWritableVault(path, key, 'acme'), 'unsupported-version');
  });

  it('a key of the wrong size', () => {
    expectOpenError(() => openWritableVault(path, randomBytes(16), 'acme'), 'bad-key');
  });
});

describe('tenant keys', () => {
  it('reads raw, hex and base64 key files', () => {
    const raw = randomBytes(32);
    expect(parseVaultKey(raw).equals(raw)).toBe(true);
    expect(parseVaultKey(Buffer.from(`${raw.toString('hex')}\n`)).equals(raw)).toBe(true);
    expect(parseVaultKey(Buffer.from(raw.toString('base64'))).equals(raw)).toBe(true);
    expectOpenError(() => parseVaultKey(Buffer.from('short')), 'bad-key');
    const file = join(dir, 'acme.key');
    writeFileSync(file, raw, { mode: 0o600 });
    expect(readVaultKey(file).equals(raw)).toBe(true);
    expectOpenError(() => readVaultKey(join(dir, 'missing.key')), 'unreadable');
  });
});
