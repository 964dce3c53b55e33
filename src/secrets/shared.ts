/**
 * What the `secrets` use cases share: the environment they run in, parsing of what the user
 * typed (`<extension>.<key>`, a reference), the tenant-scope check, and the steps a change of
 * value takes (composing a JSON key into its secret, staging the generation, the runtime notice).
 *
 * Values enter through `readSecretValue` and leave only into a backend; results, audit events
 * and errors carry references, version ids and metadata.
 */
import { badInput, ExitCode, notFound, UserError } from '../errors.js';
import { listExtensionFolders } from '../extensions/discover.js';
import { formatSecretMapping, parseSecretMapping } from '../contract/secret-mapping.js';
import type { Project } from '../project.js';
import { parseReference, referenceTarget, type SecretReference } from '../contract/reference.js';
import type { TenantRecord } from '../state/registry.js';
import type { GenerationTicket, StateStore, Transaction } from '../state/store.js';
import type { RuntimeNotice } from '../targets/target.js';
import type { SecretStore } from './store.js';
import { checkTenantScope, secretsPatternAmbiguity, type ScopeProblem } from './scope.js';

export type { RuntimeNotice };

/** What the secrets use cases need from the command context and its target. */
export interface SecretsEnv {
  project: Project;
  state: StateStore;
  /** The backend holding a tenant's values. */
  backendFor(tenant: TenantRecord): Promise<SecretStore>;
  /** Tells the tenant's running environments, after the change is committed (the target's way). */
  notifyRuntime(tenant: TenantRecord, targets: string[], generation: number | null): Promise<RuntimeNotice>;
  /** Warnings (stderr). */
  warn?: (message: string) => void;
}

/**
 * `<extension>.<key>` of the commands (the rule is `contract/secret-mapping.ts`'s); a usage error
 * otherwise, which does not repeat the argument: a value pasted in its place would be echoed.
 */
export function parseMappingKey(text: string): { extension: string; key: string; mapping: string } {
  const parsed = parseSecretMapping(text);
  if (!parsed.ok) {
    throw badInput('the secret argument is not <extension>.<key>',
      'e.g. avalara.license_key: an extension name (a-z, 0-9 and single "-"), ".", and one of its secret keys (a-z, 0-9 and "_")');
  }
  return { ...parsed.mapping, mapping: formatSecretMapping(parsed.mapping) };
}

/** Step 1: syntax; throws exit 2 with the parser's message. */
export function parseReferenceForInput(text: string): SecretReference {
  const result = parseReference(text);
  if (!result.ok) throw badInput(`invalid secret reference: ${result.problem.message}`, result.problem.hint);
  return result.reference;
}

/** The project's extension folders: the extensions a reference may be scoped to. */
export function projectExtensions(project: Project): string[] {
  return listExtensionFolders(project.paths.extensions);
}

/** Step 2: the reference lies in the tenant's scope (for one of `extensions`) and no other's. */
export async function assertScope(env: SecretsEnv, record: TenantRecord, reference: SecretReference, extensions: string[]): Promise<void> {
  const allTenants = (await env.state.listTenants()).map((tenant) => tenant.id);
  const allExtensions = projectExtensions(env.project);
  // When no extension's scope takes the reference, report the most telling reason: a name that
  // also lies in another tenant's scope says more than "outside" for the extensions it missed.
  const weight: Record<ScopeProblem['code'], number> = { syntax: 3, reserved: 2, 'other-tenant': 2, 'ambiguous-pattern': 2, 'outside-scope': 1 };
  let worst: ScopeProblem | undefined;
  for (const extension of extensions) {
    const result = checkTenantScope(reference, {
      tenant: record.id, extension, stage: record.stage, config: env.project.config.secrets, allTenants, allExtensions,
    });
    if (result.ok) return;
    if (worst === undefined || weight[result.problem.code] > weight[worst.code]) worst = result.problem;
  }
  throw badInput(worst?.message ?? `tenant "${record.id}" has no extension to scope the reference to`, worst?.hint);
}

/**
 * The whole value to store for `value` at `reference`: for `secretsmanager:<name>:<json-key>`,
 * the current JSON object with that key replaced (other keys kept), or `{ key: value }` for a new
 * secret; otherwise `value` itself.
 */
export async function composeValue(backend: SecretStore, reference: SecretReference, value: string, exists: boolean): Promise<string> {
  if (reference.service !== 'secretsmanager' || reference.jsonKey === undefined) return value;
  if (!exists) return JSON.stringify({ [reference.jsonKey]: value });
  const current = await backend.readValue({ service: 'secretsmanager', name: reference.name });
  let object: unknown;
  try {
    object = JSON.parse(current);
  } catch {
    object = undefined;
  }
  if (typeof object !== 'object' || object === null || Array.isArray(object)) {
    // The JSON key is not repeated: it could be a value pasted into the reference.
    throw new UserError(`the value of ${referenceTarget(reference)} is not a JSON object, so the reference's JSON key cannot be replaced in it`, {
      exitCode: ExitCode.conflict,
      hint: `store the whole value with \`sovereign secrets put secretsmanager:${reference.name} --tenant <id> --from-file <json>\``,
    });
  }
  return JSON.stringify({ ...(object as Record<string, unknown>), [reference.jsonKey]: value });
}

export function noNotice(summary: string): RuntimeNotice {
  return { generation: null, webhook: null, summary };
}

/**
 * Records the changed references in the tenant's generation marker, in the same commit as the
 * change and its audit event; the ticket carries the new generation once committed (null when
 * nothing changed, or where the target could not publish it).
 */
export function stageGeneration(tx: Transaction, record: TenantRecord, targets: string[]): GenerationTicket | null {
  if (targets.length === 0) return null;
  return tx.bumpGeneration(record.id, { references: targets });
}

/** The mapping's reference, or exit 3. */
export function mappedReference(record: TenantRecord, mapping: string): SecretReference {
  const entry = record.secrets?.[mapping];
  if (!entry) {
    throw notFound(`tenant "${record.id}" has no secret ${mapping}`, `map one with \`sovereign secrets set ${record.id} ${mapping} <reference>\``);
  }
  return parseReferenceForInput(entry.reference);
}

/**
 * For `tenant create`, `tenant deploy`, `ext new` and `ext enable`: refuses, exit 2, when the
 * configured secrets pattern could put one name in two tenants' scopes, for any stage, tenant or
 * extension (a property of the pattern, so an id or extension added later cannot break it).
 */
export function assertSecretsPatternUnambiguous(project: Project): void {
  const ambiguity = secretsPatternAmbiguity(project.config.secrets);
  if (ambiguity) throw badInput(ambiguity.message, ambiguity.hint);
}
