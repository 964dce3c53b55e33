/** The lifecycle environment of a command: its state, project and target, warnings to stderr. */
import type { CommandContext } from '../commands/types.js';
import type { LifecycleEnv } from './apply.js';

export function lifecycleEnv(ctx: CommandContext): LifecycleEnv {
  const env: LifecycleEnv = { state: ctx.state(), project: ctx.project(), target: ctx.globals.target, warn: (message) => ctx.out.warn(message) };
  if (ctx.globals.target === 'aws') {
    // On aws the runtime reads its suspension from the generation item of the tenant's own table.
    env.publishSuspension = async (record, suspended) => {
      const [{ awsSessionFor }, { publishGenerationItem }, { tenantTableName }] = await Promise.all([
        import('../targets/aws/command-context.js'),
        import('../targets/aws/secrets-backend.js'),
        import('../templates/names.js'),
      ]);
      await publishGenerationItem(awsSessionFor(ctx).clients.documents, tenantTableName(record.stage, record.id), [], new Date(), { suspended });
    };
  }
  return env;
}
