/**
 * The local target's backend: the tenant's encrypted vault file (see `vault.ts`), re-read when the
 * CLI changes it. The vault module is imported on first use.
 *
 * A vault file older than `minGeneration` (the generation the registry recorded when the process
 * was started) or than any generation this process has already read is refused, not served: a
 * copy of an older vault put back would serve rotated-out values.
 */
import { RuntimeError, SecretNotFoundError } from '../errors.js';
import type { SecretFetcher } from './fetcher.js';
import { formatReference } from '../../contract/reference.js';
import type { Vault } from './vault.js';

export class VaultBackendError extends RuntimeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 503, options);
    this.name = 'VaultBackendError';
  }
}

export function createVaultSecretFetcher(options: { path: string; keyFile: string; tenant: string; minGeneration?: number }): SecretFetcher {
  let vault: Promise<Vault> | undefined;
  let floor = options.minGeneration ?? 0;
  const open = () =>
    (vault ??= import('./vault.js').then((m) => m.openVault(options.path, m.readVaultKey(options.keyFile), options.tenant, { minGeneration: floor })).catch((error: unknown) => {
      vault = undefined;
      throw new VaultBackendError(`cannot open the vault of tenant "${options.tenant}": ${(error as Error).message}`, { cause: error });
    }));
  return {
    name: 'vault',
    raiseVaultFloor(generation) {
      floor = Math.max(floor, generation);
    },
    async fetch(reference) {
      const [v, { SecretLookupError }] = await Promise.all([open(), import('./vault.js')]);
      try {
        v.raiseFloor(floor);
        v.refresh();
        // The raw value at the reference's stage; the resolver applies the JSON key.
        return v.getVersion({ ...reference, ...(reference.service === 'secretsmanager' ? { jsonKey: undefined } : {}) }).value;
      } catch (error) {
        if (error instanceof SecretLookupError) throw new SecretNotFoundError(formatReference(reference), { cause: error });
        throw new VaultBackendError(`reading ${formatReference(reference)} from the vault failed`, { cause: error });
      }
    },
  };
}
