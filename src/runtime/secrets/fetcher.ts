/**
 * What the runtime reads secrets through: the raw value a reference's target holds. Writing,
 * rotating and listing versions is the CLI's `SecretStore` (src/secrets/store.ts), never the runtime's.
 */
import type { SecretReference } from '../../contract/reference.js';

/**
 * A secret fetcher. `fetch` returns the stored value: the SSM parameter's value, or the Secrets
 * Manager secret's string at the reference's version stage (JSON-key extraction is the
 * resolver's job). Throws `SecretNotFoundError` / `SecretAccessDeniedError` for those cases.
 */
export interface SecretFetcher {
  readonly name: string;
  fetch(reference: SecretReference): Promise<string>;
  /**
   * A store with a recorded generation (the local vault): from now on, refuse it below
   * `generation` (the rotation notice carries the one the registry recorded).
   */
  raiseVaultFloor?(generation: number): void;
}
