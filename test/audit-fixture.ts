/**
 * A project for the audit bundle tests: two tenants with the repository's example extensions,
 * secrets in their vaults (canary values that must never reach a bundle), an old secret version
 * past the rotation limit, and a deploy history.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { openVault, readVaultKey } from '../src/runtime/secrets/vault.js';
import { makeProject, repoRoot, runCli } from './helpers/cli.js';

export const CANARIES = {
  acmeAccount: 'CANARY-acme-account-7c1f9e2d',
  acmeLicense: 'CANARY-acme-license-4b8a0f31',
  acmeOld: 'CANARY-acme-old-version-aa55',
  globexAccount: 'CANARY-globex-account-90d1c4e7',
};

export interface AuditProject {
  dir: string;
  /** Every secret value stored anywhere in the project (canaries plus the webhook secrets). */
  secretValues: string[];
}

function editRecord(dir: string, id: string, edit: (record: Record<string, any>) => void): void {
  const file = join(dir, '.sovereign', 'tenants', `${id}.json`);
  const record = JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;
  edit(record);
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
}

export async function makeAuditProject(): Promise<AuditProject> {
  const dir = await makeProject('auditproj');
  for (const name of ['avalara', 'cetec']) cpSync(join(repoRoot, 'extensions', name), join(dir, 'extensions', name), { recursive: true });
  for (const id of ['acme', 'globex']) {
    const created = await runCli(['tenant', 'create', id, '--no-deploy'], { cwd: dir });
    if (created.exitCode !== 0) throw new Error(`tenant create ${id}: ${created.stderr}`);
  }
  const secretValues = Object.values(CANARIES);
  const vaultOf = (id: string) => openVault(join(dir, '.sovereign', 'vault', `${id}.vault`), readVaultKey(join(dir, '.sovereign', 'keys', `${id}.key`)), id);

  const acme = vaultOf('acme');
  const old = new Date(Date.now() - 200 * 86_400_000);
  acme.putVersion('ssm:/dev/tenants/acme/avalara/account_id', CANARIES.acmeOld, { by: 'test@host', now: old });
  acme.putVersion('ssm:/dev/tenants/acme/avalara/account_id', CANARIES.acmeAccount, { by: 'test@host', now: new Date(Date.now() - 120 * 86_400_000) });
  acme.putVersion('secretsmanager:dev/tenants/acme/avalara', JSON.stringify({ license_key: CANARIES.acmeLicense }), { by: 'test@host' });
  secretValues.push(acme.readSecret(`ssm:/dev/tenants/acme/_sovereign/webhook_secret`));
  const globex = vaultOf('globex');
  globex.putVersion('ssm:/dev/tenants/globex/avalara/account_id', CANARIES.globexAccount, { by: 'test@host' });
  secretValues.push(globex.readSecret(`ssm:/dev/tenants/globex/_sovereign/webhook_secret`));

  const at = new Date(Date.now() - 30 * 86_400_000).toISOString();
  editRecord(dir, 'acme', (r) => {
    r.extensions = ['avalara', 'cetec'];
    r.secrets = {
      'avalara.account_id': { reference: 'ssm:/dev/tenants/acme/avalara/account_id', setAt: at, setBy: 'test@host' },
      'avalara.license_key': { reference: 'secretsmanager:dev/tenants/acme/avalara:license_key', setAt: at, setBy: 'test@host' },
    };
    r.deploys = [
      { at, by: 'test@host', target: 'local', artifact: 'a'.repeat(64), extensions: ['avalara'], outcome: 'success' },
      { at: new Date(Date.now() - 86_400_000).toISOString(), by: 'test@host', target: 'local', artifact: 'b'.repeat(64), extensions: ['avalara', 'cetec'], outcome: 'failure', error: 'build failed <script>alert(1)</script>' },
    ];
  });
  editRecord(dir, 'globex', (r) => {
    r.extensions = ['avalara'];
    r.secrets = { 'avalara.account_id': { reference: 'ssm:/dev/tenants/globex/avalara/account_id', setAt: at, setBy: 'test@host' } };
  });
  return { dir, secretValues };
}

/** Entries of a bundle (name → bytes), read with a plain gunzip and a minimal ustar walk. */
export function bundleEntries(file: string): Map<string, Buffer> {
  const tar = gunzipSync(readFileSync(file));
  const out = new Map<string, Buffer>();
  let offset = 0;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(header.subarray(124, 136).toString('ascii').replace(/\0.*$/s, ''), 8);
    out.set(name, Buffer.from(tar.subarray(offset + 512, offset + 512 + size)));
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}
