/** An in-memory backend: the test kit and benchmarks serve secrets from it. */
import { SecretNotFoundError } from '../errors.js';
import type { SecretFetcher } from './fetcher.js';
import { formatReference, referenceTarget, type SecretReference } from '../../contract/reference.js';

export interface MemorySecretFetcher extends SecretFetcher {
  /** Sets the value of a target (`ssm:<name>`, or `secretsmanager:<name>` with an optional stage). */
  set(target: string, value: string, versionStage?: string): void;
  /** Number of `fetch` calls so far. */
  readonly calls: number;
}

/** `values` maps targets (`ssm:/x`, `secretsmanager:y`) to values (stage AWSCURRENT). */
export function createMemorySecretFetcher(values: Record<string, string> = {}): MemorySecretFetcher {
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
