/**
 * Rotation and rollback over any {@link SecretStore}.
 *
 * Rotation, where the store has a pending stage (Secrets Manager, the local vault):
 *   1. the new value goes in as a new version labelled `AWSPENDING`, its version id derived from
 *      the rotation id (Secrets Manager's `ClientRequestToken`), so a retry writes nothing twice;
 *   2. `AWSCURRENT` moves to it (the store leaves `AWSPREVIOUS` on the version that was current);
 *   3. `AWSPENDING` is removed.
 * A rotation interrupted between 1 and 3 leaves `AWSPENDING` behind. The next `rotate` detects
 * it: with the same value (or the same rotation id) it completes it; with another value it refuses
 * until the user completes (`resumeRotation`) or discards (`abortRotation`) it.
 *
 * On SSM every new version is current at once, so rotation is a single put (the backend labels the
 * old version `AWSPREVIOUS` first); rotating to the value already current is a no-op, which makes a
 * retried rotation idempotent there too.
 */
import { createHash, randomUUID } from 'node:crypto';
import { referenceTarget, type SecretReference } from '../contract/reference.js';
import {
  SecretStoreError, STAGE_CURRENT, STAGE_PENDING, type SecretStore, type SecretDescription,
} from './store.js';

export interface RotateOptions {
  /** The actor. */
  by: string;
  /**
   * Identifies this rotation; the new version id derives from it, so repeating a rotation with the
   * same id and value is idempotent. Default: derived from nothing (a fresh id per call).
   */
  rotationId?: string;
}

export interface RotationResult {
  target: string;
  /** The version now current. */
  versionId: string;
  /** The version that was current before (now `AWSPREVIOUS`). */
  previousVersionId: string | undefined;
  /** `rotated`: a new version became current; `resumed`: an interrupted rotation was completed; `unchanged`: the value was already current. */
  outcome: 'rotated' | 'resumed' | 'unchanged';
}

/** Secrets Manager wants a `ClientRequestToken` of 32–64 characters: a UUID-shaped hash fits. */
export function rotationVersionId(target: string, rotationId: string): string {
  const hex = createHash('sha256').update(`sovereign-rotation\0${target}\0${rotationId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${((parseInt(hex[16] ?? '0', 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A rotation that stopped after storing its pending version. */
export interface HalfFinishedRotation {
  target: string;
  pendingVersionId: string;
  currentVersionId: string | undefined;
}

async function describeOrThrow(backend: SecretStore, reference: SecretReference): Promise<SecretDescription> {
  const description = await backend.describe(reference);
  if (!description) {
    throw new SecretStoreError('not-found', `${referenceTarget(reference)} does not exist`, {
      hint: 'store a first value with `sovereign secrets put`',
    });
  }
  return description;
}

/** The interrupted rotation of a reference's target, if `AWSPENDING` sits on a non-current version. */
export async function findHalfFinishedRotation(backend: SecretStore, reference: SecretReference): Promise<HalfFinishedRotation | undefined> {
  const description = await backend.describe(reference);
  if (!description?.pendingVersionId || description.pendingVersionId === description.currentVersionId) return undefined;
  return { target: description.target, pendingVersionId: description.pendingVersionId, currentVersionId: description.currentVersionId };
}

/** Steps 2 and 3: promote the pending version and clear its `AWSPENDING` label. */
async function promote(backend: SecretStore, reference: SecretReference, pendingVersionId: string, currentVersionId: string | undefined, by: string): Promise<string> {
  const moved = await backend.moveLabel(reference, STAGE_CURRENT, pendingVersionId, {
    ...(currentVersionId !== undefined ? { fromVersionId: currentVersionId } : {}),
    by,
  });
  await backend.removeLabel(reference, STAGE_PENDING, pendingVersionId);
  return moved.versionId;
}

/** Rotates a reference's target to `value`. See the module comment for the procedure. */
export async function rotateSecret(backend: SecretStore, reference: SecretReference, value: string, options: RotateOptions): Promise<RotationResult> {
  const target = referenceTarget(reference);
  const description = await describeOrThrow(backend, reference);
  const current = description.currentVersionId;

  if (!backend.capabilities(reference.service).pendingStage) {
    if (current !== undefined && (await backend.readValue(reference, { versionId: current })) === value) {
      return { target, versionId: current, previousVersionId: description.previousVersionId, outcome: 'unchanged' };
    }
    const put = await backend.putVersion(reference, value, { by: options.by, labels: [STAGE_CURRENT] });
    return { target, versionId: put.versionId, previousVersionId: current, outcome: 'rotated' };
  }

  const versionId = rotationVersionId(target, options.rotationId ?? randomUUID());
  const pending = description.pendingVersionId;
  if (pending !== undefined && pending === current) {
    // A completed promotion whose cleanup was interrupted.
    await backend.removeLabel(reference, STAGE_PENDING, pending);
  } else if (pending !== undefined) {
    const sameRotation = pending === versionId || (await backend.readValue(reference, { versionId: pending })) === value;
    if (!sameRotation) {
      throw new SecretStoreError('conflict', `a rotation of ${target} was interrupted: version ${pending} is still ${STAGE_PENDING}`, {
        hint: 'complete it with `sovereign secrets rotate … --resume` or discard it with `--abort`, then rotate again',
      });
    }
    const promoted = await promote(backend, reference, pending, current, options.by);
    return { target, versionId: promoted, previousVersionId: current, outcome: 'resumed' };
  }

  if (current !== undefined && current !== versionId && (await backend.readValue(reference, { versionId: current })) === value) {
    return { target, versionId: current, previousVersionId: description.previousVersionId, outcome: 'unchanged' };
  }
  if (current === versionId) {
    // The same rotation already completed.
    return { target, versionId: current, previousVersionId: description.previousVersionId, outcome: 'unchanged' };
  }
  const put = await backend.putVersion(reference, value, { by: options.by, labels: [STAGE_PENDING], versionId });
  const promoted = await promote(backend, reference, put.versionId, current, options.by);
  return { target, versionId: promoted, previousVersionId: current, outcome: 'rotated' };
}

/** Completes an interrupted rotation: its pending version becomes current. */
export async function resumeRotation(backend: SecretStore, reference: SecretReference, options: { by: string }): Promise<RotationResult> {
  const half = await findHalfFinishedRotation(backend, reference);
  if (!half) throw new SecretStoreError('not-found', `${referenceTarget(reference)} has no interrupted rotation to resume`);
  const promoted = await promote(backend, reference, half.pendingVersionId, half.currentVersionId, options.by);
  return { target: half.target, versionId: promoted, previousVersionId: half.currentVersionId, outcome: 'resumed' };
}

/** Discards an interrupted rotation: the pending version loses `AWSPENDING`; the current one stays. */
export async function abortRotation(backend: SecretStore, reference: SecretReference): Promise<{ target: string; discardedVersionId: string; currentVersionId: string | undefined }> {
  const half = await findHalfFinishedRotation(backend, reference);
  if (!half) throw new SecretStoreError('not-found', `${referenceTarget(reference)} has no interrupted rotation to abort`);
  await backend.removeLabel(reference, STAGE_PENDING, half.pendingVersionId);
  return { target: half.target, discardedVersionId: half.pendingVersionId, currentVersionId: half.currentVersionId };
}

export interface RollbackResult {
  target: string;
  /** The version now current (on SSM a new version holding the previous value). */
  versionId: string;
  /** The version that was current and is now `AWSPREVIOUS`. */
  rolledBackVersionId: string | undefined;
}

/** Moves `AWSCURRENT` back to the `AWSPREVIOUS` version. */
export async function rollbackSecret(backend: SecretStore, reference: SecretReference, options: { by: string }): Promise<RollbackResult> {
  const target = referenceTarget(reference);
  const description = await describeOrThrow(backend, reference);
  const previous = description.previousVersionId;
  if (previous === undefined || previous === description.currentVersionId) {
    throw new SecretStoreError('not-found', `${target} has no previous version to roll back to`, {
      hint: 'a previous version exists after a first rotation',
    });
  }
  const moved = await backend.moveLabel(reference, STAGE_CURRENT, previous, {
    ...(description.currentVersionId !== undefined ? { fromVersionId: description.currentVersionId } : {}),
    by: options.by,
  });
  return { target, versionId: moved.versionId, rolledBackVersionId: description.currentVersionId };
}
