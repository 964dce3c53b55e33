import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseReferenceOrThrow } from '../contract/reference.js';
import { SecretStoreError, STAGE_CURRENT, STAGE_PENDING, STAGE_PREVIOUS, type SecretStore } from './store.js';
import { LocalSecretStore } from '../targets/local/secret-store.js';
import {
  abortRotation, findHalfFinishedRotation, resumeRotation, rollbackSecret, rotateSecret, rotationVersionId,
} from './rotate.js';

const ref = parseReferenceOrThrow('secretsmanager:dev/tenants/acme/avalara:license_key');
const CANARY = 'canary-rotate-5d1f';
let backend: LocalSecretStore;
let vaultPath: string;

beforeEach(() => {
  const dir = mkdtempSync(join(tmpdir(), 'rotate-'));
  const keyPath = join(dir, 'acme.key');
  writeFileSync(keyPath, randomBytes(32), { mode: 0o600 });
  vaultPath = join(dir, 'acme.vault');
  backend = new LocalSecretStore({ tenant: 'acme', vaultPath, keyPath });
});

/** A backend that fails the n-th call of one method, like a process killed mid-rotation. */
function interruptAt(inner: SecretStore, method: 'moveLabel' | 'removeLabel' | 'putVersion'): SecretStore {
  return new Proxy(inner, {
    get(target, property, receiver) {
      const original = Reflect.get(target, property, receiver) as unknown;
      if (property === method) return async () => { throw new Error('interrupted'); };
      return typeof original === 'function' ? original.bind(target) : original;
    },
  });
}

async function labels() {
  return Object.fromEntries((await backend.history(ref)).map((version) => [version.versionId, version.labels]));
}

async function currentValue() {
  return backend.readValue(ref);
}

async function expectBackendError(promise: Promise<unknown>, reason: string, exitCode: number) {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(SecretStoreError);
  expect((error as SecretStoreError).reason).toBe(reason);
  expect((error as SecretStoreError).exitCode).toBe(exitCode);
  expect(String((error as Error).message)).not.toContain('canary');
}

describe('rotateSecret', () => {
  it('puts the new version in as AWSPENDING, promotes it and keeps the old one as AWSPREVIOUS', async () => {
    const first = await backend.putVersion(ref, `${CANARY}-1`, { by: 'alice' });
    const result = await rotateSecret(backend, ref, `${CANARY}-2`, { by: 'bob', rotationId: 'r1' });
    expect(result).toEqual({ target: 'secretsmanager:dev/tenants/acme/avalara', versionId: rotationVersionId(result.target, 'r1'), previousVersionId: first.versionId, outcome: 'rotated' });
    expect(await currentValue()).toBe(`${CANARY}-2`);
    expect(await labels()).toEqual({ [result.versionId]: [STAGE_CURRENT], [first.versionId]: [STAGE_PREVIOUS] });
    expect(await backend.readValue(ref, { versionStage: STAGE_PREVIOUS })).toBe(`${CANARY}-1`);
    expect(JSON.stringify(result)).not.toContain('canary');
    expect(readFileSync(vaultPath, 'utf8')).not.toContain('canary');
  });

  it('is idempotent: the same rotation again changes nothing', async () => {
    await backend.putVersion(ref, 'one', { by: 'a' });
    await rotateSecret(backend, ref, 'two', { by: 'a', rotationId: 'r1' });
    const before = await backend.history(ref);
    const again = await rotateSecret(backend, ref, 'two', { by: 'a', rotationId: 'r1' });
    expect(again.outcome).toBe('unchanged');
    // Another rotation id with the value already current is a no-op too.
    expect((await rotateSecret(backend, ref, 'two', { by: 'a' })).outcome).toBe('unchanged');
    expect(await backend.history(ref)).toEqual(before);
  });

  it('refuses to rotate what does not exist', async () => {
    await expectBackendError(rotateSecret(backend, ref, CANARY, { by: 'a' }), 'not-found', 3);
  });

  it('resumes a rotation interrupted after storing the pending version when retried with the same value', async () => {
    const first = await backend.putVersion(ref, 'one', { by: 'a' });
    await expect(rotateSecret(interruptAt(backend, 'moveLabel'), ref, 'two', { by: 'a', rotationId: 'r1' })).rejects.toThrow('interrupted');
    const half = await findHalfFinishedRotation(backend, ref);
    expect(half).toEqual({ target: 'secretsmanager:dev/tenants/acme/avalara', pendingVersionId: rotationVersionId(half!.target, 'r1'), currentVersionId: first.versionId });
    expect(await currentValue()).toBe('one');

    // A retry with a new rotation id but the same value completes the same version.
    const resumed = await rotateSecret(backend, ref, 'two', { by: 'a', rotationId: 'r2' });
    expect(resumed).toMatchObject({ outcome: 'resumed', versionId: half!.pendingVersionId, previousVersionId: first.versionId });
    expect(await currentValue()).toBe('two');
    expect(await findHalfFinishedRotation(backend, ref)).toBeUndefined();
    expect((await backend.history(ref)).flatMap((version) => version.labels)).not.toContain(STAGE_PENDING);
  });

  it('refuses a different value while a rotation is half-finished, then resumes or aborts on request', async () => {
    await backend.putVersion(ref, 'one', { by: 'a' });
    await expect(rotateSecret(interruptAt(backend, 'moveLabel'), ref, `${CANARY}-two`, { by: 'a' })).rejects.toThrow('interrupted');
    await expectBackendError(rotateSecret(backend, ref, `${CANARY}-three`, { by: 'a' }), 'conflict', 4);
    expect(await currentValue()).toBe('one');

    const aborted = await abortRotation(backend, ref);
    expect(await currentValue()).toBe('one');
    expect(await findHalfFinishedRotation(backend, ref)).toBeUndefined();
    expect(aborted.currentVersionId).toBeDefined();
    await expectBackendError(abortRotation(backend, ref), 'not-found', 3);

    await expect(rotateSecret(interruptAt(backend, 'moveLabel'), ref, 'four', { by: 'a' })).rejects.toThrow('interrupted');
    const resumed = await resumeRotation(backend, ref, { by: 'a' });
    expect(resumed.outcome).toBe('resumed');
    expect(await currentValue()).toBe('four');
    expect(await backend.readValue(ref, { versionStage: STAGE_PREVIOUS })).toBe('one');
  });

  it('finishes the cleanup of a rotation interrupted after the promotion', async () => {
    await backend.putVersion(ref, 'one', { by: 'a' });
    await expect(rotateSecret(interruptAt(backend, 'removeLabel'), ref, 'two', { by: 'a' })).rejects.toThrow('interrupted');
    expect(await currentValue()).toBe('two');
    expect(await findHalfFinishedRotation(backend, ref)).toBeUndefined();
    const next = await rotateSecret(backend, ref, 'three', { by: 'a' });
    expect(next.outcome).toBe('rotated');
    expect((await backend.history(ref)).filter((version) => version.labels.includes(STAGE_PENDING))).toEqual([]);
  });

  it('derives UUID-shaped, deterministic version ids (a valid ClientRequestToken)', () => {
    const id = rotationVersionId('secretsmanager:x', 'r1');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(rotationVersionId('secretsmanager:x', 'r1')).toBe(id);
    expect(rotationVersionId('secretsmanager:y', 'r1')).not.toBe(id);
  });
});

describe('rollbackSecret', () => {
  it('moves AWSCURRENT back to AWSPREVIOUS, and the rolled-back version becomes AWSPREVIOUS', async () => {
    const one = await backend.putVersion(ref, 'one', { by: 'a' });
    const two = await rotateSecret(backend, ref, 'two', { by: 'a' });
    const result = await rollbackSecret(backend, ref, { by: 'a' });
    expect(result).toEqual({ target: 'secretsmanager:dev/tenants/acme/avalara', versionId: one.versionId, rolledBackVersionId: two.versionId });
    expect(await currentValue()).toBe('one');
    expect(await labels()).toEqual({ [one.versionId]: [STAGE_CURRENT], [two.versionId]: [STAGE_PREVIOUS] });
  });

  it('refuses when there is nothing to roll back to', async () => {
    await backend.putVersion(ref, 'one', { by: 'a' });
    await expectBackendError(rollbackSecret(backend, ref, { by: 'a' }), 'not-found', 3);
    await expectBackendError(rollbackSecret(backend, parseReferenceOrThrow('ssm:/dev/tenants/acme/none'), { by: 'a' }), 'not-found', 3);
  });
});
