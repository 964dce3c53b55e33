/**
 * Everything a deploy derives from a tenant's record: its artifact (built from the current
 * extension sources) and the inputs of its stack template. Shared by `template render`, the local
 * deploy and the aws deploy.
 */
import { buildTenantBundle, type AwsSdkMode, type TenantBundle } from '../artifact/bundle.js';
import { loadExtensionSources, type ExtensionSource } from '../artifact/manifests.js';
import { packArtifact, type PackedArtifact } from '../artifact/pack.js';
import { tenantRuntimeConfig } from '../targets/local/dev/launch.js';
import type { Project } from '../project.js';
import type { TenantRecord } from '../state/registry.js';
import { tenantSecretScope } from '../templates/secret-scope.js';
import { renderTenantStack, type TenantStackInputs } from '../templates/tenant-stack.js';
import { stackRoutesOf } from '../templates/tenant-api.js';
import { stackSchedulesOf } from '../templates/schedules.js';
import type { CfnTemplate } from '../templates/cfn.js';
import { awsConfigOf } from '../config.js';
import { refusesTraffic } from '../lifecycle/apply.js';

export interface TenantBuild {
  sources: ExtensionSource[];
  bundle: TenantBundle;
  artifact: PackedArtifact;
  inputs: TenantStackInputs;
  template: CfnTemplate;
}

/** Pure: the template inputs of a tenant, given its loaded extensions and artifact hash. */
export function tenantStackInputs(project: Project, record: TenantRecord, sources: ExtensionSource[], artifactSha256: string): TenantStackInputs {
  const runtimeConfig = tenantRuntimeConfig(project, record);
  const aws = awsConfigOf(project.config);
  return {
    project: project.config.project,
    tenant: record.id,
    stage: record.stage,
    tier: record.tier,
    artifactSha256,
    extensions: sources.map((s) => ({ name: s.name, permissions: s.manifest.permissions ?? [], routes: stackRoutesOf(s.manifest.routes), schedules: stackSchedulesOf(s.manifest.schedules) })),
    runtimeConfig,
    scope: tenantSecretScope({
      stage: record.stage,
      tenant: record.id,
      extensions: record.extensions,
      secretsConfig: project.config.secrets,
      references: [runtimeConfig.webhookSecret],
    }),
    lambdaRuntime: aws.lambdaRuntime,
    tableKey: aws.tableKey,
    keyDeletionWindowDays: aws.keyDeletionWindowDays,
    suspended: refusesTraffic(record.status),
  };
}

export interface BuiltArtifact {
  sources: ExtensionSource[];
  bundle: TenantBundle;
  artifact: PackedArtifact;
}

/** Builds and stores the artifact of a set of extensions (tenants with the same set share it). */
export async function buildArtifactFor(project: Project, extensions: string[], options: { awsSdk?: AwsSdkMode } = {}): Promise<BuiltArtifact> {
  const sources = await loadExtensionSources(project.paths.extensions, extensions);
  const bundle = await buildTenantBundle({
    projectDir: project.root,
    extensionsDir: project.paths.extensions,
    extensions,
    sources,
    lambdaRuntime: awsConfigOf(project.config).lambdaRuntime,
    ...(options.awsSdk ? { awsSdk: options.awsSdk } : {}),
  });
  return { sources, bundle, artifact: packArtifact(bundle, project.paths.artifacts) };
}

/** Renders the tenant's template over a built artifact (which validates policy and environment too). */
export function withTemplate(project: Project, record: TenantRecord, built: BuiltArtifact): TenantBuild {
  const inputs = tenantStackInputs(project, record, built.sources, built.artifact.sha256);
  return { ...built, inputs, template: renderTenantStack(inputs) };
}

/** Builds and stores the tenant's artifact and renders its template. */
export async function buildTenant(project: Project, record: TenantRecord, options: { awsSdk?: AwsSdkMode } = {}): Promise<TenantBuild> {
  return withTemplate(project, record, await buildArtifactFor(project, record.extensions, options));
}
