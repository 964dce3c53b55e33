import { badInput, notFound } from '../../errors.js';
import { arg, defineCommand, optionalText } from '../define.js';

export default defineCommand({
  examples: ['sovereign ext validate', 'sovereign ext validate avalara', 'sovereign ext validate --json'],
  arguments: { name: arg('[name]', 'validate only this extension (routes of all are still checked for collisions)', optionalText, 'extension') },
  async run(ctx, { name }) {
    const project = ctx.project();
    const { listExtensionFolders } = await import('../../extensions/discover.js');
    const { validateExtensions } = await import('../../extensions/validate.js');
    if (name !== undefined && !listExtensionFolders(project.paths.extensions).includes(name)) {
      throw notFound(`extension "${name}" not found in ${project.paths.extensions}`, 'see the available ones with `sovereign ext list`');
    }
    const report = await validateExtensions(project.paths.extensions, name === undefined ? {} : { only: [name] });
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
      throw badInput(
        `${failed.length} extension${failed.length === 1 ? '' : 's'} failed validation: ${failed.map((e) => e.name).join(', ')}`,
        'fix the problems listed above and run `sovereign ext validate` again',
      );
    }
  },
});
