/**
 * An extension's settings (`tenantConfig.<extension>` in sovereign.config.json, under each
 * tenant's own) checked against the extension's config schema before anything runs with them:
 * at `ext enable`, `tenant deploy` and `ext validate`, so a tenant never reaches its cold start
 * with settings its extension refuses (there the extension would fail to load, and with it every
 * route it serves).
 *
 * Two layers, because the config file's layer may leave a setting for each tenant to add:
 * - the project's layer (what the file holds): every key of the schema optional, so it checks
 *   types, allowed values and unknown keys. The project's JSON Schema (`projectConfigJsonSchema`)
 *   describes exactly this layer, so an editor and the CLI agree on the file.
 * - the tenant's layer (the project's settings under the tenant's own, as its runtime gets them):
 *   the complete schema, so a required setting nobody set is found too.
 *
 * `_schedules` is the platform's member (src/contract/schedules.ts): taken out before the
 * extension's schema sees the settings, and its names must be schedules the extension declares.
 */
import type { z } from 'zod';
import { configJsonSchema, describeConfigIssue, problemsMessage, type ProjectConfig } from '../config.js';
import { SCHEDULE_SETTINGS_KEY, withoutScheduleSettings } from '../contract/schedules.js';
import { badInput } from '../errors.js';
import { discoverExtensions, listExtensionFolders } from './discover.js';
import type { Project } from '../project.js';
import type { TenantRecord } from '../state/registry.js';
import type { ValidManifest } from './manifest-schema.js';

/** What the settings checks need of a manifest. */
export type SettingsManifest = Pick<ValidManifest, 'name' | 'config' | 'schedules'>;

export type SettingsLayer = 'project' | 'tenant';

const UNKNOWN_HINT = 'name an extension of the extensions folder (see `sovereign ext list`), or remove the settings';
const SETTINGS_HINT = "each extension's settings are what its manifest's config schema takes (see `sovereign ext validate`); fix them in tenantConfig of sovereign.config.json";

/** The extension's schema for one layer: every top-level key optional in the project's layer. */
export function settingsSchema(config: z.ZodType, layer: SettingsLayer): z.ZodType {
  const object = config as unknown as { _zod: { def: { type: string } }; partial?: () => z.ZodType };
  return layer === 'project' && object._zod.def.type === 'object' && typeof object.partial === 'function' ? object.partial() : config;
}

/** Problems of one extension's settings in one layer, each naming its path from `prefix`. */
export function settingsProblems(manifest: SettingsManifest, settings: unknown, layer: SettingsLayer, prefix: readonly PropertyKey[]): string[] {
  const problems: string[] = [];
  const switches = typeof settings === 'object' && settings !== null ? (settings as Record<string, unknown>)[SCHEDULE_SETTINGS_KEY] : undefined;
  if (typeof switches === 'object' && switches !== null && !Array.isArray(switches)) {
    const declared = manifest.schedules.map((s) => s.name);
    for (const name of Object.keys(switches)) {
      if (!declared.includes(name)) {
        const known = declared.length === 0 ? 'it declares none' : `it declares ${declared.map((d) => `"${d}"`).join(', ')}`;
        problems.push(`${[...prefix, SCHEDULE_SETTINGS_KEY, name].map(String).join('.')}: "${name}" is not a schedule of ${manifest.name} (${known})`);
      }
    }
  }
  if (manifest.config) {
    const own = withoutScheduleSettings(settings);
    const parsed = settingsSchema(manifest.config, layer).safeParse(own, { jitless: true });
    if (!parsed.success) problems.push(...parsed.error.issues.map((issue) => describeConfigIssue(issue, own, prefix)));
  }
  return problems;
}

/** Problems of the config file's `tenantConfig` for these extensions (the project's layer). */
export function projectSettingsProblems(tenantConfig: ProjectConfig['tenantConfig'], manifests: readonly SettingsManifest[]): string[] {
  return manifests.flatMap((manifest) => {
    const settings = tenantConfig?.[manifest.name];
    return settings === undefined ? [] : settingsProblems(manifest, settings, 'project', ['tenantConfig', manifest.name]);
  });
}

/**
 * Settings for an extension the project does not have: a misspelt name would otherwise be
 * ignored without a word, and the extension run with its defaults.
 */
export function unknownExtensionSettings(tenantConfig: ProjectConfig['tenantConfig'], folders: readonly string[]): string[] {
  return Object.keys(tenantConfig ?? {})
    .filter((name) => !folders.includes(name))
    .map((name) => `tenantConfig.${name}: there is no extension "${name}" in this project, so these settings would be ignored (its extensions: ${folders.length === 0 ? 'none' : folders.join(', ')})`);
}

/** Throws one bad-input error listing the settings of extensions the project does not have. */
export function assertKnownExtensionSettings(project: Project): void {
  const unknown = unknownExtensionSettings(project.config.tenantConfig, listExtensionFolders(project.paths.extensions));
  if (unknown.length > 0) throw badInput(problemsMessage(project.paths.config, unknown), UNKNOWN_HINT);
}

/**
 * The settings `record` runs `extension` with: the project's under the tenant's own, merged by the
 * function that writes the runtime's config (so what is checked is what the runtime gets).
 */
async function runtimeSettings(project: Project, record: TenantRecord, extension: string): Promise<unknown> {
  const { tenantRuntimeConfig } = await import('../targets/local/dev/launch.js');
  const extensions = record.extensions.includes(extension) ? record.extensions : [...record.extensions, extension];
  return tenantRuntimeConfig(project, { ...record, extensions }).config[extension] ?? {};
}

/** Problems of the settings each tenant runs each of `manifests` it enables with (the tenant's layer). */
export async function tenantSettingsProblems(
  project: Project,
  records: readonly TenantRecord[],
  manifests: readonly SettingsManifest[],
  options: { enabling?: string } = {},
): Promise<string[]> {
  const problems: string[] = [];
  for (const record of records) {
    for (const manifest of manifests) {
      if (!record.extensions.includes(manifest.name) && options.enabling !== manifest.name) continue;
      const settings = await runtimeSettings(project, record, manifest.name);
      problems.push(...settingsProblems(manifest, settings, 'tenant', ['tenantConfig', manifest.name]).map((p) => `tenant "${record.id}": ${p}`));
    }
  }
  return problems;
}

/** Throws one bad-input error listing every problem of the tenants' settings; nothing when all fit. */
export async function assertTenantSettings(
  project: Project,
  records: readonly TenantRecord[],
  manifests: readonly SettingsManifest[],
  options: { enabling?: string } = {},
): Promise<void> {
  assertKnownExtensionSettings(project);
  const problems = [...projectSettingsProblems(project.config.tenantConfig, manifests), ...(await tenantSettingsProblems(project, records, manifests, options))];
  if (problems.length > 0) throw badInput(problemsMessage(project.paths.config, problems), SETTINGS_HINT);
}

/**
 * Checks the settings of every extension `records` enable, loading only those manifests. An
 * extension that does not load is left to the build, which names its problems.
 */
export async function assertEnabledSettings(project: Project, records: readonly TenantRecord[]): Promise<void> {
  const names = [...new Set(records.flatMap((record) => record.extensions))];
  const manifests = names.length === 0 ? [] : (await discoverExtensions(project.paths.extensions, { names })).flatMap((ext) => (ext.manifest ? [ext.manifest] : []));
  await assertTenantSettings(project, records, manifests);
}

/**
 * The JSON Schema of this project's config file: the package's, with each extension's settings
 * described by its config schema (the project's layer) and its schedule switches by name.
 */
export async function projectConfigJsonSchema(manifests: readonly SettingsManifest[], folders: readonly string[] = manifests.map((m) => m.name)): Promise<Record<string, unknown>> {
  const { z } = await import('zod');
  const schema = configJsonSchema() as { properties: { tenantConfig: { properties?: Record<string, unknown>; additionalProperties?: unknown } } };
  const properties: Record<string, unknown> = {};
  // An extension whose manifest does not load keeps the generic shape: its settings cannot be checked yet.
  const loose = schema.properties.tenantConfig.additionalProperties;
  for (const folder of folders) properties[folder] = loose;
  for (const manifest of [...manifests].sort((a, b) => a.name.localeCompare(b.name))) {
    const settings: Record<string, unknown> = manifest.config
      ? (z.toJSONSchema(settingsSchema(manifest.config, 'project'), { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>)
      : { type: 'object' };
    delete settings.$schema;
    if (settings.type === 'object') {
      settings.properties = {
        ...(settings.properties as Record<string, unknown> | undefined),
        [SCHEDULE_SETTINGS_KEY]: {
          description: `Turns ${manifest.name}'s schedules off (false) or on (true) for the tenant, by schedule name`,
          type: 'object',
          properties: Object.fromEntries(manifest.schedules.map((s) => [s.name, { type: 'boolean' }])),
          additionalProperties: false,
        },
      };
    }
    properties[manifest.name] = { description: `Settings of the ${manifest.name} extension`, ...settings };
  }
  schema.properties.tenantConfig.properties = Object.fromEntries(Object.entries(properties).sort(([a], [b]) => a.localeCompare(b)));
  schema.properties.tenantConfig.additionalProperties = false;
  return schema as Record<string, unknown>;
}
