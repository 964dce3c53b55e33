import { exportAuditBundle } from '../../audit/export.js';
import { loadProjectExtensions, offlineIsolationMatrix } from '../../audit/sources.js';
import { secretsEnv } from '../secrets/context.js';
import { packageVersion } from '../../artifact/locate.js';
import { badInput } from '../../errors.js';
import { defineCommand, option, optionalText, parsedBy } from '../define.js';
import { tenantKeyViews } from '../../tenants/api-keys.js';

// Commander requires --tenant; an empty one is refused here, before anything is read.
const requiredTenant = parsedBy((text) => {
  if (text.length === 0) throw badInput('--tenant is required', 'e.g. sovereign audit export --tenant acme');
  return text;
});

export default defineCommand({
  examples: [
    'sovereign audit export --tenant acme',
    'sovereign audit export --tenant acme --since 2026-01-01 --out evidence/acme.tar.gz',
    'sovereign audit export --tenant acme --json',
  ],
  options: {
    tenant: option('--tenant <id>', 'the tenant the evidence is about', requiredTenant, { required: true, completes: 'tenant' }),
    out: option('--out <file>', 'where to write the bundle (default: ./<tenant>-audit-<timestamp>.tar.gz)', optionalText),
    since: option('--since <iso-date>', 'only audit events at or after this date', optionalText),
  },
  async run(ctx, { tenant, out, since }) {
    const project = ctx.project();
    // The target's secret store (the vault, or SSM and Secrets Manager): version metadata only.
    const secrets = await secretsEnv(ctx, { mutating: false });
    const keys = await ctx.target().apiKeys();
    const result = await exportAuditBundle({
      state: ctx.state(),
      project,
      tenant,
      target: ctx.target().name,
      evidence: ctx.target().auditEvidence,
      cwd: ctx.globals.cwd,
      toolVersion: packageVersion(),
      loadExtensions: (names) => loadProjectExtensions(project, names),
      secretBackend: (record) => secrets.backendFor(record),
      isolationMatrix: offlineIsolationMatrix,
      apiKeys: (record) => tenantKeyViews(keys, record, new Date()),
      ...(out === undefined ? {} : { out }),
      ...(since === undefined ? {} : { since }),
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
  },
});
