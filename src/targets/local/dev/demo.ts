/**
 * `sovereign dev --demo`: the repository's own first run. Tenants `acme` and `globex` are
 * created when missing, each gets its own fake AvaTax and Cetec ERP server on loopback (the fakes
 * of `test/fakes/`, bundled with esbuild), fresh credentials in its own vault, secret references
 * and settings pointing at its fakes — so the `curl` lines return real answers.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { secretMappingExtension } from '../../../contract/secret-mapping.js';
import { UserError } from '../../../errors.js';
import type { Project } from '../../../project.js';
import type { TenantRecord } from '../../../state/registry.js';
import type { StateStore } from '../../../state/store.js';
import { createTenant } from '../../../tenants/tenants.js';
import { tenantKeyPath } from '../paths.js';
import type { Tier } from '../../../config.js';

/** The demo's tenants and their tiers. */
export const DEMO_TENANTS: ReadonlyArray<{ id: string; tier: Tier }> = [
  { id: 'acme', tier: 'premium' },
  { id: 'globex', tier: 'standard' },
];

interface Closable {
  url: string;
  close(): Promise<void>;
}

interface FakesModule {
  startFakeAvalara(options: { accountId: string; licenseKey: string }): Promise<Closable>;
  startFakeCetec(options: { token: string }): Promise<Closable>;
}

export interface DemoSetup {
  tenants: string[];
  /** Stops the fake servers. */
  close(): Promise<void>;
}

/** The package's own folder (where `test/fakes/` is in a clone of the repository). */
function packageDir(): string {
  return new URL('../../../..', import.meta.url).pathname;
}

/** Bundles the fakes (TypeScript in `test/fakes/`) into `.sovereign/demo/fakes.mjs` and loads them. */
async function loadFakes(project: Project): Promise<FakesModule> {
  const candidates = [join(project.root, 'test', 'fakes'), join(packageDir(), 'test', 'fakes')];
  const dir = candidates.find((d) => existsSync(join(d, 'avalara-server.ts')) && existsSync(join(d, 'cetec-server.ts')));
  if (!dir) {
    throw new UserError('--demo needs the fake AvaTax and Cetec servers of the sovereign repository (test/fakes/)', {
      hint: 'run it from a clone of the repository, or start `sovereign dev` without --demo',
    });
  }
  const { build } = await import('esbuild');
  const outfile = join(project.paths.state, 'demo', 'fakes.mjs');
  await build({
    stdin: {
      contents: `export { startFakeAvalara } from ${JSON.stringify(join(dir, 'avalara-server.ts'))};\nexport { startFakeCetec } from ${JSON.stringify(join(dir, 'cetec-server.ts'))};\n`,
      resolveDir: dir,
      loader: 'ts',
    },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outfile,
    logLevel: 'silent',
  });
  return (await import(`${pathToFileURL(outfile).href}?t=${Date.now()}`)) as FakesModule;
}

/** References of the demo's secrets, each inside the tenant's namespace for its extension. */
export function demoReferences(stage: string, tenant: string): Record<string, string> {
  const ssm = (path: string) => `ssm:/${stage}/tenants/${tenant}/${path}`;
  return {
    'avalara.account_id': ssm('avalara/account_id'),
    'avalara.license_key': `secretsmanager:${stage}/tenants/${tenant}/avalara:license_key`,
    'cetec.api_token': ssm('cetec/api_token'),
    'avalara-cetec-sync.avalara_account_id': ssm('avalara-cetec-sync/avalara_account_id'),
    'avalara-cetec-sync.avalara_license_key': ssm('avalara-cetec-sync/avalara_license_key'),
    'avalara-cetec-sync.cetec_api_token': ssm('avalara-cetec-sync/cetec_api_token'),
  };
}

/** Creates the demo tenants if missing, starts their fakes and points their settings and secrets at them. */
export async function prepareDemo(state: StateStore, project: Project, stage: string, info: (line: string) => void): Promise<DemoSetup> {
  const available = new Set(existsSync(project.paths.extensions) ? readdirSync(project.paths.extensions) : []);
  const extensions = project.config.defaults.extensions.filter((name) => available.has(name));
  const fakes = await loadFakes(project);
  const servers: Closable[] = [];
  try {
    for (const { id, tier } of DEMO_TENANTS) {
      if (!(await state.getTenant(id))) {
        await createTenant(state, stage, { id, tier, extensions });
        info(`created tenant ${id} (tier ${tier}, extensions ${extensions.join(',') || '-'})`);
      }
      const accountId = String(randomInt(100_000_000, 999_999_999));
      const licenseKey = randomBytes(8).toString('hex').toUpperCase();
      const token = randomBytes(12).toString('hex');
      const avalara = await fakes.startFakeAvalara({ accountId, licenseKey });
      const cetec = await fakes.startFakeCetec({ token });
      servers.push(avalara, cetec);

      const references = demoReferences(stage, id);
      const values: Record<string, string> = {
        'avalara.account_id': accountId,
        'cetec.api_token': token,
        'avalara-cetec-sync.avalara_account_id': accountId,
        'avalara-cetec-sync.avalara_license_key': licenseKey,
        'avalara-cetec-sync.cetec_api_token': token,
      };
      const [{ readVaultKey }, { openWritableVault }] = await Promise.all([import('../../../runtime/secrets/vault.js'), import('../vault-writer.js')]);
      // Never written on top of an older copy of the vault than the registry recorded.
      const minGeneration = (await state.getTenant(id))?.vaultGeneration ?? 0;
      const vault = openWritableVault(join(project.paths.vault, `${id}.vault`), readVaultKey(tenantKeyPath(project, id)), id, { minGeneration });
      for (const [key, value] of Object.entries(values)) vault.putVersion(references[key]!, value, { by: 'sovereign dev --demo' });
      // A JSON secret: the reference's `:license_key` picks the key out of it.
      vault.putVersion(`secretsmanager:${stage}/tenants/${id}/avalara`, JSON.stringify({ license_key: licenseKey }), { by: 'sovereign dev --demo' });

      await state.mutate({ command: 'dev --demo', action: 'tenant.configure', tenant: id, args: { references: Object.values(references) } }, async (tx) => {
        const record = (await state.getTenant(id)) as TenantRecord;
        const now = new Date().toISOString();
        const secrets = { ...record.secrets };
        for (const [key, reference] of Object.entries(references)) {
          const extension = secretMappingExtension(key);
          if (extension !== undefined && record.extensions.includes(extension)) secrets[key] = { reference, setAt: now, setBy: state.actor };
        }
        const config = { ...record.config };
        if (record.extensions.includes('avalara')) config.avalara = { ...(config.avalara ?? {}), baseUrl: avalara.url, companyCode: 'DEFAULT' };
        if (record.extensions.includes('cetec')) config.cetec = { ...(config.cetec ?? {}), baseUrl: cetec.url };
        if (record.extensions.includes('avalara-cetec-sync')) {
          config['avalara-cetec-sync'] = { ...(config['avalara-cetec-sync'] ?? {}), cetecBaseUrl: cetec.url, avalaraBaseUrl: avalara.url, companyCode: 'DEFAULT' };
        }
        tx.putTenant({ ...record, secrets, config, updatedAt: now });
      });
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
    throw error;
  }
  return {
    tenants: DEMO_TENANTS.map((t) => t.id),
    async close() {
      await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
    },
  };
}

/** The `curl` lines printed once the demo serves. */
export function demoCurlLines(port: number): string[] {
  return [
    `curl http://acme.localhost:${port}/_sovereign/health`,
    'ACME="authorization: Bearer $(npx sovereign auth token --tenant acme)"',
    'GLOBEX="authorization: Bearer $(npx sovereign auth token --tenant globex)"',
    `curl -H "$ACME" http://acme.localhost:${port}/avalara/ping`,
    `curl -X POST http://localhost:${port}/t/acme/avalara/quotes -H "$ACME" -H 'content-type: application/json' \\\n     -d '{"customerCode":"C-1","shipTo":{"region":"CA"},"lines":[{"amount":100}]}'`,
    `curl -H "$GLOBEX" 'http://globex.localhost:${port}/cetec/invoices?limit=2'`,
    `curl -X POST http://acme.localhost:${port}/avalara-cetec-sync/sync/invoices -H "$ACME" -H 'content-type: application/json' -d '{}'`,
    `curl -H "$GLOBEX" http://localhost:${port}/t/globex/_sovereign/openapi.json`,
  ];
}
