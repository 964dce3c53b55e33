import type { CommandContext } from './types.js';
import { defineCommand } from './define.js';

export default defineCommand({
  examples: ['sovereign bootstrap --target aws', 'sovereign bootstrap --stage prod --region eu-west-1 --yes', 'sovereign bootstrap --endpoint-url http://localhost:4566'],
  description: 'Create or update the aws control plane of a stage: artifact bucket, registry and audit tables, secrets key, and the billing webhook function when the project has a `billing` section',
  async run(ctx) {
    const [{ awsSessionFor, deferredView }, { bootstrapControlPlane }] = await Promise.all([
      import('../targets/aws/command-context.js'),
      import('../targets/aws/bootstrap.js'),
    ]);
    const session = awsSessionFor(ctx);
    const billing = await billingFunction(ctx);
    const { awsConfigOf } = await import('../config.js');
    const { lambdaRuntime } = awsConfigOf(ctx.project().config);
    const view = deferredView(ctx.out, `bootstrap ${ctx.globals.stage}`, 'stack');
    let result;
    try {
      const retention = ctx.project().config.audit?.checkpointRetentionDays;
      result = await bootstrapControlPlane({ session, approve: (q) => ctx.confirm(q), view, log: (line) => view.log(line), lambdaRuntime, ...(billing ? { billing } : {}), ...(retention === undefined ? {} : { checkpointRetentionDays: retention }) });
    } finally {
      await view.stop();
    }
    const { summary, ...rest } = result;
    ctx.out.result({ ...rest, changes: summary?.changes ?? [] }, () => {
      const lines = [result.outcome === 'unchanged' ? `Control plane ${result.stackName} is up to date.` : `Control plane ${result.stackName} ${result.outcome}${result.recovered ? ' (a failed earlier create was removed first)' : ''}.`];
      for (const [key, value] of Object.entries(result.outputs)) lines.push(`  ${key}: ${value}`);
      if (billing) lines.push(`  Billing webhook signing secret: read from ${billing.webhookSecret} (a SecureString under ${billing.keyAlias}, or a Secrets Manager secret; never in the template)`);
      return lines.join('\n');
    });
  },
});

/** The billing webhook function of a project with a `billing` section (validated now: exit 2 before anything is deployed). */
async function billingFunction(ctx: CommandContext) {
  const project = ctx.project();
  if (project.config.billing === undefined) return undefined;
  const [{ parseBillingConfig }, { defaultBillingWebhookSecretReference, secretsKeyAlias }, { buildBillingWebhookArtifact }] = await Promise.all([
    import('../billing/config.js'),
    import('../templates/names.js'),
    import('../artifact/control-plane.js'),
  ]);
  const config = parseBillingConfig(project.config.billing);
  const { lambdaRuntime } = (await import('../config.js')).awsConfigOf(project.config);
  return {
    config: { suspendAfterFailures: config.suspendAfterFailures, offboardGracePeriod: config.offboardGracePeriod, plans: config.plans },
    webhookSecret: config.webhookSecret ?? defaultBillingWebhookSecretReference(ctx.globals.stage),
    artifact: () => buildBillingWebhookArtifact(project.paths.artifacts, { lambdaRuntime }),
    keyAlias: secretsKeyAlias(ctx.globals.stage),
  };
}
