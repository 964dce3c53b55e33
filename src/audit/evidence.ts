/**
 * Gathers the evidence of one tenant for its audit bundle: registry record and history, rendered
 * stack and policy, isolation proof, secret references with rotation metadata (never values),
 * extensions with code hashes and the OpenAPI document. Every section either holds what was
 * gathered or says why it is not available; nothing is made up.
 *
 * I/O is injected (`EvidenceSources`), so the gathering is tested without a project on disk.
 */
import { extensionRoutePath } from '../contract/runtime-paths.js';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { secretMappingExtension } from '../contract/secret-mapping.js';
import { firstLine } from '../errors.js';
import type { ValidManifest } from '../extensions/manifest-schema.js';
import { buildOpenApiDocument } from '../runtime/openapi.js';
import { parseReference, referenceTarget } from '../contract/reference.js';
import type { SecretStore, SecretVersionInfo } from '../secrets/store.js';
import type { TenantRecord } from '../state/registry.js';
import type { IsolationInputs, IsolationMatrix } from '../isolation/matrix.js';
import { OFFLINE_ACCOUNT, OFFLINE_REGION } from '../isolation/inputs.js';
import { renderTenantPolicy, tenantStackName, renderTenantStack, tenantTags, TIERS } from '../templates/index.js';
import { stackRoutesOf, type StackExtension } from '../templates/tenant-api.js';
import { stackSchedulesOf } from '../templates/schedules.js';
import { tenantSecretScope } from '../templates/secret-scope.js';
import { tenantRuntimeConfig } from '../targets/local/dev/launch.js';
import type { Project } from '../project.js';
import { resolveTenantAuth, type TenantAuth } from '../contract/auth.js';
import type { ApiKeyView } from '../tenants/api-keys.js';
import { namedResources, type NamedResource } from './resource-names.js';

/** References whose current version is older than this are flagged. */
export const ROTATION_MAX_AGE_DAYS = 90;
const DAY_MS = 86_400_000;

export interface LoadedExtension {
  name: string;
  dir: string;
  status: 'ok' | 'invalid' | 'failed';
  manifest: ValidManifest | undefined;
  problems: string[];
  codeSha256: string;
  /** Source files of the extension (absolute). */
  files: string[];
}

export interface EvidenceSources {
  project: Project;
  target: 'local' | 'aws';
  tenant: TenantRecord;
  /** Every tenant of the registry (for the isolation matrix). */
  tenants: TenantRecord[];
  toolVersion: string;
  now: Date;
  loadExtensions(names: string[]): Promise<LoadedExtension[]>;
  /** The backend holding the tenant's secret versions, or undefined when it cannot be read here. */
  secretBackend(): Promise<SecretStore | undefined> | SecretStore | undefined;
  /** Why {@link secretBackend} gives nothing (e.g. the aws target needs credentials). */
  secretBackendUnavailable?: string;
  /** The isolation matrix evaluator (`sovereign verify isolation`'s offline one). */
  isolationMatrix(inputs: IsolationInputs, options: { only: string }): Promise<IsolationMatrix>;
  /** The tenant's API keys (metadata only: never a key or its hash); absent: not read for this bundle. */
  apiKeys?(): Promise<ApiKeyView[]>;
}

/** Who may call the tenant's API, as the bundle's `auth.json` carries it. */
export interface AuthEvidence {
  tenant: string;
  note: string;
  /**
   * The caller rules (issuers, audiences, tenant claim, whether keys are accepted): those its last
   * successful deploy gave the tenant (null: none recorded, e.g. never deployed), and those the
   * project's config gives it now (what the next deploy would).
   */
  callers: { deployed: TenantAuth | null; configured: TenantAuth };
  /** Every route of the enabled extensions (those that load) with its requirement. */
  routes: Array<{ extension: string; method: string; path: string; auth: 'required' | 'public'; scopes: string[] }>;
  /** The active keys; null when they could not be read (`keysUnavailable` says why). */
  keys: Array<Omit<ApiKeyView, 'status'>> | null;
  expiredKeys: number | null;
  keysUnavailable?: string;
}

/** The isolation proof as a bundle carries it. */
export interface IsolationProof {
  tenant: string;
  method: string;
  evaluatedWith: { account: string; region: string; stage: string };
  /** Tenants whose extensions could not be loaded: their extension resources were not probed. */
  incomplete: string[];
  ok: boolean;
  matrix: IsolationMatrix;
}

export type SectionStatus = 'included' | 'not available';

export interface Section {
  id: string;
  title: string;
  status: SectionStatus;
  files: string[];
  reason?: string;
}

export interface SecretEvidence {
  key: string;
  extension: string;
  reference: string;
  target: string | null;
  setAt: string | null;
  setBy: string | null;
  /** `stored`: versions read from the backend; `missing`: nothing stored; `unavailable`: not readable here. */
  storage: 'stored' | 'missing' | 'unavailable';
  storageDetail?: string;
  currentVersionId: string | null;
  lastRotatedAt: string | null;
  ageDays: number | null;
  /** Older than {@link ROTATION_MAX_AGE_DAYS} days. */
  stale: boolean;
  versions: SecretVersionInfo[];
}

export interface ExtensionEvidence {
  name: string;
  status: 'ok' | 'invalid' | 'failed';
  problems: string[];
  version: string | null;
  description: string | null;
  codeSha256: string;
  files: Array<{ path: string; sha256: string; size: number }>;
  routes: Array<{ method: string; path: string; handler: string; summary?: string }>;
  secrets: Array<{ key: string; description: string; required: boolean }>;
  permissions: Array<{ actions: string[]; resources: string[] }>;
}

/** The JSON documents of a bundle (besides the audit events and the report). */
export interface Evidence {
  sections: Section[];
  /** Bundle path → JSON value. */
  documents: Map<string, unknown>;
  tenant: TenantRecord;
  extensions: ExtensionEvidence[];
  secrets: SecretEvidence[];
  policy: ReturnType<typeof renderTenantPolicy> | undefined;
  isolation: IsolationProof | undefined;
  resources: NamedResource[];
  stackName: string;
  parameters: Record<string, unknown> | undefined;
  /** Route requirements and API keys (bundles made before them have none). */
  auth?: AuthEvidence;
  /** Each enabled extension's settings for the tenant (the stack's runtime config carries them). */
  settings?: Record<string, unknown>;
}


function fileDigests(dir: string, files: string[]): ExtensionEvidence['files'] {
  return files.map((file) => {
    const data = readFileSync(file);
    return { path: relative(dir, file).split(sep).join('/'), sha256: createHash('sha256').update(data).digest('hex'), size: statSync(file).size };
  });
}

function extensionEvidence(loaded: LoadedExtension): ExtensionEvidence {
  const m = loaded.manifest;
  return {
    name: loaded.name,
    status: loaded.status,
    problems: loaded.problems,
    version: m?.version ?? null,
    description: m?.description ?? null,
    codeSha256: loaded.codeSha256,
    files: fileDigests(loaded.dir, loaded.files),
    routes: (m?.routes ?? []).map((r) => ({ method: r.method, path: r.path, handler: r.handler, ...(r.summary ? { summary: r.summary } : {}) })),
    secrets: (m?.secrets ?? []).map((s) => ({ key: s.key, description: s.description, required: s.required !== false })),
    permissions: (m?.permissions ?? []).map((p) => ({ actions: [...p.actions], resources: [...p.resources] })),
  };
}

async function secretEvidence(sources: EvidenceSources, record: TenantRecord): Promise<{ secrets: SecretEvidence[]; reason?: string }> {
  const backend = await sources.secretBackend();
  const entries: Array<{ key: string; extension: string; reference: string; setAt: string | null; setBy: string | null }> = Object.keys(record.secrets ?? {})
    .sort()
    .map((key) => ({
      key,
      extension: secretMappingExtension(key) ?? '',
      reference: record.secrets[key]!.reference,
      setAt: record.secrets[key]!.setAt ?? null,
      setBy: record.secrets[key]!.setBy ?? null,
    }));
  // Not an extension's secret (no extension is named `_sovereign`): the runtime's own.
  entries.push({ key: '_sovereign.webhook_secret', extension: '_sovereign', reference: tenantRuntimeConfig(sources.project, record).webhookSecret, setAt: null, setBy: null });
  const out: SecretEvidence[] = [];
  for (const entry of entries) {
    const parsed = parseReference(entry.reference);
    const evidence: SecretEvidence = {
      key: entry.key,
      extension: entry.extension,
      reference: entry.reference,
      target: parsed.ok ? referenceTarget(parsed.reference) : null,
      setAt: entry.setAt,
      setBy: entry.setBy,
      storage: 'unavailable',
      currentVersionId: null,
      lastRotatedAt: null,
      ageDays: null,
      stale: false,
      versions: [],
    };
    if (!parsed.ok) {
      evidence.storageDetail = `not a valid reference: ${parsed.problem.message}`;
    } else if (!backend) {
      evidence.storageDetail = sources.secretBackendUnavailable ?? 'the secret store cannot be read from here';
    } else {
      try {
        const versions = await backend.history(parsed.reference);
        evidence.versions = versions.map((v) => ({ versionId: v.versionId, createdAt: v.createdAt, createdBy: v.createdBy, labels: [...v.labels] }));
        const current = versions.find((v) => v.labels.includes('AWSCURRENT')) ?? versions[0];
        evidence.storage = versions.length > 0 ? 'stored' : 'missing';
        evidence.currentVersionId = current?.versionId ?? null;
        evidence.lastRotatedAt = current?.createdAt ?? null;
      } catch (error) {
        const reason = (error as { reason?: string }).reason;
        evidence.storage = reason === 'not-found' ? 'missing' : 'unavailable';
        evidence.storageDetail = reason === 'not-found' ? 'nothing is stored at this reference' : firstLine(error);
      }
    }
    const basis = evidence.lastRotatedAt ?? evidence.setAt;
    if (basis) {
      const age = Math.floor((sources.now.getTime() - Date.parse(basis)) / DAY_MS);
      evidence.ageDays = Number.isFinite(age) ? Math.max(0, age) : null;
      evidence.stale = evidence.ageDays !== null && evidence.ageDays > ROTATION_MAX_AGE_DAYS;
    }
    out.push(evidence);
  }
  return { secrets: out, ...(backend ? {} : { reason: sources.secretBackendUnavailable ?? 'the secret store cannot be read from here' }) };
}

/** Route requirements of the loaded extensions and the tenant's active keys, without key material. */
async function authEvidence(sources: EvidenceSources, record: TenantRecord, loaded: LoadedExtension[]): Promise<AuthEvidence> {
  const routes = loaded.flatMap((e) =>
    (e.manifest?.routes ?? []).map((r) => ({ extension: e.name, method: r.method, path: extensionRoutePath(e.name, r.path), auth: r.auth, scopes: [...(r.scopes ?? [])] })),
  );
  const evidence: AuthEvidence = {
    tenant: record.id,
    note: 'route requirements and API key metadata only; no key and no key hash is part of this bundle',
    callers: {
      deployed: [...(record.deploys ?? [])].reverse().find((d) => d.outcome === 'success')?.auth ?? null,
      configured: resolveTenantAuth(sources.project.config.auth, record.id),
    },
    routes,
    keys: null,
    expiredKeys: null,
  };
  if (!sources.apiKeys) return { ...evidence, keysUnavailable: 'the API keys were not read for this bundle' };
  try {
    const keys = await sources.apiKeys();
    const active = keys.filter((k) => k.status === 'active');
    return { ...evidence, keys: active.map(({ status: _status, ...rest }) => rest), expiredKeys: keys.length - active.length };
  } catch (error) {
    return { ...evidence, keysUnavailable: `the API keys could not be read: ${firstLine(error)}` };
  }
}

/** Collects every evidence document of the tenant. */
export async function gatherEvidence(sources: EvidenceSources): Promise<Evidence> {
  const record = sources.tenant;
  const documents = new Map<string, unknown>();
  const sections: Section[] = [];
  const stage = record.stage;

  documents.set('tenant/record.json', record);
  documents.set('tenant/deploys.json', { tenant: record.id, deploys: record.deploys ?? [], transitions: record.transitions ?? [] });
  sections.push({ id: 'tenant', title: 'Tenant record and deploy history', status: 'included', files: ['tenant/deploys.json', 'tenant/record.json'] });

  // Every tenant of the stage, for the isolation matrix: their extensions are loaded once.
  const peers = sources.tenants.filter((t) => t.id !== record.id && t.stage === stage && t.status !== 'deleted');
  let all: LoadedExtension[] | undefined;
  let extensionsProblem: string | undefined;
  try {
    all = await sources.loadExtensions([...new Set([...record.extensions, ...peers.flatMap((t) => t.extensions)])]);
  } catch (error) {
    extensionsProblem = firstLine(error);
  }
  const loaded = all?.filter((e) => record.extensions.includes(e.name));
  const extensions = (loaded ?? []).map(extensionEvidence);
  if (loaded) {
    const files: string[] = [];
    for (const e of extensions) {
      documents.set(`extensions/${e.name}.json`, e);
      files.push(`extensions/${e.name}.json`);
    }
    documents.set('extensions/index.json', { tenant: record.id, enabled: record.extensions, extensions: extensions.map((e) => ({ name: e.name, version: e.version, status: e.status, codeSha256: e.codeSha256 })) });
    files.push('extensions/index.json');
    sections.push({ id: 'extensions', title: 'Extension manifests and code hashes', status: 'included', files: files.sort() });
  } else {
    sections.push({ id: 'extensions', title: 'Extension manifests and code hashes', status: 'not available', files: [], reason: `the extensions could not be loaded: ${extensionsProblem}` });
  }
  const broken = (loaded ?? []).filter((e) => e.status !== 'ok' || !e.manifest);
  const policyExtensions: StackExtension[] | undefined = loaded && broken.length === 0 ? loaded.map((e) => ({ name: e.name, permissions: e.manifest!.permissions, routes: stackRoutesOf(e.manifest!.routes), schedules: stackSchedulesOf(e.manifest!.schedules) })) : undefined;
  const extensionsBlocker = !loaded
    ? `the extensions could not be loaded: ${extensionsProblem}`
    : broken.length > 0
      ? `extension(s) ${broken.map((e) => e.name).join(', ')} do not load or validate, so their permissions are unknown`
      : undefined;

  // Stack template and parameters.
  const deploys = record.deploys ?? [];
  const lastDeploy = [...deploys].reverse().find((d) => d.outcome === 'success');
  const artifact = lastDeploy && /^[0-9a-f]{64}$/.test(lastDeploy.artifact) ? lastDeploy.artifact : undefined;
  const runtimeConfig = tenantRuntimeConfig(sources.project, record);
  const projectName = sources.project.config.project;
  const scopeOf = (t: TenantRecord) =>
    tenantSecretScope({ stage: t.stage, tenant: t.id, extensions: t.extensions, secretsConfig: sources.project.config.secrets, references: [tenantRuntimeConfig(sources.project, t).webhookSecret] });
  const scope = scopeOf(record);
  const stackName = tenantStackName(stage, record.id);
  let resources: Evidence['resources'] = [];
  let parameters: Record<string, unknown> | undefined;
  if (policyExtensions) {
    try {
      const template = renderTenantStack({
        project: projectName,
        tenant: record.id,
        stage,
        tier: record.tier,
        artifactSha256: artifact ?? '0'.repeat(64),
        extensions: policyExtensions,
        runtimeConfig,
        scope,
      });
      parameters = {
        stackName,
        project: projectName,
        tenant: record.id,
        stage,
        tier: record.tier,
        tierLimits: TIERS[record.tier],
        target: sources.target,
        artifactSha256: artifact ?? null,
        artifactNote: artifact ? 'the artifact of the last successful deploy' : 'the tenant has no successful deploy: the template names an all-zero artifact',
        extensions: runtimeConfig.extensions,
        secretReferences: runtimeConfig.secrets,
        webhookSecret: runtimeConfig.webhookSecret,
        secretScope: scope,
        tags: tenantTags({ project: projectName, tenant: record.id, stage }),
      };
      resources = namedResources((template as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> }).Resources);
      documents.set('stack/template.json', template);
      documents.set('stack/parameters.json', parameters);
      sections.push({ id: 'stack', title: 'Rendered stack template and parameters', status: 'included', files: ['stack/parameters.json', 'stack/template.json'] });
    } catch (error) {
      sections.push({ id: 'stack', title: 'Rendered stack template and parameters', status: 'not available', files: [], reason: `the template does not render: ${firstLine(error)}` });
    }
  } else {
    sections.push({ id: 'stack', title: 'Rendered stack template and parameters', status: 'not available', files: [], reason: extensionsBlocker! });
  }

  // IAM policy and isolation proof.
  let policy: Evidence['policy'];
  let isolation: IsolationProof | undefined;
  if (policyExtensions) {
    try {
      policy = renderTenantPolicy({ tenant: record.id, stage, extensions: policyExtensions, scope });
      documents.set('iam/runtime-policy.json', { role: `${stackName}-runtime`, policyName: 'sovereign-runtime', document: policy });
      const byName = new Map((all ?? []).map((e) => [e.name, e]));
      const incomplete: string[] = [];
      const subject = (t: TenantRecord) => {
        const usable = t.extensions.filter((name) => byName.get(name)?.status === 'ok' && byName.get(name)?.manifest);
        if (usable.length !== t.extensions.length) incomplete.push(t.id);
        const config = tenantRuntimeConfig(sources.project, t);
        return {
          id: t.id,
          extensions: usable.map((name) => ({ name, permissions: byName.get(name)!.manifest!.permissions })),
          scope: scopeOf(t),
          references: [...Object.values(config.secrets), config.webhookSecret],
        };
      };
      const evaluatedWith = { account: OFFLINE_ACCOUNT, region: sources.project.config.region ?? OFFLINE_REGION, stage };
      const matrix = await sources.isolationMatrix({ ...evaluatedWith, tenants: [subject(record), ...peers.map(subject)] }, { only: record.id });
      const leaks = matrix.cells.filter((c) => c.decision === 'ALLOWED').length;
      isolation = {
        tenant: record.id,
        method: `${matrix.evaluator} evaluation of the rendered runtime policies (the evaluator of \`sovereign verify isolation\`): this tenant's policy against every other tenant's parameters, secrets, table, logs and extension resources and the stage key, and every other tenant's policy against this tenant's`,
        evaluatedWith,
        incomplete: incomplete.filter((id) => id !== record.id),
        ok: leaks === 0 && matrix.ownDenied.every((d) => d.tenant !== record.id),
        matrix,
      };
      documents.set('iam/isolation-proof.json', isolation);
      sections.push({ id: 'iam', title: 'IAM policy and isolation proof', status: 'included', files: ['iam/isolation-proof.json', 'iam/runtime-policy.json'] });
    } catch (error) {
      sections.push({ id: 'iam', title: 'IAM policy and isolation proof', status: 'not available', files: [], reason: `the policy does not render: ${firstLine(error)}` });
    }
  } else {
    sections.push({ id: 'iam', title: 'IAM policy and isolation proof', status: 'not available', files: [], reason: extensionsBlocker! });
  }

  // Secret references.
  const { secrets, reason: secretsReason } = await secretEvidence(sources, record);
  documents.set('secrets/references.json', {
    tenant: record.id,
    rotationMaxAgeDays: ROTATION_MAX_AGE_DAYS,
    note: 'references and version metadata only; no secret value is part of this bundle',
    ...(secretsReason ? { rotationMetadata: `not available: ${secretsReason}` } : {}),
    references: secrets,
  });
  sections.push({
    id: 'secrets',
    title: 'Secret references and rotation',
    status: 'included',
    files: ['secrets/references.json'],
    ...(secretsReason ? { reason: `references included; rotation metadata not available: ${secretsReason}` } : {}),
  });

  // OpenAPI.
  if (loaded && broken.length === 0) {
    try {
      const openapi = buildOpenApiDocument(loaded.map((e) => e.manifest!), { tenant: record.id, stage, version: artifact ?? sources.toolVersion, auth: runtimeConfig.auth });
      documents.set('openapi.json', openapi);
      sections.push({ id: 'openapi', title: 'OpenAPI document', status: 'included', files: ['openapi.json'] });
    } catch (error) {
      sections.push({ id: 'openapi', title: 'OpenAPI document', status: 'not available', files: [], reason: `the document does not build: ${firstLine(error)}` });
    }
  } else {
    sections.push({ id: 'openapi', title: 'OpenAPI document', status: 'not available', files: [], reason: extensionsBlocker! });
  }

  // Who may call: each route's requirement and the active API keys.
  const auth = await authEvidence(sources, record, (loaded ?? []).filter((e) => e.status === 'ok'));
  documents.set('auth.json', auth);
  sections.push({
    id: 'auth',
    title: 'Route authentication and API keys',
    status: 'included',
    files: ['auth.json'],
    ...(auth.keysUnavailable ? { reason: `routes included; keys not available: ${auth.keysUnavailable}` } : loaded ? {} : { reason: `keys included; routes not available: ${extensionsBlocker}` }),
  });

  return { sections, documents, tenant: record, extensions, secrets, policy, isolation, resources, stackName, parameters, auth, settings: runtimeConfig.config };
}
