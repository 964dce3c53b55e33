/** An in-memory backend: the test kit and benchmarks serve secrets from it. */
import { SecretNotFoundError } from '../errors.js';
import type { SecretBackend } from './backend.js';
import { formatReference, referenceTarget, type SecretReference } from '../../contract/reference.js';

export interface MemorySecretBackend extends SecretBackend {
  /** Sets the value of a target (`ssm:<name>`, or `secretsmanager:<name>` with an optional stage). */
  set(target: string, value: string, versionStage?: string): void;
  /** Number of `fetch` calls so far. */
  readonly calls: number;
}

/** `values` maps targets (`ssm:/x`, `secretsmanager:y`) to values (stage AWSCURRENT). */
export function createMemorySecretBackend(values: Record<string, string> = {}): MemorySecretBackend {
  const store = new Map<string, string>();
  const keyOf = (target: string, stage = 'AWSCURRENT') => (target.startsWith('ssm:') ? target : `${target}|${stage}`);
  for (const [target, value] of Object.entries(values)) store.set(keyOf(target), value);
  let calls = 0;
  return {
    name: 'memory',
    get calls() {
      return calls;
    },
    set(target, value, versionStage) {
      store.set(keyOf(target, versionStage), value);
    },
    async fetch(reference: SecretReference) {
      calls++;
      const stage = reference.service === 'secretsmanager' ? reference.versionStage : undefined;
      const value = store.get(keyOf(referenceTarget(reference), stage));
      if (value === undefined) throw new SecretNotFoundError(formatReference(reference));
      return value;
    },
  };
}
