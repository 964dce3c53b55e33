import type { Command } from 'commander';
import { formatTable } from '../../output/output.js';
import { secretHistory } from '../../secrets/service.js';
import type { CommandModule } from '../types.js';
import { secretsEnv } from './context.js';

export const examples = ['sovereign secrets history acme avalara.license_key', 'sovereign secrets history acme avalara.license_key --json'];

export function configure(command: Command): void {
  command.argument('<tenant>', 'tenant id').argument('<extension.key>', 'e.g. avalara.license_key');
}

export async function run(ctx: Parameters<CommandModule['run']>[0], [tenant, mapping]: string[]): Promise<void> {
  const env = await secretsEnv(ctx, { mutating: false });
  const result = await secretHistory(env, tenant!, mapping!);
  ctx.out.result(result, () => {
    const rows = result.versions.map((v) => ({ version: v.versionId, created: v.createdAt?.slice(0, 19).replace('T', ' '), by: v.createdBy, labels: v.labels }));
    return [`${result.mapping} of ${result.tenant} → ${result.reference}`, formatTable(rows, ['version', 'created', 'by', 'labels'])].join('\n');
  });
}
