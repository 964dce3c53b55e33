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
import type { StateStore } from '../state/store.js';
import { requireTenant, tenantKeyPath, tenantVaultPath, webhookSecretReference } from '../tenants/tenants.js';
import { probeReference, SecretBackendError, type ProbeStatus, type SecretBackend, type SecretVersionInfo } from './backend.js';
import { LocalSecretBackend } from './local-backend.js';
import { bumpGenerationFile, DEFAULT_PICKUP_MS, generationPath, runningDevPort, sendRotationWebhook, type NotifyResult } from './notify.js';
import { abortRotation, resumeRotation, rollbackSecret, rotateSecret, type RotationResult } from './rotate.js';
import { checkTenantScope, patternAmbiguity, resolveSecretsConfig, scopeRule, type ScopeProblem } from './scope.js';
import { assertValueFits } from './value-input.js';

/** What the service needs from the command context. */
export interface SecretsEnv {
  project: Project;
  state: StateStore;
  target: 'local' | 'aws';
  /** The backend holding a tenant's values. */
  backendFor(tenant: TenantRecord): Promise<SecretBackend>;
  /** Warnings (stderr). */
  warn?: (message: string) => void;
  /**
   * Publishes changed references to the tenant's generation marker where it is not a local file
   * (aws: the tenant table's marker item); returns the new generation.
   */
  publishGeneration?: (tenant: TenantRecord, targets: string[]) => Promise<number>;
}

/** A local backend over the tenant's vault and key in `.sovereign/`. */
export function localBackendFor(project: Project, tenant: string): LocalSecretBackend {
  return new LocalSecretBackend({ tenant, vaultPath: tenantVaultPath(project, tenant), keyPath: tenantKeyPath(project, tenant) });
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
async function composeValue(backend: SecretBackend, reference: SecretReference, value: string, exists: boolean): Promise<string> {
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

/** How the running tenant learns about a change. */
export interface RuntimeNotice {
  generation: number | null;
  webhook: NotifyResult | null;
  /** One line for people: acknowledged in N ms, or when the runtime picks it up. */
  summary: string;
}

/**
 * `secrets put`: stores a value for a reference in the tenant's scope. An existing target gets a
 * new version through the rotation procedure (so labels and retries behave the same).
 */
export async function putSecret(env: SecretsEnv, tenantId: string, referenceText: string, value: string): Promise<PutSecretResult> {
  const reference = parseReferenceForInput(referenceText);
  const target = referenceTarget(reference);
  assertValueFits(value, reference.service);
  const { result, record, generation } = await env.state.mutate({ command: 'secrets put', action: 'secret.put', tenant: tenantId, args: { reference: target } }, async (tx) => {
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
    const generation = await stageGeneration(env, tx, record, result.outcome === 'unchanged' ? [] : [target]);
    return { result, record, generation };
  });
  const runtime = result.outcome === 'unchanged' ? noNotice('the value was already current') : await notifyRuntime(env, record, [target], generation);
  return { tenant: record.id, ...result, runtime };
}

function noNotice(summary: string): RuntimeNotice {
  return { generation: null, webhook: null, summary };
}

/**
 * Records the changed references in the tenant's generation marker, landing with the audit
 * event; returns the new generation (null when nothing changed or the target keeps it elsewhere).
 */
async function stageGeneration(env: SecretsEnv, tx: { write(path: string, data: string | Uint8Array, mode?: number): void }, record: TenantRecord, targets: string[]): Promise<number | null> {
  if (targets.length === 0) return null;
  if (env.target !== 'local') {
    if (!env.publishGeneration) return null;
    try {
      return await env.publishGeneration(record, targets);
    } catch (error) {
      // The change itself is complete; runtimes then see it when their cached copy expires.
      env.warn?.(`the generation marker of ${record.id} was not updated (${error instanceof Error ? error.message : String(error)}); runtimes pick the change up when their cache expires`);
      return null;
    }
  }
  const path = generationPath(env.project, record.id);
  const { marker, text } = bumpGenerationFile(path, targets);
  tx.write(path, text);
  return marker.generation;
}

/**
 * Tells the tenant's runtime: the signed webhook when `sovereign dev` serves the tenant, else the
 * generation marker alone (written with the change) brings it within about a second.
 */
async function notifyRuntime(env: SecretsEnv, record: TenantRecord, targets: string[], generation: number | null): Promise<RuntimeNotice> {
  if (env.target !== 'local') {
    return {
      generation,
      webhook: null,
      summary: generation !== null
        ? `generation ${generation} published: warm runtime environments of ${record.id} refetch the secret within about ${DEFAULT_PICKUP_MS / 1000} s of their next request; no redeploy needed`
        : 'warm runtime environments fetch the new version when their cached copy expires (SOVEREIGN_SECRET_TTL_MS); no redeploy needed',
    };
  }
  const pickup = `the runtime picks the change up through its generation marker within about ${DEFAULT_PICKUP_MS / 1000} s of its next request`;
  const port = runningDevPort(env.project.paths.devState, record.id);
  if (port === undefined) return { generation, webhook: null, summary: `no running runtime for ${record.id} (sovereign dev is not running); ${pickup}` };
  let secret: string;
  try {
    const backend = await env.backendFor(record);
    secret = await backend.readValue(parseReferenceForInput(webhookSecretReference(record.stage, record.id)));
  } catch {
    return { generation, webhook: null, summary: `the webhook signing secret of ${record.id} is unavailable; ${pickup}` };
  }
  const webhook = await sendRotationWebhook({
    tenant: record.id,
    references: targets,
    generation: generation ?? 0,
    secret,
    baseUrl: `http://127.0.0.1:${port}/t/${record.id}`,
  });
  const summary = webhook.acknowledged
    ? `the runtime of ${record.id} acknowledged the rotation in ${webhook.propagationMs} ms${webhook.invalidated !== undefined ? ` (${webhook.invalidated} cached entr${webhook.invalidated === 1 ? 'y' : 'ies'} dropped)` : ''}`
    : `the runtime of ${record.id} did not acknowledge the webhook (${webhook.reason ?? 'no answer'}); the rotation is complete and ${pickup}`;
  return { generation, webhook, summary };
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
  const { result, record, generation } = await env.state.mutate({ command: 'secrets rotate', action: 'secret.rotate', tenant: tenantId, args: { mapping } }, async (tx) => {
    const record = await requireTenant(env.state, tenantId);
    const reference = mappedReference(record, mapping);
    const target = referenceTarget(reference);
    const backend = await env.backendFor(record);
    let result: Omit<RotateSecretResult, 'runtime' | 'tenant'>;
    if ('abort' in action) {
      const aborted = await abortRotation(backend, reference);
      result = { mapping, reference: formatReference(reference), target, versionId: aborted.currentVersionId ?? aborted.discardedVersionId, previousVersionId: null, outcome: 'aborted' };
      Object.assign(tx.eventArgs, { reference: formatReference(reference), discardedVersionId: aborted.discardedVersionId, outcome: 'aborted' });
      return { result, record, generation: null };
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
    const generation = await stageGeneration(env, tx, record, rotated.outcome === 'unchanged' ? [] : [target]);
    return { result, record, generation };
  });
  const runtime = result.outcome === 'unchanged' || result.outcome === 'aborted'
    ? noNotice(result.outcome === 'aborted' ? 'the current version did not change' : 'the value was already current; nothing changed')
    : await notifyRuntime(env, record, [result.target], generation);
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
  const { result, record, generation } = await env.state.mutate({ command: 'secrets rollback', action: 'secret.rollback', tenant: tenantId, args: { mapping } }, async (tx) => {
    const record = await requireTenant(env.state, tenantId);
    const reference = mappedReference(record, mapping);
    const backend = await env.backendFor(record);
    const rolled = await rollbackSecret(backend, reference, { by: env.state.actor });
    Object.assign(tx.eventArgs, { reference: formatReference(reference), versionId: rolled.versionId, rolledBackVersionId: rolled.rolledBackVersionId ?? null });
    const generation = await stageGeneration(env, tx, record, [rolled.target]);
    return {
      result: { mapping, reference: formatReference(reference), target: rolled.target, versionId: rolled.versionId, rolledBackVersionId: rolled.rolledBackVersionId ?? null },
      record,
      generation,
    };
  });
  const runtime = await notifyRuntime(env, record, [result.target], generation);
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
  if (error instanceof SecretBackendError) {
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

/** Where a tenant's secrets must lie, for hints and `--help`. */
export function describeTenantScope(project: Project, record: TenantRecord, extension: string): { ssm: string; secretsmanager: string } {
  const config = resolveSecretsConfig(project.config.secrets);
  const values = { stage: record.stage, tenant: record.id, extension };
  return { ssm: scopeRule(config, 'ssm', values).value, secretsmanager: scopeRule(config, 'secretsmanager', values).value };
}
