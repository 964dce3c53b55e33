import { extensionForTenant } from './for-tenant.js';

export default extensionForTenant('disable', {
  examples: ['sovereign ext disable avalara --tenant acme'],
  name: 'the extension to disable',
  tenant: 'the tenant that loses it (required)',
  async run(ctx, { name, tenant }) {
    const { disableExtension } = await import('../../extensions/enablement.js');
    const result = await disableExtension(ctx.state(), { name, tenant });
    ctx.out.result(result, () =>
      result.changed
        ? `Disabled ${name} for ${tenant}; its secret references are kept.\nDeploy to apply: sovereign tenant deploy ${tenant}`
        : `${name} was not enabled for ${tenant}; nothing changed.`,
    );
  },
});
