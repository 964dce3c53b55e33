/** What a secret store must do for the resolver: fetch the raw value a reference's target holds. */
import type { SecretReference } from '../../contract/reference.js';

/**
 * A secret store. `fetch` returns the stored value: the SSM parameter's value, or the Secrets
 * Manager secret's string at the reference's version stage (JSON-key extraction is the
 * resolver's job). Throws `SecretNotFoundError` / `SecretAccessDeniedError` for those cases.
 */
export interface SecretBackend {
  readonly name: string;
  fetch(reference: SecretReference): Promise<string>;
}
