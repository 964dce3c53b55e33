/**
 * A project for the audit bundle tests: two tenants with the repository's example extensions,
 * secrets in their vaults (canary values that must never reach a bundle), an old secret version
 * past the rotation limit, and a deploy history.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readVaultKey } from '../src/runtime/secrets/vault.js';
import { openWritableVault } from '../src/targets/local/vault-writer.js';
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

async function cli(dir: string, args: string[], input?: string): Promise<void> {
  const result = await runCli(args, { cwd: dir, ...(input === undefined ? {} : { input }) });
  if (result.exitCode !== 0) throw new Error(`sovereign ${args.join(' ')}: ${result.stderr}`);
}

/** Every value stored in a tenant's vault, all versions. */
function storedValues(dir: string, id: string): string[] {
  const vault = openWritableVault(join(dir, '.sovereign', 'vault', `${id}.vault`), readVaultKey(join(dir, '.sovereign', 'keys', `${id}.key`)), id);
  return vault.listNames().flatMap((target) => vault.history(target).map((v) => vault.getVersion(target, { versionId: v.versionId }).value));
}

export async function makeAuditProject(): Promise<AuditProject> {
  const dir = await makeProject('auditproj');
  for (const name of ['avalara', 'cetec']) cpSync(join(repoRoot, 'extensions', name), join(dir, 'extensions', name), { recursive: true });
  for (const id of ['acme', 'globex']) await cli(dir, ['tenant', 'create', id, '--no-deploy']);
  await cli(dir, ['ext', 'enable', 'avalara', '--tenant', 'acme']);
  await cli(dir, ['ext', 'enable', 'cetec', '--tenant', 'acme']);
  await cli(dir, ['ext', 'enable', 'avalara', '--tenant', 'globex']);

  // A key last rotated 120 days ago (and a version before it): written with past dates, which no command can do.
  const acme = openWritableVault(join(dir, '.sovereign', 'vault', 'acme.vault'), readVaultKey(join(dir, '.sovereign', 'keys', 'acme.key')), 'acme');
  acme.putVersion('ssm:/dev/tenants/acme/avalara/account_id', CANARIES.acmeOld, { by: 'test@host', now: new Date(Date.now() - 200 * 86_400_000) });
  acme.putVersion('ssm:/dev/tenants/acme/avalara/account_id', CANARIES.acmeAccount, { by: 'test@host', now: new Date(Date.now() - 120 * 86_400_000) });
  await cli(dir, ['secrets', 'set', 'acme', 'avalara.account_id', 'ssm:/dev/tenants/acme/avalara/account_id']);
  // The rest through the real commands: values on stdin, generated values, a rotation.
  await cli(dir, ['secrets', 'put', 'secretsmanager:dev/tenants/acme/avalara', '--tenant', 'acme', '--from-stdin'], JSON.stringify({ license_key: CANARIES.acmeLicense }));
  await cli(dir, ['secrets', 'set', 'acme', 'avalara.license_key', 'secretsmanager:dev/tenants/acme/avalara:license_key']);
  await cli(dir, ['secrets', 'put', 'ssm:/dev/tenants/globex/avalara/account_id', '--tenant', 'globex', '--from-stdin'], CANARIES.globexAccount);
  await cli(dir, ['secrets', 'set', 'globex', 'avalara.account_id', 'ssm:/dev/tenants/globex/avalara/account_id']);
  await cli(dir, ['secrets', 'rotate', 'globex', 'avalara.account_id', '--generate', '40']);

  const at = new Date(Date.now() - 30 * 86_400_000).toISOString();
  editRecord(dir, 'acme', (r) => {
    r.deploys = [
      { at, by: 'test@host', target: 'local', artifact: 'a'.repeat(64), extensions: ['avalara'], outcome: 'success' },
      { at: new Date(Date.now() - 86_400_000).toISOString(), by: 'test@host', target: 'local', artifact: 'b'.repeat(64), extensions: ['avalara', 'cetec'], outcome: 'failure', error: 'build failed <script>alert(1)</script>' },
    ];
  });
  const secretValues = [...new Set([...Object.values(CANARIES), ...storedValues(dir, 'acme'), ...storedValues(dir, 'globex')])];
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
