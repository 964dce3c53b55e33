/**
 * The `secrets` commands' domain logic: validating and recording a tenant's references, storing
 * values, rotating and rolling back, and telling the tenant's runtime. Commands parse and render;
 * everything here is reachable from tests without a terminal.
 *
 * Values enter through {@link readSecretValue} and leave only into a backend; results, audit
 * events and errors carry references, version ids and metadata.
 */
import { join } from 'node:path';
import { badInput, denied, ExitCode, notFound, UserError } from '../errors.js';
import { listExtensionFolders, loadExtension } from '../extensions/discover.js';
import { formatSecretMapping, parseSecretMapping } from '../contract/secret-mapping.js';
import type { Project } from '../project.js';
import { formatReference, parseReference, referenceTarget, type SecretReference } from '../contract/reference.js';
import type { TenantRecord } from '../state/registry.js';
import type { GenerationTicket, StateStore, Transaction } from '../state/store.js';
import type { RuntimeNotice } from '../targets/target.js';
import { requireTenant } from '../tenants/tenants.js';
import { probeReference, SecretStoreError, type ProbeStatus, type SecretStore, type SecretVersionInfo } from './store.js';
import { abortRotation, resumeRotation, rollbackSecret, rotateSecret, type RotationResult } from './rotate.js';
import { checkTenantScope, patternAmbiguity, type ScopeProblem } from './scope.js';
import { assertValueFits } from './value-input.js';

/** What the service needs from the command context and its target. */
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

/** `<extension>.<key>` of the commands (the rule is `contract/secret-mapping.ts`'s); a usage error otherwise. */
export function parseMappingKey(text: string): { extension: string; key: string; mapping: string } {
  const parsed = parseSecretMapping(text);
  if (!parsed.ok) throw badInput(parsed.problem, 'e.g. avalara.license_key: an extension name, ".", and one of its secret keys (a-z, 0-9 and "_")');
  return { ...parsed.mapping, mapping: formatSecretMapping(parsed.mapping) };
}

/** Step 1: syntax; throws exit 2 with the parser's message. */
export function parseReferenceForInput(text: string): SecretReference {
  const result = parseReference(text);
  if (!result.ok) throw badInput(`invalid secret reference: ${result.problem.message}`, result.problem.hint);
  return result.reference;
}

function projectExtensions(project: Project): string[] {
  return listExtensionFolders(project.paths.extensions);
}

/** Step 2: the reference lies in the tenant's scope (for one of `extensions`) and no other's. */
async function assertScope(env: SecretsEnv, record: TenantRecord, reference: SecretReference, extensions: string[]): Promise<void> {
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

/** Maps a failed probe to the exit code of SPEC.md. */
function probeError(status: ProbeStatus, detail: string, reference: string, tenant: string): UserError {
  switch (status) {
    case 'missing':
      return notFound(detail, `store a value first: sovereign secrets put ${reference} --tenant ${tenant} --from-stdin`);
    case 'key-missing':
      return notFound(detail, 'add the key to the secret\'s JSON value, or reference the whole value');
    case 'denied':
      return denied(detail);
    default:
      return new UserError(detail, { exitCode: ExitCode.failed });
  }
}

/**
 * The whole value to store for `value` at `reference`: for `secretsmanager:<name>:<json-key>`,
 * the current JSON object with that key replaced (other keys kept), or `{ key: value }` for a new
 * secret; otherwise `value` itself.
 */
async function composeValue(backend: SecretStore, reference: SecretReference, value: string, exists: boolean): Promise<string> {
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
    throw new UserError(`the value of ${referenceTarget(reference)} is not a JSON object, so its key "${reference.jsonKey}" cannot be replaced`, {
      exitCode: ExitCode.conflict,
      hint: `store the whole value with \`sovereign secrets put secretsmanager:${reference.name} --tenant <id> --from-file <json>\``,
    });
  }
  return JSON.stringify({ ...(object as Record<string, unknown>), [reference.jsonKey]: value });
}

export interface SetSecretResult {
  tenant: string;
  mapping: string;
  reference: string;
  setAt: string;
  setBy: string;
  previousReference: string | null;
}

/**
 * `secrets set`: validates in the order of SPEC.md — syntax, tenant scope, the extension declares
 * the key, the target exists (and holds the JSON key) — and only then records the mapping.
 */
export async function setSecret(env: SecretsEnv, tenantId: string, mappingText: string, referenceText: string): Promise<SetSecretResult> {
  const { extension, key, mapping } = parseMappingKey(mappingText);
  const reference = parseReferenceForInput(referenceText);
  return env.state.mutate({ command: 'secrets set', action: 'secret.set', tenant: tenantId, args: { mapping } }, async (tx) => {
    const record = await requireTenant(env.state, tenantId);
    await assertScope(env, record, reference, [extension]);
    const discovered = await loadExtension(join(env.project.paths.extensions, extension));
    if (discovered.status === 'failed' && !projectExtensions(env.project).includes(extension)) {
      throw notFound(`extension "${extension}" does not exist`, 'list extensions with `sovereign ext list`');
    }
    if (!discovered.manifest) {
      throw badInput(`extension "${extension}" cannot be loaded: ${discovered.problems[0] ?? 'invalid manifest'}`, `check it with \`sovereign ext validate ${extension}\``);
    }
    const declared = discovered.manifest.secrets.map((secret) => secret.key);
    if (!declared.includes(key)) {
      throw badInput(`extension "${extension}" declares no secret "${key}"`,
        declared.length > 0 ? `it declares: ${declared.join(', ')}` : 'it declares no secrets; add one to `secrets` in its extension.ts');
    }
    const text = formatReference(reference);
    const backend = await env.backendFor(record);
    const probe = await probeReference(backend, reference, referenceTarget(reference));
    if (probe.status !== 'ok') throw probeError(probe.status, probe.detail, text, record.id);
    if (!record.extensions.includes(extension)) env.warn?.(`extension "${extension}" is not enabled for ${record.id}; the mapping takes effect once it is`);
    const now = new Date().toISOString();
    const previous = record.secrets?.[mapping]?.reference ?? null;
    tx.putTenant({ ...record, secrets: { ...record.secrets, [mapping]: { reference: text, setAt: now, setBy: env.state.actor } }, updatedAt: now });
    Object.assign(tx.eventArgs, { reference: text, previousReference: previous });
    return { tenant: record.id, mapping, reference: text, setAt: now, setBy: env.state.actor, previousReference: previous };
  });
}

export interface PutSecretResult {
  tenant: string;
  target: string;
  versionId: string;
  created: boolean;
  outcome: 'created' | RotationResult['outcome'];
  previousVersionId: string | null;
  runtime: RuntimeNotice;
}

export type { RuntimeNotice };

/**
 * `secrets put`: stores a value for a reference in the tenant's scope. An existing target gets a
 * new version through the rotation procedure (so labels and retries behave the same).
 */
export async function putSecret(env: SecretsEnv, tenantId: string, referenceText: string, value: string): Promise<PutSecretResult> {
  const reference = parseReferenceForInput(referenceText);
  const target = referenceTarget(reference);
  assertValueFits(value, reference.service);
  const { result, record, ticket } = await env.state.mutate({ command: 'secrets put', action: 'secret.put', tenant: tenantId, args: { reference: target } }, async (tx) => {
    const record = await requireTenant(env.state, tenantId);
    const extensions = [...new Set([...record.extensions, ...projectExtensions(env.project)])];
    await assertScope(env, record, reference, extensions.length > 0 ? extensions : ['extension']);
    const backend = await env.backendFor(record);
    const existing = await backend.describe(reference);
    const whole = await composeValue(backend, reference, value, existing !== undefined);
    assertValueFits(whole, reference.service);
    let result: Omit<PutSecretResult, 'runtime' | 'tenant'>;
    if (!existing) {
      const put = await backend.putVersion(reference, whole, { by: env.state.actor });
      result = { target, versionId: put.versionId, created: true, outcome: 'created', previousVersionId: null };
    } else {
      const rotated = await rotateSecret(backend, reference, whole, { by: env.state.actor });
      result = { target, versionId: rotated.versionId, created: false, outcome: rotated.outcome, previousVersionId: rotated.previousVersionId ?? null };
    }
    Object.assign(tx.eventArgs, { versionId: result.versionId, previousVersionId: result.previousVersionId, outcome: result.outcome });
    const ticket = stageGeneration(tx, record, result.outcome === 'unchanged' ? [] : [target]);
    return { result, record, ticket };
  });
  const runtime = result.outcome === 'unchanged' ? noNotice('the value was already current') : await env.notifyRuntime(record, [target], ticket?.generation ?? null);
  return { tenant: record.id, ...result, runtime };
}

function noNotice(summary: string): RuntimeNotice {
  return { generation: null, webhook: null, summary };
}

/**
 * Records the changed references in the tenant's generation marker, in the same commit as the
 * change and its audit event; the ticket carries the new generation once committed (null when
 * nothing changed, or where the target could not publish it).
 */
function stageGeneration(tx: Transaction, record: TenantRecord, targets: string[]): GenerationTicket | null {
  if (targets.length === 0) return null;
  return tx.bumpGeneration(record.id, { references: targets });
}

/** The mapping's reference, or exit 3. */
function mappedReference(record: TenantRecord, mapping: string): SecretReference {
  const entry = record.secrets?.[mapping];
  if (!entry) {
    throw notFound(`tenant "${record.id}" has no secret ${mapping}`, `map one with \`sovereign secrets set ${record.id} ${mapping} <reference>\``);
  }
  return parseReferenceForInput(entry.reference);
}

export interface RotateSecretResult {
  tenant: string;
  mapping: string;
  reference: string;
  target: string;
  versionId: string;
  previousVersionId: string | null;
  outcome: RotationResult['outcome'] | 'aborted';
  runtime: RuntimeNotice;
}

/** `secrets rotate`: a new value (or `resume` / `abort` of an interrupted rotation). */
export async function rotateTenantSecret(
  env: SecretsEnv,
  tenantId: string,
  mappingText: string,
  action: { value: string; rotationId?: string } | { resume: true } | { abort: true },
): Promise<RotateSecretResult> {
  const { mapping } = parseMappingKey(mappingText);
  const { result, record, ticket } = await env.state.mutate({ command: 'secrets rotate', action: 'secret.rotate', tenant: tenantId, args: { mapping } }, async (tx) => {
    const record = await requireTenant(env.state, tenantId);
    const reference = mappedReference(record, mapping);
    const target = referenceTarget(reference);
    const backend = await env.backendFor(record);
    let result: Omit<RotateSecretResult, 'runtime' | 'tenant'>;
    if ('abort' in action) {
      const aborted = await abortRotation(backend, reference);
      result = { mapping, reference: formatReference(reference), target, versionId: aborted.currentVersionId ?? aborted.discardedVersionId, previousVersionId: null, outcome: 'aborted' };
      Object.assign(tx.eventArgs, { reference: formatReference(reference), discardedVersionId: aborted.discardedVersionId, outcome: 'aborted' });
      return { result, record, ticket: null };
    }
    let rotated: RotationResult;
    if ('resume' in action) {
      rotated = await resumeRotation(backend, reference, { by: env.state.actor });
    } else {
      const whole = await composeValue(backend, reference, action.value, true);
      assertValueFits(whole, reference.service);
      rotated = await rotateSecret(backend, reference, whole, { by: env.state.actor, ...(action.rotationId !== undefined ? { rotationId: action.rotationId } : {}) });
    }
    result = { mapping, reference: formatReference(reference), target, versionId: rotated.versionId, previousVersionId: rotated.previousVersionId ?? null, outcome: rotated.outcome };
    Object.assign(tx.eventArgs, { reference: formatReference(reference), versionId: rotated.versionId, previousVersionId: rotated.previousVersionId ?? null, outcome: rotated.outcome });
    const ticket = stageGeneration(tx, record, rotated.outcome === 'unchanged' ? [] : [target]);
    return { result, record, ticket };
  });
  const runtime = result.outcome === 'unchanged' || result.outcome === 'aborted'
    ? noNotice(result.outcome === 'aborted' ? 'the current version did not change' : 'the value was already current; nothing changed')
    : await env.notifyRuntime(record, [result.target], ticket?.generation ?? null);
  return { tenant: record.id, ...result, runtime };
}

export interface RollbackSecretResult {
  tenant: string;
  mapping: string;
  reference: string;
  target: string;
  versionId: string;
  rolledBackVersionId: string | null;
  runtime: RuntimeNotice;
}

/** `secrets rollback`: `AWSPREVIOUS` becomes current again. */
export async function rollbackTenantSecret(env: SecretsEnv, tenantId: string, mappingText: string): Promise<RollbackSecretResult> {
  const { mapping } = parseMappingKey(mappingText);
  const { result, record, ticket } = await env.state.mutate({ command: 'secrets rollback', action: 'secret.rollback', tenant: tenantId, args: { mapping } }, async (tx) => {
    const record = await requireTenant(env.state, tenantId);
    const reference = mappedReference(record, mapping);
    const backend = await env.backendFor(record);
    const rolled = await rollbackSecret(backend, reference, { by: env.state.actor });
    Object.assign(tx.eventArgs, { reference: formatReference(reference), versionId: rolled.versionId, rolledBackVersionId: rolled.rolledBackVersionId ?? null });
    const ticket = stageGeneration(tx, record, [rolled.target]);
    return {
      result: { mapping, reference: formatReference(reference), target: rolled.target, versionId: rolled.versionId, rolledBackVersionId: rolled.rolledBackVersionId ?? null },
      record,
      ticket,
    };
  });
  const runtime = await env.notifyRuntime(record, [result.target], ticket?.generation ?? null);
  return { tenant: record.id, ...result, runtime };
}

export interface SecretListEntry {
  mapping: string;
  reference: string;
  versionId: string | null;
  lastRotatedAt: string | null;
  lastRotatedBy: string | null;
  setAt: string;
  setBy: string;
  /** `ok`, or why the metadata could not be read (`missing`, `denied`, `error`). */
  status: 'ok' | 'missing' | 'denied' | 'error';
  /** For a status other than `ok`: one line, no values. */
  detail: string | null;
}

function statusOfError(error: unknown): { status: 'missing' | 'denied' | 'error'; detail: string } {
  if (error instanceof SecretStoreError) {
    return { status: error.reason === 'not-found' ? 'missing' : error.reason === 'denied' ? 'denied' : 'error', detail: error.message };
  }
  throw error;
}

/** `secrets list`: references and version metadata, never values. */
export async function listTenantSecrets(env: SecretsEnv, tenantId: string): Promise<{ tenant: string; secrets: SecretListEntry[] }> {
  const record = await requireTenant(env.state, tenantId);
  const backend = await env.backendFor(record);
  const secrets: SecretListEntry[] = [];
  for (const mapping of Object.keys(record.secrets ?? {}).sort()) {
    const entry = record.secrets[mapping]!;
    const base = { mapping, reference: entry.reference, setAt: entry.setAt, setBy: entry.setBy };
    try {
      const description = await backend.describe(parseReferenceForInput(entry.reference));
      secrets.push({
        ...base,
        versionId: description?.currentVersionId ?? null,
        lastRotatedAt: description?.lastChangedAt ?? null,
        lastRotatedBy: description?.lastChangedBy ?? null,
        status: description ? 'ok' : 'missing',
        detail: description ? null : `${referenceTarget(parseReferenceForInput(entry.reference))} does not exist`,
      });
    } catch (error) {
      secrets.push({ ...base, versionId: null, lastRotatedAt: null, lastRotatedBy: null, ...statusOfError(error) });
    }
  }
  return { tenant: record.id, secrets };
}

export interface SecretCheckEntry {
  mapping: string;
  reference: string | null;
  status: ProbeStatus | 'unset';
  detail: string;
}

/**
 * `secrets check`: resolves every reference of the tenant (stage and JSON key included) and lists
 * required keys of enabled extensions that have no reference.
 */
export async function checkTenantSecrets(env: SecretsEnv, tenantId: string): Promise<{ tenant: string; ok: boolean; secrets: SecretCheckEntry[] }> {
  const record = await requireTenant(env.state, tenantId);
  const backend = await env.backendFor(record);
  const results: SecretCheckEntry[] = [];
  for (const mapping of Object.keys(record.secrets ?? {}).sort()) {
    const text = record.secrets[mapping]!.reference;
    const parsed = parseReference(text);
    if (!parsed.ok) {
      results.push({ mapping, reference: text, status: 'error', detail: `invalid reference: ${parsed.problem.message}` });
      continue;
    }
    try {
      const probe = await probeReference(backend, parsed.reference, referenceTarget(parsed.reference));
      results.push({ mapping, reference: text, status: probe.status, detail: probe.detail });
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      results.push({ mapping, reference: text, status: 'error', detail: error.message });
    }
  }
  for (const extension of record.extensions) {
    const discovered = await loadExtension(join(env.project.paths.extensions, extension));
    for (const secret of discovered.manifest?.secrets ?? []) {
      const mapping = formatSecretMapping({ extension, key: secret.key });
      if (secret.required && !record.secrets?.[mapping]) results.push({ mapping, reference: null, status: 'unset', detail: 'required by the extension and not set' });
    }
  }
  results.sort((a, b) => a.mapping.localeCompare(b.mapping));
  return { tenant: record.id, ok: results.every((entry) => entry.status === 'ok'), secrets: results };
}

/** `secrets history`: the versions of one mapping's target, newest first, without values. */
export async function secretHistory(env: SecretsEnv, tenantId: string, mappingText: string): Promise<{ tenant: string; mapping: string; reference: string; versions: SecretVersionInfo[] }> {
  const { mapping } = parseMappingKey(mappingText);
  const record = await requireTenant(env.state, tenantId);
  const reference = mappedReference(record, mapping);
  const backend = await env.backendFor(record);
  return { tenant: record.id, mapping, reference: formatReference(reference), versions: await backend.history(reference) };
}

/**
 * For `tenant create` (and anything adding tenants or extensions): refuses, exit 2, when the
 * configured secrets pattern would put one name in two tenants' scopes.
 */
export function assertSecretsPatternUnambiguous(project: Project, tenants: string[], extensions = projectExtensions(project), stage = 'dev'): void {
  const ambiguity = patternAmbiguity(project.config.secrets, tenants, extensions, stage);
  if (ambiguity) throw badInput(ambiguity.message, ambiguity.hint);
}
