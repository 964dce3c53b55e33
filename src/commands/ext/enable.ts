import { extensionForTenant } from './for-tenant.js';

export default extensionForTenant('enable', {
  examples: ['sovereign ext enable avalara --tenant acme', 'sovereign ext enable avalara-cetec-sync --tenant acme --json'],
  name: 'the extension to enable',
  tenant: 'the tenant that gets it (required)',
  async run(ctx, { name, tenant }) {
    const project = ctx.project();
    if (project.config.secrets) (await import('../../secrets/shared.js')).assertSecretsPatternUnambiguous(project);
    const [{ enableExtension }, { assertTenantSettings }] = await Promise.all([import('../../extensions/enablement.js'), import('../../extensions/tenant-config.js')]);
    const result = await enableExtension(ctx.state(), {
      extensionsDir: project.paths.extensions,
      name,
      tenant,
      secretsConfig: project.config.secrets,
      checkSettings: (record, manifest) => assertTenantSettings(project, [record], [manifest], { enabling: name }),
    });
    ctx.out.result(result, () => {
      const lines = [result.changed ? `Enabled ${name} for ${tenant}.` : `${name} was already enabled for ${tenant}.`];
      if (result.missingSecrets.length > 0) {
        lines.push('', `It needs ${result.missingSecrets.length === 1 ? 'a secret' : 'secrets'} the tenant has not set yet:`, '');
        for (const missing of result.missingSecrets) lines.push(`  ${missing.command}`);
        lines.push('', `Then deploy: sovereign tenant deploy ${tenant}`);
      } else if (result.changed) {
        lines.push(`Deploy to apply: sovereign tenant deploy ${tenant}`);
      }
      return lines.join('\n');
    });
  },
});
