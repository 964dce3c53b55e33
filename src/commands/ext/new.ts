import { scaffoldExtension } from '../../extensions/scaffold.js';
import { arg, defineCommand, text } from '../define.js';

export default defineCommand({
  examples: ['sovereign ext new shipping-rates', 'sovereign ext new crm-sync --json'],
  arguments: { name: arg('<name>', 'extension name: 2–40 characters of a-z, 0-9 and "-"', text) },
  async run(ctx, { name }) {
    const project = ctx.project();
    // A new extension name must not reach another tenant's secrets through the configured pattern.
    if (project.config.secrets) (await import('../../secrets/shared.js')).assertSecretsPatternUnambiguous(project);
    const result = scaffoldExtension({ extensionsDir: project.paths.extensions, name, projectDir: project.root });
    ctx.out.result({ extension: result.name, dir: result.dir, files: result.files, nextSteps: result.nextSteps }, () => result.nextSteps);
  },
});
