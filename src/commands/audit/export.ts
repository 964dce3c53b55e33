import type { Command } from 'commander';
import { exportAuditBundle } from '../../audit/export.js';
import { loadProjectExtensions, offlineIsolationMatrix } from '../../audit/sources.js';
import { secretsEnv } from '../secrets/context.js';
import { badInput } from '../../errors.js';
import { packageVersion } from '../../artifact/locate.js';
import type { CommandModule } from '../types.js';

export const examples = [
  'sovereign audit export --tenant acme',
  'sovereign audit export --tenant acme --since 2026-01-01 --out evidence/acme.tar.gz',
  'sovereign audit export --tenant acme --json',
];

export function configure(command: Command): void {
  command
    .requiredOption('--tenant <id>', 'the tenant the evidence is about')
    .option('--out <file>', 'where to write the bundle (default: ./<tenant>-audit-<timestamp>.tar.gz)')
    .option('--since <iso-date>', 'only audit events at or after this date');
}

export async function run(ctx: Parameters<CommandModule['run']>[0], _args: string[], options: Record<string, unknown>): Promise<void> {
  const tenant = options.tenant as string;
  if (typeof tenant !== 'string' || tenant.length === 0) throw badInput('--tenant is required', 'e.g. sovereign audit export --tenant acme');
  const project = ctx.project();
  // The target's secret store (the vault, or SSM and Secrets Manager): version metadata only.
  const secrets = await secretsEnv(ctx, { mutating: false });
  const result = await exportAuditBundle({
    state: ctx.state(),
    project,
    tenant,
    target: ctx.target().name,
    cwd: ctx.globals.cwd,
    toolVersion: packageVersion(),
    loadExtensions: (names) => loadProjectExtensions(project, names),
    secretBackend: (record) => secrets.backendFor(record),
    isolationMatrix: offlineIsolationMatrix,
    ...(options.out === undefined ? {} : { out: String(options.out) }),
    ...(options.since === undefined ? {} : { since: String(options.since) }),
  });
  if (result.keyCreated) ctx.out.info(`Created the project signing key ${result.signer.publicKeyFile.replace(/\.pub$/, '.key')} (public key beside it); keep it out of version control.`);
  for (const section of result.sections) if (section.status === 'not available') ctx.out.warn(`${section.id}: not available — ${section.reason ?? ''}`);
  ctx.out.result({ bundle: result }, () =>
    [
      `Wrote ${result.path}`,
      `  tenant    ${result.tenant}`,
      `  events    ${result.events}`,
      `  files     ${result.files}`,
      `  sha256    ${result.sha256}`,
      `  signer    ${result.signer.fingerprint}`,
      `Check it with: sovereign audit verify ${result.path} --key ${result.signer.publicKeyFile}`,
    ].join('\n'),
  );
}
