import { resolve } from 'node:path';
import { badInput, environmentError, notFound } from '../../errors.js';
import type { TenantRecord } from '../../state/registry.js';
import type { CommandContext } from '../types.js';
import type { ValidManifest } from '../../extensions/manifest-schema.js';
import { arg, defineCommand, option, optionalText } from '../define.js';

/**
 * The tenants whose settings to check. Validating extensions needs no credentials (CI runs it
 * before anything is deployed), so a registry the environment cannot reach is said, not fatal.
 */
async function readableTenants(ctx: CommandContext): Promise<TenantRecord[]> {
  try {
    return await ctx.state().listTenants();
  } catch (error) {
    const reason = environmentError(error);
    if (!reason) throw error;
    ctx.out.warn(`each tenant's own settings were not checked, only the config file's: ${reason.message}`);
    return [];
  }
}

export default defineCommand({
  examples: ['sovereign ext validate', 'sovereign ext validate avalara', 'sovereign ext validate --json', 'sovereign ext validate --write-schema sovereign.schema.json'],
  arguments: { name: arg('[name]', 'validate only this extension (routes of all are still checked for collisions)', optionalText, 'extension') },
  options: {
    writeSchema: option('--write-schema <file>', "also write this project's config JSON Schema, with each extension's settings (point \"$schema\" at it)", optionalText),
  },
  async run(ctx, { name, writeSchema }) {
    const project = ctx.project();
    const { listExtensionFolders } = await import('../../extensions/discover.js');
    const { validateExtensions } = await import('../../extensions/validate.js');
    if (name !== undefined && !listExtensionFolders(project.paths.extensions).includes(name)) {
      throw notFound(`extension "${name}" not found in ${project.paths.extensions}`, 'see the available ones with `sovereign ext list`');
    }
    const [{ assertKnownExtensionSettings, projectSettingsProblems, tenantSettingsProblems }, tenants] = await Promise.all([import('../../extensions/tenant-config.js'), readableTenants(ctx)]);
    assertKnownExtensionSettings(project);
    // Each extension's settings: the config file's, and what each tenant that enables it runs with.
    const settings = async (manifest: ValidManifest) => [...projectSettingsProblems(project.config.tenantConfig, [manifest]), ...(await tenantSettingsProblems(project, tenants, [manifest]))];
    const report = await validateExtensions(project.paths.extensions, { settings, ...(name === undefined ? {} : { only: [name] }) });
    if (writeSchema !== undefined) {
      const [{ discoverExtensions }, { projectConfigJsonSchema }, { writeFileAtomic }] = await Promise.all([
        import('../../extensions/discover.js'),
        import('../../extensions/tenant-config.js'),
        import('../../fs/atomic.js'),
      ]);
      const manifests = (await discoverExtensions(project.paths.extensions)).flatMap((ext) => (ext.manifest ? [ext.manifest] : []));
      const file = resolve(ctx.globals.cwd, writeSchema);
      writeFileAtomic(file, `${JSON.stringify(await projectConfigJsonSchema(manifests, listExtensionFolders(project.paths.extensions)), null, 2)}\n`);
      ctx.out.info(`Wrote the config JSON Schema of this project's ${manifests.length} valid extension(s) to ${file}.`);
    }
    const failed = report.extensions.filter((e) => !e.ok);
    if (!report.ok && ctx.globals.json) {
      // One JSON document on stdout: on failure it is the error, carrying every problem.
      throw badInput(
        `${failed.length} extension${failed.length === 1 ? '' : 's'} failed validation: ${failed.map((e) => `${e.name}: ${e.problems.join('; ')}`).join(' | ')}`,
        'run `sovereign ext validate` without --json for the full report',
      );
    }
    ctx.out.result(report, () => {
      if (report.extensions.length === 0) return `No extensions in ${project.paths.extensions}.`;
      const lines: string[] = [];
      for (const ext of report.extensions) {
        lines.push(`${ext.ok ? ctx.out.paint('green', '✔') : ctx.out.paint('red', '✖')} ${ext.name}${ext.version ? ` ${ext.version}` : ''}`);
        for (const problem of ext.problems) lines.push(`    ${problem}`);
        for (const warning of ext.warnings) lines.push(`    ${ctx.out.paint('yellow', 'warning:')} ${warning}`);
        for (const route of ext.publicRoutes) lines.push(`    public: ${route} answers callers without credentials`);
        for (const schedule of ext.schedules) lines.push(`    schedule: ${ext.name}.${schedule.name} ${schedule.expression} → handlers/${schedule.handler}${schedule.enabled ? '' : ' (disabled)'}`);
      }
      return lines.join('\n');
    });
    if (!report.ok) {
      const first = failed[0]!;
      throw badInput(
        `${failed.length} extension${failed.length === 1 ? '' : 's'} failed validation: ${failed.map((e) => e.name).join(', ')}; the first problem: ${first.name}: ${first.problems[0] ?? 'unknown'}`,
        'fix the problems listed above and run `sovereign ext validate` again',
      );
    }
  },
});
